"""The forms of the evaluation page (SKP, self-assessment, review, keberatan), one class per form.

The page holds many forms, several once per row (each RHK, each indicator). Each posts to its own
address, so its field names stay plain (`text`, `target`, `realisation`); its `key` (`rhk-12`,
`real-31`) starts the ids of its fields and names it on the page. `PageForms` gives the page
every form it shows: a refused one as it was typed, with its messages, every other one with
what is stored.

The forms check what a form can (required, length, a choice from the list); the workflow
services remain the authority and their refusals land on the same fields
(`app.views.apply_refusal`). Numbers are read by the service, which knows how Indonesians write
them ("1.350", "90,5").
"""

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.domain import ASPECT_LABELS, CORE_VALUE_LABELS, RATING_LABELS, Comparator
from app.forms.base import INVALID_CHOICE, Form, Select, options, strip
from app.inputs import parse_int
from app.models import Evaluation, Indicator, Rhk

# What the service stores (app/workflow/evaluations.py: MAX_TEXT, MAX_LONG_TEXT, a unit's 40).
TEXT, LONG_TEXT, UNIT = 2000, 5000, 40
CHOOSE_RATING = _l("Pilih salah satu rating.")


def required(label):
    """Something must be typed, as the service says it."""
    return DataRequired(_l("%(label)s wajib diisi.", label=label))


def at_most(label, limit: int):
    """No longer than the service stores, as the service says it."""
    return Length(max=limit, message=_l("%(label)s paling banyak %(n)d karakter.", label=label, n=limit))


def text_area(label, limit: int = TEXT, *, mandatory: bool = False, **kwargs):
    """A trimmed text of at most `limit` characters."""
    checks = [required(label)] if mandatory else []
    return TextAreaField(label, filters=[strip], validators=[*checks, at_most(label, limit)], **kwargs)


def decimal_text(value) -> str:
    """A stored number as the page shows it: no trailing zeros, decimal comma ("90,5")."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal | int | float):
        return format(Decimal(value).normalize(), "f").replace(".", ",")
    return str(value)


class Number(StringField):
    """A number typed as text; the service reads it. A stored Decimal shows as the page writes it."""

    def process_data(self, value):
        """Show a stored number without trailing zeros."""
        self.data = decimal_text(value)


class Radio(RadioField):
    """Radio buttons whose refusals speak Bahasa Indonesia."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", INVALID_CHOICE)
        super().__init__(*args, **kwargs)


def optional_id(value):
    """A select of ids with an empty "none" choice: None or the id."""
    return None if value in (None, "", "None") else parse_int(value)


def rating_field(label):
    """One of the three ratings, required."""
    return Radio(
        label,
        choices=options((rating.value, text) for rating, text in RATING_LABELS.items()),
        validators=[InputRequired(CHOOSE_RATING)],
    )


