"""The kurva distribusi edit form: one row per rule, a reason, the version of the rules shown."""

from flask_babel import lazy_gettext as _l
from wtforms import Form as RowForm
from wtforms import FormField, HiddenField, SelectMultipleField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.domain import Predikat
from app.forms.base import INVALID_CHOICE, Form, Integer, Rows, options, strip


class Checkboxes(SelectMultipleField):
    """A choice of several values shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        """Every ticked value must be one of the choices."""
        values = {str(choice.value) for choice in self.choices}
        if any(str(value) not in values for value in self.data or []):
            raise ValidationError(str(INVALID_CHOICE))


class RuleRow(RowForm):
    """One rule: a group of employee predikat and its share bounds in percent."""

    group = Checkboxes(_l("Predikat pegawai"), choices=options((p.value, p.label) for p in Predikat))
    min_pct = Integer(_l("Paling sedikit (%)"), validators=[Optional()])
    max_pct = Integer(_l("Paling banyak (%)"), validators=[Optional()])

    def is_blank(self) -> bool:
        """Nothing ticked or typed: the row is skipped."""
        return (
            not self.group.data
            and self.min_pct.data is None
            and self.max_pct.data is None
            and not any(f.raw_data and str(f.raw_data[0]).strip() for f in (self.min_pct, self.max_pct))
        )


class CurveForm(Form):
    """The rules of one organisation predikat."""

    rules = Rows(FormField(RuleRow), max_entries=8)
    reason = TextAreaField(
        _l("Alasan perubahan"),
        filters=[strip],
        validators=[Length(max=1000, message=_l("Paling banyak 1000 karakter."))],
        description=_l("Dicatat di log audit bersama aturan lama dan baru."),
    )
    version = HiddenField()
