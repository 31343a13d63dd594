"""Forms for HR's cycle pages."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms.base import Form, Select, options, strip
from app.models import CycleKind

KIND_LABELS = {
    CycleKind.ANNUAL: _l("Tahunan"),
    CycleKind.QUARTERLY: _l("Triwulan"),
    CycleKind.MONTHLY: _l("Bulanan"),
}
DATETIME_FORMAT = ["%Y-%m-%dT%H:%M"]
DATETIME_MESSAGE = _l("Isi tanggal dan jam yang valid.")


class LocalDateTime(DateTimeLocalField):
    """A date and time typed in the agency's time zone, refused in Bahasa Indonesia."""

    def process_formdata(self, valuelist):
        """Parse, with an Indonesian message."""
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(DATETIME_MESSAGE)) from exc


def deadline_field(label):
    """A local date-time (the configured time zone)."""
    return LocalDateTime(label, format=DATETIME_FORMAT, validators=[Optional()])


class CycleForm(Form):
    """Create or edit a draft cycle."""

    name = StringField(
        _l("Nama periode"),
        filters=[strip],
        validators=[
            DataRequired(_l("Nama periode wajib diisi.")),
            Length(max=200, message=_l("Paling banyak 200 karakter.")),
        ],
    )
    kind = Select(_l("Jenis"), choices=options((k.value, label) for k, label in KIND_LABELS.items()))
    year = IntegerField(
        _l("Tahun"),
        validators=[
            DataRequired(_l("Tahun wajib diisi.")),
            NumberRange(2000, 2100, message=_l("Tahun antara 2000 dan 2100.")),
        ],
    )
    period = IntegerField(_l("Triwulan/bulan ke-"), validators=[Optional()])
    annual_cycle_id = Select(_l("SKP tahunan yang dipakai (untuk periode berkala)"), coerce=int)
    unit_ids = SelectMultipleField(_l("Unit kerja yang dinilai (beserta sub-unitnya)"), coerce=int)
    target_deadline = deadline_field(_l("Tenggat penyusunan SKP"))
    assessment_deadline = deadline_field(_l("Tenggat penilaian mandiri"))
    review_deadline = deadline_field(_l("Tenggat penilaian atasan"))
    appeal_deadline = deadline_field(_l("Tenggat masa keberatan"))
    appeal_window_days = IntegerField(
        _l("Masa pengajuan keberatan (hari)"), default=14, validators=[Optional()]
    )
    appeal_decision_days = IntegerField(
        _l("Batas waktu keputusan keberatan (hari)"), default=14, validators=[Optional()]
    )
    reminder_days = StringField(
        _l("Pengingat (hari sebelum tenggat)"),
        default="7,3,1",
        filters=[strip],
        validators=[Length(max=40, message=_l("Terlalu panjang."))],
        description=_l("Pisahkan dengan koma, misalnya 7,3,1."),
    )
    auto_advance = BooleanField(_l("Pindah tahap otomatis saat tenggat lewat"))


class ExtendForm(Form):
    """A later deadline, with the reason."""

    until = LocalDateTime(_l("Tenggat baru"), format=DATETIME_FORMAT, validators=[Optional()])
    reason = TextAreaField(
        _l("Alasan"),
        filters=[strip],
        validators=[Length(max=2000, message=_l("Paling banyak 2000 karakter."))],
    )
