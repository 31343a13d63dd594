"""Forms for moving raters and appeal handlers (HR)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms.base import Form, Integer, Select, SelectMany, options, strip
from app.inputs import parse_int

ROLE_CHOICES = options([("rater", _l("Pejabat penilai")), ("appeal_handler", _l("Atasan pejabat penilai"))])
DATE_MESSAGE = _l("Isi tanggal yang valid.")
FIRST_YEAR, LAST_YEAR = 2000, 2100


class LocalDate(DateField):
    """A calendar day in the agency's time zone, refused in Bahasa Indonesia."""

    def process_formdata(self, valuelist):
        """Parse, with an Indonesian message."""
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(DATE_MESSAGE)) from exc
        if self.data is not None and not FIRST_YEAR <= self.data.year <= LAST_YEAR:
            self.data = None
            raise ValueError(str(DATE_MESSAGE))


def nip_field(label, description=None, required: str | None = None):
    """A NIP typed by HR (spaces allowed)."""
    validators = [Length(max=40, message=_l("Terlalu panjang."))]
    validators.insert(0, DataRequired(required) if required else Optional())
    return StringField(label, filters=[strip], validators=validators, description=description)


def reason_field():
    """Why, as the timeline and the emails will say."""
    return TextAreaField(
        _l("Alasan"),
        filters=[strip],
        validators=[Length(max=2000, message=_l("Paling banyak 2000 karakter."))],
        description=_l("Misalnya: Plh. selama Kepala Seksi cuti besar; mutasi ke unit lain."),
    )


def until_field():
    """The last day of a temporary reassignment (a Plh.)."""
    return LocalDate(
        _l("Berlaku sampai dengan tanggal (untuk Plh.)"),
        validators=[Optional()],
        description=_l(
            "Kosongkan bila pemindahan tetap. Sesudah tanggal ini pejabat semula kembali otomatis."
        ),
    )


class BulkReassignForm(Form):
    """Every in-flight evaluation one person holds as rater (or appeal handler) → another person."""

    role = Select(_l("Peran yang dipindahkan"), choices=ROLE_CHOICES, default="rater")
    from_nip = nip_field(_l("NIP pejabat sekarang"), required=_l("Isi NIP pejabat sekarang."))
    to_nip = nip_field(_l("NIP pejabat pengganti (Plt./Plh. atau pejabat baru)"))
    reason = reason_field()
    until = until_field()


class BulkConfirmForm(BulkReassignForm):
    """The previewed decision, carried in hidden fields, with the count the preview showed."""

    expected = Integer(validators=[Optional()])


class EvaluationsReassignForm(Form):
    """A new rater and/or appeal handler for chosen evaluations of one employee."""

    evaluation_ids = SelectMany(_l("Penilaian yang dipindahkan"), coerce=parse_int)
    versions = HiddenField()
    rater_nip = nip_field(
        _l("NIP pejabat penilai baru"), _l("Kosongkan bila pejabat penilai tidak berganti.")
    )
    handler_nip = nip_field(
        _l("NIP atasan pejabat penilai baru"), _l("Kosongkan bila atasan pejabat penilai tidak berganti.")
    )
    reason = reason_field()
    until = until_field()
