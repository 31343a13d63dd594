"""The SKP and the Dokumen Evaluasi Kinerja Pegawai as PDF (the annex forms of PermenPANRB 6/2022).

HTML templates in app/templates/documents/ are laid out by WeasyPrint for A4 paper. The font is
the DejaVu Sans shipped in app/static/fonts/, so every machine renders the same document; the
only URLs WeasyPrint may open are those fonts (read once, kept in memory): nothing is fetched
from the network or the disk at render time.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from app import clock
from app.domain import CoreValue
from app.extensions import db
from app.models import (
    AuditEvent,
    Cycle,
    CycleKind,
    Employee,
    Evaluation,
    EvaluationState,
    Indicator,
    Position,
    Rhk,
    RhkKind,
    UnitPredikat,
)
from app.services.credit import credit_of
from app.services.dialog import records_of

S = EvaluationState
# From targets approval on, the SKP is fixed (a periodic evaluation starts at self-assessment,
# on the annual targets).
SKP_STATES = frozenset(
    {
        S.TARGETS_APPROVED,
        S.ASSESSMENT_DRAFT,
        S.ASSESSMENT_SUBMITTED,
        S.ASSESSMENT_LOCKED,
        S.REVIEWED,
        S.APPEALED,
        S.DECIDED,
        S.FINAL,
        S.PUBLISHED,
    }
)
# Once the rater has rated; during a keberatan the document says the decision is pending.
EVALUATION_STATES = frozenset({S.REVIEWED, S.APPEALED, S.DECIDED, S.FINAL, S.PUBLISHED})

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT_FILES = ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf")
FONT_URL = "https://fonts.invalid/"  # never fetched: the fetcher answers from memory
_fonts: dict[str, bytes] = {}


class LayoutUnavailable(RuntimeError):
    """WeasyPrint cannot be loaded on this server (Debian's Pango is missing)."""


@lru_cache(maxsize=1)
def _weasyprint():
    """WeasyPrint's HTML and a fetcher class that serves the bundled fonts from memory and refuses
    every other URL. Imported when the first document is made: WeasyPrint needs Debian's Pango,
    which the rest of the service does not, so the service starts (and says why) without it."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher, URLFetcherResponse
    except OSError as exc:  # the Pango shared library is not installed
        raise LayoutUnavailable(str(exc)) from exc

    class BundledFontsOnly(URLFetcher):
        """Serves the bundled fonts from memory and refuses every other URL."""

        def fetch(self, url, headers=None):
            """The font named by `url`; ValueError for anything else (WeasyPrint skips it)."""
            name = url.removeprefix(FONT_URL) if url.startswith(FONT_URL) else None
            if name not in FONT_FILES:
                raise ValueError(f"not a bundled resource: {url[:200]}")
            if name not in _fonts:
                _fonts[name] = (FONT_DIR / name).read_bytes()
            return URLFetcherResponse(url, _fonts[name], headers={"Content-Type": "font/ttf"})

    return HTML, BundledFontsOnly


def bundled_fonts_only():
    """The fetcher WeasyPrint is given: the bundled fonts, nothing else."""
    return _weasyprint()[1]()


def skp_ready(evaluation: Evaluation) -> bool:
    """Whether the SKP is approved, so that its document can be printed."""
    return _reached(evaluation, SKP_STATES)


def evaluation_ready(evaluation: Evaluation) -> bool:
    """Whether the rater has rated, so that the evaluation document can be printed."""
    return _reached(evaluation, EVALUATION_STATES)


def _reached(evaluation: Evaluation, states: frozenset) -> bool:
    """In one of `states`, or withdrawn / not rated from one of them."""
    state = evaluation.state
    if state in (S.WITHDRAWN, S.NOT_RATED):
        state = evaluation.set_aside_from
    return state in states


def load_for_document(evaluation_id: int) -> Evaluation | None:
    """The evaluation with everything its documents print, in a fixed number of queries."""
    person = (joinedload(Employee.position).joinedload(Position.jenjang), joinedload(Employee.unit))
    return db.session.scalar(
        sa.select(Evaluation)
        .where(Evaluation.id == evaluation_id)
        .options(
            joinedload(Evaluation.cycle),
            joinedload(Evaluation.unit),
            joinedload(Evaluation.employee).options(*person),
            joinedload(Evaluation.rater).options(*person),
            joinedload(Evaluation.appeal_handler).options(*person),
            joinedload(Evaluation.appeal),
            selectinload(Evaluation.rhks).joinedload(Rhk.parent),
            selectinload(Evaluation.rhks).selectinload(Rhk.indicators).selectinload(Indicator.evidence),
            selectinload(Evaluation.behaviour),
        )
    )


@dataclass(frozen=True)
class Signatures:
    """The place and date the signature lines carry."""

    place: str
    on: str


def period_text(cycle: Cycle) -> str:
    """The period covered, e.g. "1 Januari s.d. 31 Desember 2027"."""
    first, last = 1, 12
    if cycle.kind is CycleKind.QUARTERLY and cycle.period:
        first, last = 3 * cycle.period - 2, 3 * cycle.period
    elif cycle.kind is CycleKind.MONTHLY and cycle.period:
        first = last = cycle.period
    start = date(cycle.year, first, 1)
    end = date(cycle.year, last, calendar.monthrange(cycle.year, last)[1])
    return _("%(start)s s.d. %(end)s", start=_long_date(start), end=_long_date(end))


def period_name(cycle: Cycle) -> str:
    """TAHUNAN, TRIWULAN II, BULANAN: MEI, as the evaluation document's title names the period."""
    if cycle.kind is CycleKind.QUARTERLY and cycle.period:
        return _("TRIWULAN %(n)s", n=("I", "II", "III", "IV")[cycle.period - 1])
    if cycle.kind is CycleKind.MONTHLY and cycle.period:
        month = format_date(date(cycle.year, cycle.period, 1), "MMMM", locale=str(get_locale()))
        return _("BULANAN: %(month)s", month=month.upper())
    return _("TAHUNAN")


def _long_date(day: date) -> str:
    return format_date(day, "d MMMM yyyy", locale=str(get_locale()))


def _local_date(moment: datetime | None) -> str:
    """The local date of an instant, e.g. "2 Januari 2027" (today when there is none)."""
    moment = moment or clock.utcnow()
    return _long_date(moment.astimezone(clock.tz()).date())


def _approved_at(evaluation: Evaluation) -> datetime | None:
    """When the rater approved the SKP (periodic evaluations: when they were created)."""
    approved = db.session.scalar(
        sa.select(sa.func.max(AuditEvent.occurred_at)).where(
            AuditEvent.object_type == "evaluation",
            AuditEvent.object_id == str(evaluation.id),
            AuditEvent.action == "evaluation.approve_targets",
        )
    )
    return approved or evaluation.created_at


def _org_predikat(evaluation: Evaluation):
    """The unit's predikat organisasi in the evaluation's cycle, or None when HR set none."""
    row = db.session.get(UnitPredikat, (evaluation.cycle_id, evaluation.unit_id))
    return row.org_predikat if row is not None else None


def _groups(evaluation: Evaluation) -> list[tuple[str, list[Rhk]]]:
    """RHK utama, then tambahan, each in the SKP's order."""
    return [
        (_("Utama"), [rhk for rhk in evaluation.rhks if rhk.kind is RhkKind.MAIN]),
        (_("Tambahan"), [rhk for rhk in evaluation.rhks if rhk.kind is RhkKind.ADDITIONAL]),
    ]


def _html(template: str, evaluation: Evaluation, **context) -> str:
    """One document template filled in for an evaluation."""
    return render_template(
        template,
        ev=evaluation,
        groups=_groups(evaluation),
        values=list(CoreValue),
        period=period_text(evaluation.cycle),
        agency=current_app.config["AGENCY_NAME"],
        font_url=FONT_URL,
        **context,
    )


def to_pdf(html: str) -> bytes:
    """Lay a document's HTML out as PDF bytes, with the bundled fonts and nothing else."""
    html_class, fetcher = _weasyprint()
    return html_class(string=html, url_fetcher=fetcher(), base_url=FONT_URL).write_pdf()


def skp_html(evaluation: Evaluation) -> str:
    """The SKP (Sasaran Kinerja Pegawai) of an evaluation with approved targets, as HTML."""
    signed = Signatures(current_app.config["AGENCY_PLACE"], _local_date(_approved_at(evaluation)))
    return _html("documents/skp.html", evaluation, signed=signed)


def evaluation_html(evaluation: Evaluation) -> str:
    """The Dokumen Evaluasi Kinerja Pegawai of a rated evaluation, as HTML."""
    appeal = evaluation.appeal
    decided = appeal is not None and appeal.decided_at is not None
    on = appeal.decided_at if decided else evaluation.reviewed_at
    return _html(
        "documents/evaluation.html",
        evaluation,
        signed=Signatures(current_app.config["AGENCY_PLACE"], _local_date(on)),
        period_name=period_name(evaluation.cycle),
        org_predikat=_org_predikat(evaluation),
        credit=credit_of(evaluation),
        appeal=appeal,
        appeal_pending=appeal is not None and not decided,
        dialog_records=records_of(evaluation.id),
    )


def skp_pdf(evaluation: Evaluation) -> bytes:
    """The SKP as PDF."""
    return to_pdf(skp_html(evaluation))


def evaluation_pdf(evaluation: Evaluation) -> bytes:
    """The Dokumen Evaluasi Kinerja Pegawai as PDF."""
    return to_pdf(evaluation_html(evaluation))


def filename(kind: str, evaluation: Evaluation) -> str:
    """A download name such as "SKP-199212192019032004-2027.pdf"."""
    cycle = evaluation.cycle
    period = f"{cycle.year}" + (f"-{cycle.period:02d}" if cycle.period else "")
    return f"{kind}-{evaluation.employee.nip}-{period}.pdf"
