"""Org-unit and position forms."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from app.forms.base import Form, Rows, Select, options, strip
from app.inputs import parse_int
from app.models import PositionKind


class OrgUnitForm(Form):
    """Create or edit an org unit."""

    code = StringField(
        _l("Kode unit"),
        filters=[strip],
        validators=[
            DataRequired(_l("Kode unit wajib diisi.")),
            Length(max=32, message=_l("Kode unit paling banyak 32 karakter.")),
            Regexp(
                r"^[A-Za-z0-9._-]+$",
                message=_l("Kode unit hanya huruf, angka, titik, garis bawah atau tanda hubung."),
            ),
        ],
    )
    name = StringField(
        _l("Nama unit"),
        filters=[strip],
        validators=[
            DataRequired(_l("Nama unit wajib diisi.")),
            Length(max=200, message=_l("Nama unit paling banyak 200 karakter.")),
        ],
    )
    parent_id = Select(_l("Unit induk"), coerce=parse_int)


class PositionForm(Form):
    """Add a position."""

    name = StringField(
        _l("Nama jabatan"),
        filters=[strip],
        validators=[
            DataRequired(_l("Nama jabatan wajib diisi.")),
            Length(max=200, message=_l("Nama jabatan paling banyak 200 karakter.")),
        ],
    )
    kind = Select(_l("Jenis jabatan"), choices=options((k.value, k.value) for k in PositionKind))
    jenjang_code = Select(
        _l("Jenjang (jabatan fungsional)"),
        default="",
        description=_l("Menentukan koefisien angka kredit tahunan; kosongkan untuk jabatan lain."),
    )


class CreditForm(Form):
    """The annual credit-point coefficient of each jenjang, and why it changes."""

    coefficients = Rows(StringField(filters=[strip], validators=[Length(max=20)]))
    reason = TextAreaField(
        _l("Alasan perubahan"),
        filters=[strip],
        validators=[Length(max=1000, message=_l("Paling banyak 1000 karakter."))],
        description=_l("Misalnya nomor peraturan yang menetapkan koefisien baru. Dicatat di log audit."),
    )
