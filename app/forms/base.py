"""The base form: CSRF is checked by the form itself so a refused post keeps what was typed.

Integers are read by the one parser (`app.inputs.parse_int`): `Integer` for typed numbers,
`coerce=parse_int` for selects. Characters the request-cleaning step took out of a field are
reported next to that field, so such a form never validates.
"""

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, IntegerField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from app.inputs import INT_MAX, UNREADABLE_MESSAGE, OutOfRange, parse_int, unreadable_fields

CSRF_MESSAGE = _l(
    "Formulir ini sudah kedaluwarsa atau tidak sah. Isian Anda tetap ada; periksa lalu kirim ulang."
)

INVALID_CHOICE = _l("Pilihan tidak valid; pilih salah satu dari daftar.")
NOT_AN_INTEGER = _l("Isi dengan bilangan bulat, memakai angka 0–9.")
TOO_LARGE = _l("Angka ini di luar batas yang dapat disimpan (paling besar %(max)d).")


class Form(FlaskForm):
    """A FlaskForm whose CSRF error speaks Bahasa Indonesia and that refuses cleaned input."""

    def validate(self, extra_validators=None) -> bool:
        """Validate, translating the CSRF error and marking fields the cleaning step changed."""
        valid = super().validate(extra_validators)
        token = getattr(self, "csrf_token", None)
        if token is not None and token.errors:
            token.errors = [str(CSRF_MESSAGE)]
        unreadable = unreadable_fields()
        if unreadable and self.is_submitted():
            message = str(UNREADABLE_MESSAGE)
            marked = [field for field in self if field.name in unreadable]
            for field in marked:
                field.errors = [*field.errors, message]
            if not marked or not unreadable <= {field.name for field in marked}:
                flash(message, "danger")  # a field this form does not show, or the form as a whole
            valid = False
        return valid


def strip(value):
    """Field filter: trim surrounding whitespace."""
    return value.strip() if isinstance(value, str) else value


def integer_error(exc: ValueError) -> str:
    """Why a typed integer was refused."""
    if isinstance(exc, OutOfRange):
        return str(TOO_LARGE) % {"max": INT_MAX}
    return str(NOT_AN_INTEGER)


class Integer(IntegerField):
    """An IntegerField read by the one parser: ASCII digits within the database's range."""

    def process_formdata(self, valuelist):
        """Parse, with an Indonesian message."""
        if not valuelist:
            return
        try:
            self.data = parse_int(valuelist[0])
        except ValueError as exc:
            self.data = None
            raise ValueError(integer_error(exc)) from exc

    def pre_validate(self, form):
        """Something typed that is not an integer is the only message (not also "required")."""
        if self.process_errors and self.raw_data and str(self.raw_data[0]).strip():
            raise StopValidation()


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


class SelectMany(SelectMultipleField):
    """A SelectMultipleField whose refusals speak Bahasa Indonesia."""

    def process_formdata(self, valuelist):
        """Coerce, with an Indonesian message when a value is not of the right kind."""
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(INVALID_CHOICE)) from exc

    def pre_validate(self, form):
        """Every chosen value must be one of the choices."""
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError(str(INVALID_CHOICE)) from exc


class Rows(FieldList):
    """A FieldList (one entry per posted row) whose row numbers are ASCII digits only: a field
    named "rules-²-min_pct" is no row, where WTForms would fail on it."""

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1  # "rules" + "-"
        for name in formdata:
            if name.startswith(prefix):
                index = name[offset:].split(self._field_separator, 1)[0]
                if index.isascii() and index.isdigit():
                    yield int(index)


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