class PageForm(Form):
    """A form of the evaluation page: CSRF, the version it was rendered with, and its `key`."""

    version = HiddenField()

    def __init__(self, key: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key = key
        self.general_errors: list[str] = []  # refusals of the form as a whole (apply_refusal)
        for field in self:
            field.id = f"{key}-{field.short_name}"
            if field.label.field_id:  # a radio group's label names no single input
                field.label.field_id = field.id

    def messages(self) -> list[str]:
        """Every message of the refused form, once each: the form's own first, then its fields'."""
        found = list(self.general_errors)
        for field in self:
            found += [str(message) for message in field.errors]
        return list(dict.fromkeys(found))


class ActionForm(PageForm):
    """A button that changes the evaluation (submit, approve, delete): nothing typed but its version."""


class RhkForm(PageForm):
    """Add or edit an RHK; `parent_rhk_id.choices` are the rater's RHKs of the cycle."""

    kind = Select(
        _l("Jenis"), choices=options([("main", _l("Utama")), ("additional", _l("Tambahan"))]), default="main"
    )
    text = text_area(_l("Rencana hasil kerja"), mandatory=True)
    parent_rhk_id = Select(_l("RHK atasan yang diintervensi"), coerce=optional_id)


class IndicatorForm(PageForm):
    """Add or edit an indicator (IKI) of one RHK."""

    aspect = Select(_l("Aspek"), choices=options((a.value, text) for a, text in ASPECT_LABELS.items()))
    text = StringField(
        _l("Indikator"),
        filters=[strip],
        validators=[required(_l("Indikator")), at_most(_l("Indikator"), TEXT)],
    )
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
    unit = StringField(
        _l("Satuan"),
        filters=[strip],
        validators=[required(_l("Satuan target")), at_most(_l("Satuan target"), UNIT)],
    )


class AnnexForm(PageForm):
    """The lampiran of the SKP."""

    resources = text_area(_l("Dukungan sumber daya"), LONG_TEXT, render_kw={"rows": 2})
    accountability = text_area(_l("Skema pertanggungjawaban"), LONG_TEXT, render_kw={"rows": 2})
    consequences = text_area(_l("Konsekuensi"), LONG_TEXT, render_kw={"rows": 2})


class ExpectationsForm(PageForm):
    """The rater's ekspektasi khusus pimpinan, one text per BerAKHLAK value (`expectation_service`, …)."""


for _value, (_label, _indicators) in CORE_VALUE_LABELS.items():
    setattr(ExpectationsForm, f"expectation_{_value.value}", text_area(_label, render_kw={"rows": 2}))


class ReturnTargetsForm(PageForm):
    """The rater returns the SKP with a comment."""

    comment = text_area(_l("Komentar untuk pegawai"), LONG_TEXT, render_kw={"rows": 2})


class ReturnAssessmentForm(PageForm):
    """The rater returns the self-assessment with a comment."""

    comment = text_area(
        _l("Atau kembalikan untuk diperbaiki, dengan komentar"), LONG_TEXT, render_kw={"rows": 1}
    )


class RealisationForm(PageForm):
    """The realisation of one indicator, with its source."""

    realisation = Number(_l("Realisasi"), filters=[strip], validators=[required(_l("Realisasi"))])
    note = StringField(
        _l("Catatan realisasi"), filters=[strip], validators=[at_most(_l("Catatan"), LONG_TEXT)]
    )


class EvidenceForm(PageForm):
    """Evidence for one indicator: a file (PDF, JPG, PNG; the service checks its content) or a link."""

    file = FileField(_l("Berkas bukti"))
    url = URLField(_l("Tautan bukti"), filters=[strip], validators=[Optional(), at_most(_l("Tautan"), TEXT)])

    def validate(self, extra_validators=None) -> bool:
        """A file or a link, one of the two."""
        valid = super().validate(extra_validators)
        upload = self.file.data
        if valid and not (upload is not None and getattr(upload, "filename", "")) and not self.url.data:
            self.file.errors = [*self.file.errors, str(_l("Pilih berkas atau isi tautan bukti dukung."))]
            valid = False
        return valid


class ReviewForm(PageForm):
    """The rater's review: both ratings and a summary; `review_form` adds the feedback fields."""

    results_rating = rating_field(_l("Rating hasil kerja"))
    behaviour_rating = rating_field(_l("Rating perilaku kerja"))
    summary = text_area(_l("Catatan penilaian"), LONG_TEXT, render_kw={"rows": 2})


for _value, (_label, _indicators) in CORE_VALUE_LABELS.items():
    setattr(ReviewForm, f"behaviour_{_value.value}", text_area(_label, render_kw={"rows": 1}))


def review_form(indicators, key: str = "review", **kwargs) -> ReviewForm:
    """The review form of an evaluation: a feedback field per indicator (`feedback_31`, …)."""
    fields = {
        f"feedback_{indicator.id}": text_area(_l("Umpan balik"), render_kw={"rows": 1})
        for indicator in indicators
    }
    return type("EvaluationReviewForm", (ReviewForm,), fields)(key, **kwargs)


class AppealForm(PageForm):
    """The employee's keberatan."""

    reasons = text_area(_l("Alasan keberatan"), LONG_TEXT, render_kw={"rows": 3})


class AppealCommentForm(PageForm):
    """A message in the keberatan thread; the handler says whom it asks (`addressed_to.choices`)."""

    addressed_to = Select(_l("Minta penjelasan kepada"), validators=[Optional()])
    body = text_area(_l("Pesan"), LONG_TEXT, mandatory=True, render_kw={"rows": 2})


class DecisionForm(PageForm):
    """The appeal handler's final decision."""

    results_rating = rating_field(_l("Rating hasil kerja"))
    behaviour_rating = rating_field(_l("Rating perilaku kerja"))
    reasons = text_area(_l("Alasan keputusan"), LONG_TEXT, render_kw={"rows": 2})


# ---- the page: every form of one evaluation --------------------------------------------------------


class PageForms:
    """Every form of one evaluation page, built when the template asks; the posted one, when
    refused, comes back as it was typed. Each carries the evaluation's current version."""

    def __init__(self, evaluation: Evaluation, refused: PageForm | None = None, rater_rhks=()):
        self.ev, self.refused, self.rater_rhks = evaluation, refused, rater_rhks

    def is_refused(self, key: str) -> bool:
        """Whether the form of this key is the refused one (its <details> opens)."""
        return self.refused is not None and self.refused.key == key

    def _get(self, key: str, build) -> PageForm:
        form = self.refused if self.is_refused(key) else build(key, formdata=None)
        form.version.data = str(self.ev.version)
        return form

    def action(self, key: str) -> PageForm:
        """A button that changes the evaluation: submit, approve, delete."""
        return self._get(key, ActionForm)

    def rhk(self, rhk: Rhk | None = None) -> PageForm:
        """Add (`rhk-new`) or edit (`rhk-12`) an RHK."""
        data = {"kind": rhk.kind.value, "text": rhk.text, "parent_rhk_id": rhk.parent_rhk_id} if rhk else {}
        return self._get(
            rhk_key(rhk), lambda key, **kw: with_parents(RhkForm(key, data=data, **kw), self.rater_rhks)
        )

    def indicator(self, rhk: Rhk, indicator: Indicator | None = None) -> PageForm:
        """Add (`iki-new-12`) or edit (`iki-31`) an indicator."""
        data = {}
        if indicator is not None:
            data = {
                "aspect": indicator.aspect.value,
                "text": indicator.text,
                "comparator": indicator.comparator.value,
                "target": indicator.target,
                "target_max": indicator.target_max,
                "unit": indicator.unit,
            }
        return self._get(indicator_key(rhk, indicator), lambda key, **kw: IndicatorForm(key, data=data, **kw))

    def annex(self) -> PageForm:
        """The lampiran."""
        ev = self.ev
        data = {
            "resources": ev.resources,
            "accountability": ev.accountability,
            "consequences": ev.consequences,
        }
        return self._get("annex", lambda key, **kw: AnnexForm(key, data=data, **kw))

    def expectations(self) -> PageForm:
        """The rater's ekspektasi khusus pimpinan."""
        data = {f"expectation_{n.value.value}": n.expectation for n in self.ev.behaviour}
        return self._get("expectations", lambda key, **kw: ExpectationsForm(key, data=data, **kw))

    def return_targets(self) -> PageForm:
        """The rater's comment returning the SKP."""
        return self._get("rater-targets", ReturnTargetsForm)

    def realisation(self, indicator: Indicator) -> PageForm:
        """The realisation of one indicator."""
        data = {"realisation": indicator.realisation, "note": indicator.realisation_note}
        return self._get(f"real-{indicator.id}", lambda key, **kw: RealisationForm(key, data=data, **kw))

    def evidence(self, indicator: Indicator) -> PageForm:
        """New evidence for one indicator."""
        return self._get(f"evidence-{indicator.id}", EvidenceForm)

    def review(self) -> PageForm:
        """The rater's review."""
        return self._get(
            "review", lambda key, **kw: review_form(self.ev.indicators, key, data=review_data(self.ev), **kw)
        )

    def return_assessment(self) -> PageForm:
        """The rater's comment returning the self-assessment."""
        return self._get("return-assessment", ReturnAssessmentForm)

    def appeal(self) -> PageForm:
        """The employee's keberatan."""
        return self._get("appeal", AppealForm)

    def appeal_comment(self) -> PageForm:
        """A message in the keberatan thread."""
        return self._get(
            "appeal-thread", lambda key, **kw: with_addressees(AppealCommentForm(key, **kw), self.ev)
        )

    def decision(self) -> PageForm:
        """The appeal handler's decision, the current ratings chosen."""
        ev = self.ev
        data = {
            "results_rating": ev.results_rating.value if ev.results_rating else None,
            "behaviour_rating": ev.behaviour_rating.value if ev.behaviour_rating else None,
        }
        return self._get("decision", lambda key, **kw: DecisionForm(key, data=data, **kw))


def rhk_key(rhk: Rhk | None) -> str:
    """The key of the form adding (`rhk-new`) or editing (`rhk-12`) an RHK."""
    return f"rhk-{rhk.id if rhk else 'new'}"


def indicator_key(rhk: Rhk, indicator: Indicator | None) -> str:
    """The key of the form adding (`iki-new-12`) or editing (`iki-31`) an indicator."""
    return f"iki-{indicator.id}" if indicator else f"iki-new-{rhk.id}"


def with_parents(form: RhkForm, rater_rhks) -> RhkForm:
    """The rater's RHKs this one may intervene in."""
    form.parent_rhk_id.choices = options(
        [("", _("— tidak ada —"))] + [(p.id, p.text[:60]) for p in rater_rhks]
    )
    return form


def with_addressees(form: AppealCommentForm, evaluation: Evaluation) -> AppealCommentForm:
    """Whom the appeal handler may ask: the rater (first) or the employee."""
    form.addressed_to.choices = options(
        [
            ("rater", _("Pejabat penilai: %(n)s", n=evaluation.rater.name)),
            ("employee", _("Pegawai: %(n)s", n=evaluation.employee.name)),
        ]
    )
    return form


def review_data(evaluation: Evaluation) -> dict:
    """What the review form shows before the rater types: what is stored."""
    data = {f"feedback_{i.id}": i.feedback for i in evaluation.indicators}
    data.update({f"behaviour_{n.value.value}": n.feedback for n in evaluation.behaviour})
    data["summary"] = evaluation.review_summary
    data["results_rating"] = evaluation.results_rating.value if evaluation.results_rating else None
    data["behaviour_rating"] = evaluation.behaviour_rating.value if evaluation.behaviour_rating else None
    return data
