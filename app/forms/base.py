"""The base form: CSRF is checked by the form itself so a refused post keeps what was typed."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

CSRF_MESSAGE = _l(
    "Formulir ini sudah kedaluwarsa atau tidak sah. Isian Anda tetap ada; periksa lalu kirim ulang."
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

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", INVALID_CHOICE)
        super().__init__(*args, **kwargs)


def options(pairs) -> list[SelectChoice]:
    """Select choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class Chosen:
    """A select must have a real choice (not the "— pilih —" placeholder, value 0 or empty).

    Unlike DataRequired, it keeps an earlier error such as "Pilihan tidak valid".
    """

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        """Stop with the message when nothing was chosen."""
        if field.errors:
            raise StopValidation()
        if not field.data:
            raise StopValidation(str(self.message))
