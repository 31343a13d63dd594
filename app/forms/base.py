"""The base form: CSRF is checked by the form itself so a refused post keeps what was typed."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import ValidationError

CSRF_MESSAGE = _l(
    "Formulir ini sudah kedaluwarsa atau tidak sah. Isian Anda tetap ada; "
    "periksa lalu kirim ulang."
)

INVALID_CHOICE = _l("Pilihan tidak valid; pilih salah satu dari daftar.")


class Form(FlaskForm):
    """A FlaskForm whose CSRF error speaks Bahasa Indonesia."""

    def validate(self, extra_validators=None) -> bool:
        """Validate, translating the CSRF error."""
        valid = super().validate(extra_validators)
        token = getattr(self, "csrf_token", None)
        if token is not None and token.errors:
            token.errors = [str(CSRF_MESSAGE)]
        return valid


def strip(value):
    """Field filter: trim surrounding whitespace."""
    return value.strip() if isinstance(value, str) else value


class Select(SelectField):
    """A SelectField whose refusals speak Bahasa Indonesia."""

    def process_formdata(self, valuelist):
        """Coerce, with an Indonesian message when the value is not of the right kind."""
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(INVALID_CHOICE)) from exc

    def pre_validate(self, form):
        """Refuse a value that is not among the choices."""
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError(str(INVALID_CHOICE)) from exc
