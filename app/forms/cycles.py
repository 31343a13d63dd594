"""Forms for HR's cycle pages."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms.base import Form, Integer, Select, SelectMany, options, strip
from app.inputs import parse_int
from app.models import CycleKind

KIND_LABELS = {
    CycleKind.ANNUAL: _l("Tahunan"),
    CycleKind.QUARTERLY: _l("Triwulan"),
    CycleKind.MONTHLY: _l("Bulanan"),
}
DATETIME_FORMAT = ["%Y-%m-%dT%H:%M"]
DATETIME_MESSAGE = _l("Isi tanggal dan jam yang valid.")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # as the cycle's year; beyond, time-zone arithmetic overflows
DATETIME_RANGE_MESSAGE = _l("Isi tanggal antara tahun %(first)d dan %(last)d.")


class LocalDateTime(DateTimeLocalField):
    """A date and time typed in the agency's time zone, refused in Bahasa Indonesia."""

    def process_formdata(self, valuelist):
        """Parse, with an Indonesian message."""
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(DATETIME_MESSAGE)) from exc
        if self.data is not None and not FIRST_YEAR <= self.data.year <= LAST_YEAR:
            self.data = None
            raise ValueError(str(DATETIME_RANGE_MESSAGE) % {"first": FIRST_YEAR, "last": LAST_YEAR})


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
    year = Integer(
        _l("Tahun"),
        validators=[
            DataRequired(_l("Tahun wajib diisi.")),
            NumberRange(2000, 2100, message=_l("Tahun antara 2000 dan 2100.")),
        ],
    )
    period = Integer(_l("Triwulan/bulan ke-"), validators=[Optional()])
    annual_cycle_id = Select(_l("SKP tahunan yang dipakai (untuk periode berkala)"), coerce=parse_int)
    unit_ids = SelectMany(_l("Unit kerja yang dinilai (beserta sub-unitnya)"), coerce=parse_int)
    target_deadline = deadline_field(_l("Tenggat penyusunan SKP"))
    assessment_deadline = deadline_field(_l("Tenggat penilaian mandiri"))
    review_deadline = deadline_field(_l("Tenggat penilaian atasan"))
    appeal_deadline = deadline_field(_l("Tenggat masa keberatan"))
    appeal_window_days = Integer(
        _l("Masa pengajuan keberatan (hari kalender)"), default=14, validators=[Optional()]
    )
    appeal_decision_days = Integer(
        _l("Batas waktu keputusan keberatan (hari kalender)"), default=14, validators=[Optional()]
    )
    reminder_days = StringField(
        _l("Pengingat (hari sebelum tenggat)"),
        default="7,3,1",
        filters=[strip],
        validators=[Length(max=40, message=_l("Terlalu panjang."))],
        description=_l("Pisahkan dengan koma, misalnya 7,3,1."),
    )
    coaching_behind_pct = Integer(
        _l("Ambang bimbingan: progres tertinggal (%)"),
        default=30,
        validators=[Optional()],
        description=_l(
            "Periode tahunan: mulai pertengahan tahun, indikator yang progresnya tertinggal sebesar "
            "persentase ini atau lebih dari yang diharapkan meminta atasan mencatat bimbingan atau konseling."
        ),
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
