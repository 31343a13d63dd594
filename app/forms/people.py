"""Employee, account and import forms for HR."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.forms.base import Chosen, Form, Select, options, strip
from app.inputs import parse_int
from app.models import EmploymentType, Role
from app.models.people import PNS_RANKS, PPPK_RANKS, rank_of

# What each granted role is called, wherever roles are shown or granted.
ROLE_LABELS = {
    Role.EMPLOYEE: _l("Pegawai"),
    Role.HR: _l("Admin kepegawaian (HR)"),
    Role.ADMIN: _l("Administrator sistem"),
}


class EmployeeForm(Form):
    """Create or edit an employee; the supervisor is given by NIP."""

    nip = StringField(
        _l("NIP"),
        filters=[strip],
        validators=[DataRequired(_l("NIP wajib diisi.")), Length(max=40, message=_l("Terlalu panjang."))],
    )
    name = StringField(
        _l("Nama lengkap"),
        filters=[strip],
        validators=[
            DataRequired(_l("Nama wajib diisi.")),
            Length(max=200, message=_l("Nama paling banyak 200 karakter.")),
        ],
    )
    email = StringField(
        _l("Email"),
        filters=[strip, lambda v: v.lower() if isinstance(v, str) else v],
        validators=[
            DataRequired(_l("Email wajib diisi.")),
            Length(max=254, message=_l("Email terlalu panjang.")),
            Email(_l("Alamat email tidak valid."), check_deliverability=False),
        ],
    )
    employment_type = Select(
        _l("Jenis pegawai"),
        choices=options((t.value, t.value) for t in EmploymentType),
        validators=[Chosen(_l("Pilih jenis pegawai."))],
    )
    rank = Select(
        _l("Pangkat/golongan ruang"),
        choices=options(
            [("", _l("— belum diisi —"))]
            + [(rank, f"{rank} (PNS)") for rank in PNS_RANKS]
            + [(rank, _l("Golongan %(rank)s (PPPK)", rank=rank)) for rank in PPPK_RANKS]
        ),
        description=_l("Dicetak pada dokumen SKP dan evaluasi kinerja."),
        validate_choice=False,  # validate_rank checks it against the employment type
    )
    unit_id = Select(_l("Unit kerja"), coerce=parse_int, validators=[Chosen(_l("Pilih unit kerja."))])
    position_id = Select(_l("Jabatan"), coerce=parse_int, validators=[Chosen(_l("Pilih jabatan."))])
    supervisor_nip = StringField(
        _l("NIP atasan langsung"),
        filters=[strip],
        validators=[Optional(), Length(max=40, message=_l("Terlalu panjang."))],
        description=_l("Kosongkan bila pegawai tidak memiliki atasan di instansi ini."),
    )
    version = HiddenField()

    def validate_rank(self, field) -> None:
        """PNS have a pangkat with golongan ruang, PPPK a golongan only."""
        if not field.data or self.employment_type.data not in EmploymentType.__members__:
            return
        employment_type = EmploymentType(self.employment_type.data)
        rank = rank_of(field.data, employment_type)
        if rank is None and employment_type is EmploymentType.PPPK:
            raise ValidationError(_l("Pegawai PPPK memiliki golongan (I–XVII), bukan pangkat PNS."))
        if rank is None:
            raise ValidationError(
                _l("Pegawai PNS memiliki pangkat/golongan ruang (I/a–IV/e), bukan golongan PPPK.")
            )
        field.data = rank


class InitialPasswordForm(Form):
    """HR sets a password that must be changed at first sign-in."""

    password = PasswordField(_l("Kata sandi awal"), validators=[DataRequired(_l("Isi kata sandi awal."))])


class RolesForm(Form):
    """Administrator grants HR or admin roles."""

    hr = BooleanField(ROLE_LABELS[Role.HR])
    admin = BooleanField(ROLE_LABELS[Role.ADMIN])


class ImportForm(Form):
    """Upload a CSV of units or employees."""

    kind = Select(
        _l("Isi berkas"),
        choices=options([("employees", _l("Pegawai")), ("units", _l("Unit kerja"))]),
        validators=[DataRequired()],
    )
    file = FileField(_l("Berkas CSV"), validators=[FileRequired(_l("Pilih berkas CSV."))])


class ImportConfirmForm(Form):
    """Apply a previewed import."""

    token = HiddenField(validators=[DataRequired()])
