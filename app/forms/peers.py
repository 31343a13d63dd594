"""Forms of peer input on behaviour: the rater's request, and the colleague's answer."""

from flask_babel import lazy_gettext as _l
from wtforms import widgets

from app.domain import CORE_VALUE_LABELS
from app.forms.base import Form, SelectMany, options
from app.forms.cycles import deadline_field
from app.forms.evaluations import TEXT, Radio, text_area
from app.inputs import parse_int

HINT_LABELS = {
    "above": _l("Di atas ekspektasi"),
    "meets": _l("Sesuai ekspektasi"),
    "below": _l("Di bawah ekspektasi"),
    "unknown": _l("Tidak tahu"),
}


class CheckList(SelectMany):
    """Several choices as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PeerRequestForm(Form):
    """Whom the rater asks (checkboxes of the colleagues offered) and by when."""

    peer_ids = CheckList(_l("Rekan kerja"), coerce=parse_int, validate_choice=False)
    due_at = deadline_field(_l("Tenggat masukan"))

    def offer(self, colleagues) -> None:
        """The colleagues offered, as the choices."""
        self.peer_ids.choices = options((person.id, person.name) for person in colleagues)


class CancelForm(Form):
    """A button that withdraws one request (its CSRF token is all it carries)."""


class PeerAnswerBase(Form):
    """The colleague's answer; `answer_form` adds a hint and a comment per BerAKHLAK value."""


HINT_CHOICES = options(HINT_LABELS.items())


def answer_form(**kwargs) -> PeerAnswerBase:
    """The answer form: `hint_service`, `comment_service`, … for the seven values."""
    fields = {}
    for value, (label, _indicators) in CORE_VALUE_LABELS.items():
        fields[f"hint_{value.value}"] = Radio(
            label, choices=HINT_CHOICES, validate_choice=False, validators=[]
        )
        fields[f"comment_{value.value}"] = text_area(_l("Komentar (opsional)"), TEXT, render_kw={"rows": 2})
    return type("PeerAnswerForm", (PeerAnswerBase,), fields)(**kwargs)
