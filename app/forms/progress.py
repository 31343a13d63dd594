"""The forms of the progress log page (app/views/progress.py), one class per form.

Like the evaluation page, the log page holds many forms, several once per entry; each is a
`PageForm` with a key (`entry-new`, `entry-31`, `entry-31-review`) naming it on the page, and a
refused one comes back as it was typed (`LogForms`). The version a per-entry form carries is the
entry's own, so two people acting on one entry end with one winner. Dates, values and notes are
checked again by the service (app/workflow/monitoring/progress.py), whose messages land on the
same fields.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, URLField
from wtforms.validators import Optional

from app.forms.base import Select, options
from app.forms.evaluations import Number, PageForm, at_most, decimal_text, optional_id, text_area
from app.forms.reassign import LocalDate
from app.models import Evaluation, Indicator, ProgressEntry
from app.workflow.monitoring.progress import MAX_COMMENT, MAX_NOTE

URL = 2000


class EntryForm(PageForm):
    """A dated value, a short text, or both; editing an entry shows what it holds."""

    entry_date = LocalDate(_l("Tanggal"), validators=[Optional()])
    value = Number(_l("Nilai"))
    note = text_area(_l("Catatan"), MAX_NOTE, render_kw={"rows": 2, "maxlength": MAX_NOTE})


class NewEntryForm(EntryForm):
    """A new entry on one indicator (`indicator.choices`), with an optional file or link."""

    indicator = Select(_l("Indikator"), coerce=optional_id)
    file = FileField(_l("Berkas bukti (PDF, JPG, PNG)"))
    url = URLField(_l("atau tautan bukti"), validators=[Optional(), at_most(_l("Tautan"), URL)])

    def validate(self, extra_validators=None) -> bool:
        """An indicator of the list must be chosen."""
        valid = super().validate(extra_validators)
        if self.indicator.data is None and not self.indicator.errors:
            self.indicator.errors = [*self.indicator.errors, _("Pilih indikator.")]
            valid = False
        return valid


class EvidenceForm(PageForm):
    """A file or a link for one entry (the service says when neither is given)."""

    file = FileField(_l("Berkas bukti (PDF, JPG, PNG)"))
    url = URLField(_l("atau tautan bukti"), validators=[Optional(), at_most(_l("Tautan"), URL)])


class ReviewForm(PageForm):
    """The rater verifies an entry (the comment optional) or only comments (`step`)."""

    step = HiddenField()
    comment = text_area(_l("Komentar pejabat penilai"), MAX_COMMENT, render_kw={"rows": 1})


class ActionForm(PageForm):
    """A button: delete an entry or a file, take a verification back."""


def with_indicators(form: NewEntryForm, evaluation: Evaluation) -> NewEntryForm:
    """The evaluation's indicators, by RHK, as the choices of a new entry."""
    form.indicator.choices = options(
        [("", _("— pilih indikator —"))] + [(i.id, i.text[:80]) for i in evaluation.indicators]
    )
    return form


class LogForms:
    """Every form of one log page, built when the template asks; the refused one as typed."""

    def __init__(
        self, evaluation: Evaluation, refused: PageForm | None = None, indicator: Indicator | None = None
    ):
        self.ev, self.refused, self.indicator = evaluation, refused, indicator

    def is_refused(self, key: str) -> bool:
        """Whether the form of this key is the refused one (its <details> opens)."""
        return self.refused is not None and self.refused.key == key

    def _get(self, key: str, build, version: int) -> PageForm:
        form = self.refused if self.is_refused(key) else build(key, formdata=None)
        form.version.data = str(version)
        return form

    def new_entry(self) -> NewEntryForm:
        """A new entry, today's date and the chosen indicator filled in."""
        from app import clock

        data = {"entry_date": clock.now().date(), "indicator": self.indicator.id if self.indicator else None}
        return self._get(
            "entry-new",
            lambda key, **kw: with_indicators(NewEntryForm(key, data=data, **kw), self.ev),
            self.ev.version,
        )

    def edit(self, entry: ProgressEntry) -> EntryForm:
        """Edit an entry (its values as stored)."""
        data = {"entry_date": entry.entry_date, "value": decimal_text(entry.value), "note": entry.note}
        return self._get(
            f"entry-{entry.id}", lambda key, **kw: EntryForm(key, data=data, **kw), entry.version
        )

    def evidence(self, entry: ProgressEntry) -> EvidenceForm:
        """Another file or link for an entry."""
        return self._get(f"entry-{entry.id}-evidence", EvidenceForm, entry.version)

    def review(self, entry: ProgressEntry) -> ReviewForm:
        """The rater's verification or comment."""
        return self._get(f"entry-{entry.id}-review", ReviewForm, entry.version)

    def action(self, key: str, entry: ProgressEntry) -> ActionForm:
        """A button acting on an entry."""
        return self._get(key, ActionForm, entry.version)
