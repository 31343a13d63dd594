"""Forms of the planning helpers: an RHK template with its indicator rows, and the SKP draft's
buttons that copy last period's SKP or add templates.

The forms check what a form can (required, length, a choice from the list); the service
(app/workflow/planning.py) reads the numbers and remains the authority, and its refusals land on
the same fields, an indicator row's as `indicators-<n>-<field>`.
"""

from flask_babel import lazy_gettext as _l
from wtforms import Form as RowForm
from wtforms import FormField, StringField, SubmitField

from app.domain import ASPECT_LABELS, Comparator
from app.forms.base import Chosen, Form, Rows, Select, SelectMany, options, strip
from app.forms.evaluations import UNIT, Number, PageForm, at_most, optional_id, text_area
from app.inputs import parse_int

ROWS = 3  # empty indicator rows a new template offers; "Tambah baris indikator" adds one


class IndicatorRow(RowForm):
    """One indicator of a template; a row left empty is skipped."""

    aspect = Select(_l("Aspek"), choices=options((a.value, text) for a, text in ASPECT_LABELS.items()))
    text = StringField(_l("Indikator"), filters=[strip], validators=[at_most(_l("Indikator"), 2000)])
    comparator = Select(
        _l("Pembanding"),
        choices=options(
            [
                (Comparator.AT_LEAST.value, _l("≥ paling sedikit")),
                (Comparator.AT_MOST.value, _l("≤ paling banyak")),
                (Comparator.RANGE.value, _l("rentang")),
            ]
        ),
    )
    target = Number(_l("Target"), filters=[strip])
    target_max = Number(_l("s.d."), filters=[strip])
    unit = StringField(_l("Satuan"), filters=[strip], validators=[at_most(_l("Satuan target"), UNIT)])
    progress_rule = Select(
        _l("Progres"),
        choices=options(
            [
                ("", _l("menurut aspek")),
                ("sum", _l("dijumlahkan")),
                ("latest", _l("nilai terakhir")),
            ]
        ),
        default="",
    )

    def is_blank(self) -> bool:
        """Nothing typed in the row (its selects keep their defaults): the service skips it."""
        return not any(
            (field.data or "").strip() for field in (self.text, self.target, self.target_max, self.unit)
        )

    def validate(self, extra_validators=None) -> bool:
        """A blank row is skipped, so nothing in it can be wrong."""
        return True if self.is_blank() else super().validate(extra_validators)


class TemplateForm(Form):
    """Publish an RHK template (or its replacement); the view sets the choices of position and parent."""

    position_id = Select(_l("Jabatan"), coerce=optional_id, validators=[Chosen(_l("Pilih jabatan."))])
    kind = Select(
        _l("Jenis RHK"),
        choices=options([("main", _l("Utama")), ("additional", _l("Tambahan"))]),
        default="main",
    )
    text = text_area(_l("Rencana hasil kerja"), mandatory=True, render_kw={"rows": 2})
    parent_rhk_id = Select(_l("RHK Anda yang diintervensi (opsional)"), coerce=optional_id)
    indicators = Rows(FormField(IndicatorRow), max_entries=10)  # the view adds the empty rows
    more = SubmitField(_l("Tambah baris indikator"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []

    def values(self) -> dict:
        """What the service reads."""
        return {
            "position_id": self.position_id.data,
            "kind": self.kind.data,
            "text": self.text.data,
            "parent_rhk_id": self.parent_rhk_id.data,
            "indicators": [row.data for row in self.indicators],
        }


def template_ids(value):
    """A posted template id (ASCII digits)."""
    return parse_int(value, minimum=1)


class ApplyTemplatesForm(PageForm):
    """Add one template, or all offered, to the SKP draft (hidden ids, the version)."""

    template_ids = SelectMany(coerce=template_ids, validate_choice=False)
