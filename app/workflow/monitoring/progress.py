"""Monitoring stage: the progress log (rencana aksi / progres) against each indicator.

The log belongs to the indicator of the ANNUAL SKP and runs through the year; a periodic
(monthly, quarterly) evaluation's indicator points at it (`Indicator.source_indicator_id`) and
reads the entries of its own months. The employee writes dated entries (a value, a short text,
or both, with evidence files or links) any time after the SKP is approved and until the annual
cycle is published; only the author edits or deletes an entry, and only until the rater verified
it (each edit keeps the old values as a ProgressRevision). The rater verifies, takes a
verification back, or comments.

Every service validates all input first and raises `Refused` before writing; the change and its
audit event (object: the entry) are committed together. `figures` gives, for many indicators at
once, what the pages show and the realisation the log suggests, in two statements.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app import audit, clock, storage
from app.extensions import db
from app.models import (
    Account,
    Cycle,
    CycleKind,
    Evaluation,
    EvaluationState,
    Indicator,
    ProgressEntry,
    ProgressEvidence,
    ProgressRevision,
    ProgressRule,
)
from app.policy import acts_as
from app.services import Conflict, Refused
from app.services.progress import LOG_OPEN_STATES
from app.workflow.attachments import checked_file, checked_link, stage_file, stored_path
from app.workflow.engine import atomic, changed_message, frozen_message
from app.workflow.evaluations import _commit_with_files, _number, _text, commit

MAX_NOTE = 500
MAX_COMMENT = 2000
MAX_EVIDENCE = 10  # files and links per entry

S = EvaluationState


# ---- periods and the suggested realisation ------------------------------------------------------


def period_bounds(cycle: Cycle) -> tuple[date, date]:
    """First and last day an evaluation of this cycle reads from the log: the year, the month
    (monthly, period p), or the quarter's three months (quarterly, months 3p-2..3p)."""
    year = cycle.year
    if cycle.kind == CycleKind.MONTHLY and cycle.period:
        first_month = last_month = cycle.period
    elif cycle.kind == CycleKind.QUARTERLY and cycle.period:
        first_month, last_month = 3 * cycle.period - 2, 3 * cycle.period
    else:
        first_month, last_month = 1, 12
    return date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])


def period_bounds_of_month(year: int, month: int) -> tuple[date, date]:
    """First and last day of one month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@dataclass
class Figures:
    """One indicator's log over a period: entries, not yet verified, the sum and the latest value."""

    entries: int = 0
    unverified: int = 0
    with_value: int = 0
    total: Decimal | None = None
    latest: Decimal | None = None
    rule: ProgressRule = ProgressRule.SUM

    @property
    def suggestion(self) -> Decimal | None:
        """The realisation the log suggests: the sum or the latest value; None without values."""
        if not self.with_value:
            return None
        return self.total if self.rule is ProgressRule.SUM else self.latest


def log_indicator_id(indicator: Indicator) -> int:
    """The id of the indicator holding this indicator's log (the annual one)."""
    return indicator.source_indicator_id or indicator.id


def figures(indicators: list[Indicator], cycle: Cycle) -> dict[int, Figures]:
    """Per indicator id (as given, periodic or annual): its log's figures over the cycle's period.

    Two statements whatever the number of indicators and entries: the counts and sums grouped by
    indicator, and the latest value of each through a window function.
    """
    if not indicators:
        return {}
    first, last = period_bounds(cycle)
    log_ids = {log_indicator_id(i) for i in indicators}
    in_period = sa.and_(
        ProgressEntry.indicator_id.in_(log_ids),
        ProgressEntry.entry_date >= first,
        ProgressEntry.entry_date <= last,
    )
    counts = {
        row.indicator_id: row
        for row in db.session.execute(
            sa.select(
                ProgressEntry.indicator_id,
                sa.func.count().label("entries"),
                sa.func.count(ProgressEntry.id)
                .filter(ProgressEntry.verified_at.is_(None))
                .label("unverified"),
                sa.func.count(ProgressEntry.value).label("with_value"),
                sa.func.sum(ProgressEntry.value).label("total"),
            )
            .where(in_period)
            .group_by(ProgressEntry.indicator_id)
        )
    }
    ranked = (
        sa.select(
            ProgressEntry.indicator_id,
            ProgressEntry.value,
            sa.func.row_number()
            .over(
                partition_by=ProgressEntry.indicator_id,
                order_by=(ProgressEntry.entry_date.desc(), ProgressEntry.id.desc()),
            )
            .label("rank"),
        )
        .where(in_period, ProgressEntry.value.is_not(None))
        .subquery()
    )
    latest = dict(
        db.session.execute(sa.select(ranked.c.indicator_id, ranked.c.value).where(ranked.c.rank == 1)).all()
    )
    found = {}
    for indicator in indicators:
        log_id = log_indicator_id(indicator)
        row = counts.get(log_id)
        found[indicator.id] = Figures(
            entries=row.entries if row else 0,
            unverified=row.unverified if row else 0,
            with_value=row.with_value if row else 0,
            total=Decimal(row.total).quantize(Decimal("0.01")) if row and row.total is not None else None,
            latest=Decimal(latest[log_id]).quantize(Decimal("0.01")) if log_id in latest else None,
            rule=indicator.rule,
        )
    return found


def suggested_realisation(indicator: Indicator, cycle: Cycle) -> Decimal | None:
    """The realisation the log suggests for this indicator over the cycle's period (a suggestion:
    the employee still types or confirms it), or None when the period has no values."""
    return figures([indicator], cycle)[indicator.id].suggestion


# ---- where the log lives, and when it is open -----------------------------------------------------


def log_of(evaluation: Evaluation, indicator: Indicator) -> Indicator:
    """The indicator holding the log of one of this evaluation's indicators (annual), or a refusal."""
    if indicator.rhk.evaluation_id != evaluation.id:
        raise Refused(_("Indikator ini bukan bagian dari SKP ini."))
    if indicator.source_indicator_id is None:
        if evaluation.cycle.is_periodic:
            raise Refused(
                _("Indikator ini tidak terhubung ke SKP tahunan, sehingga tidak memiliki log progres.")
            )
        return indicator
    annual = db.session.get(Indicator, indicator.source_indicator_id)
    if annual is None:
        raise Refused(_("Indikator SKP tahunan untuk indikator ini sudah tidak ada."))
    return annual


def log_indicators(evaluation: Evaluation) -> dict[int, int]:
    """Per indicator id of this evaluation: the id of the indicator holding its log."""
    return {i.id: log_indicator_id(i) for i in evaluation.indicators}


def entry_of(evaluation: Evaluation, entry: ProgressEntry) -> Indicator:
    """The evaluation's indicator whose log holds the entry, or a refusal (another SKP's entry)."""
    for indicator in evaluation.indicators:
        if log_indicator_id(indicator) == entry.indicator_id:
            return indicator
    raise Refused(_("Entri progres ini bukan bagian dari SKP ini."))


def _annual_evaluation(log_indicator: Indicator) -> Evaluation:
    return log_indicator.rhk.evaluation


def annual_of(evaluation: Evaluation) -> Evaluation:
    """The evaluation whose indicators hold this one's log: itself, or the annual SKP of a periodic one."""
    source_id = next((i.source_indicator_id for i in evaluation.indicators if i.source_indicator_id), None)
    if source_id is None:
        return evaluation
    source = db.session.get(Indicator, source_id)
    return source.rhk.evaluation if source is not None else evaluation


def closed_reason(evaluation: Evaluation, log_indicator: Indicator | None = None) -> str | None:
    """Why the log of this evaluation takes no change now (None: it is open)."""
    annual = _annual_evaluation(log_indicator) if log_indicator is not None else annual_of(evaluation)
    if evaluation.cycle.is_frozen or annual.cycle.is_frozen:
        return frozen_message()
    for ev in {evaluation, annual}:
        if ev.state in (S.WITHDRAWN, S.NOT_RATED):
            return _(
                "Penilaian ini dikecualikan atau ditandai tidak dinilai; log progres tidak dapat diubah."
            )
    if annual.state not in LOG_OPEN_STATES:
        return _("Log progres dapat diisi setelah SKP tahunan ditetapkan oleh pejabat penilai.")
    return None


def _open(evaluation: Evaluation, log_indicator: Indicator) -> None:
    problem = closed_reason(evaluation, log_indicator)
    if problem:
        raise Refused(problem)


def _as_employee(evaluation: Evaluation, actor: Account | None) -> None:
    if not acts_as(actor, evaluation, "employee"):
        raise Refused(_("Hanya pegawai yang bersangkutan yang dapat mengisi log progresnya."))


def _as_rater(evaluation: Evaluation, actor: Account | None) -> None:
    if not acts_as(actor, evaluation, "rater"):
        raise Refused(
            _("Hanya pejabat penilai pegawai ini yang dapat memverifikasi atau mengomentari log progres.")
        )


def _as_author(entry: ProgressEntry, actor: Account | None) -> None:
    if actor is None or entry.author_id != actor.id:
        raise Refused(_("Hanya penulis entri ini yang dapat mengubahnya."))
    if entry.verified_at is not None:
        raise Refused(_("Entri ini sudah diverifikasi pejabat penilai dan tidak dapat diubah lagi."))


def _check_version(entry: ProgressEntry, expected_version: int | None) -> None:
    if expected_version is not None and entry.version != expected_version:
        raise Conflict(changed_message())


def _entry_fields(
    log_indicator: Indicator, entry_date, value, note
) -> tuple[date, Decimal | None, str | None]:
    """The date, value and note of an entry, checked together: every message at once."""
    errors: dict[str, str] = {}
    year = _annual_evaluation(log_indicator).cycle.year
    today = clock.now().date()
    if not isinstance(entry_date, date):
        errors["entry_date"] = _("Tanggal wajib diisi (hari, bulan, tahun).")
    elif entry_date.year != year:
        errors["entry_date"] = _("Tanggal harus dalam tahun %(y)d, tahun SKP ini.", y=year)
    elif entry_date > today:
        errors["entry_date"] = _("Tanggal tidak boleh setelah hari ini; catat progres yang sudah terjadi.")
    number = text = None
    try:
        number = _number(
            value.strip() if isinstance(value, str) else value, "value", _("Nilai"), required=False
        )
    except Refused as refusal:
        errors.update(refusal.errors)
    try:
        text = _text(note, "note", _("Catatan"), required=False, limit=MAX_NOTE) or None
    except Refused as refusal:
        errors.update(refusal.errors)
    if not errors and number is None and text is None:
        errors["value"] = _("Isi nilai, catatan, atau keduanya.")
    if errors:
        raise Refused(errors)
    return entry_date, number, text


def _upload(filename: str | None, data: bytes | None, url: str | None):
    """An optional file or link given with an entry, checked (file first), or (None, None)."""
    if data:
        return checked_file(filename, data), None
    if url and url.strip():
        return None, checked_link(url)
    return None, None


def _record(action: str, entry: ProgressEntry, actor: Account | None, evaluation: Evaluation, **data) -> None:
    audit.record(
        action,
        entry,
        actor=actor,
        data={"evaluation": evaluation.id, "indicator": entry.indicator_id, **data},
    )


def _attach(entry: ProgressEntry, upload, url: str | None) -> ProgressEvidence | None:
    if upload is not None:
        evidence = ProgressEvidence(
            filename=upload.filename,
            stored_name=upload.stored_name,
            content_type=upload.content_type,
            size=upload.size,
        )
    elif url is not None:
        evidence = ProgressEvidence(url=url)
    else:
        return None
    entry.evidence.append(evidence)
    return evidence


# ---- the employee's entries -------------------------------------------------------------------------


@atomic
def add_entry(
    evaluation: Evaluation,
    actor: Account | None,
    indicator: Indicator,
    entry_date,
    value,
    note: str | None,
    *,
    filename: str | None = None,
    data: bytes | None = None,
    url: str | None = None,
) -> ProgressEntry:
    """The employee logs progress on one indicator (the annual SKP's log), optionally with one
    evidence file or link; commits."""
    _as_employee(evaluation, actor)
    log_indicator = log_of(evaluation, indicator)
    _open(evaluation, log_indicator)
    entry_date, number, text = _entry_fields(log_indicator, entry_date, value, note)
    upload, link = _upload(filename, data, url)
    entry = ProgressEntry(
        indicator_id=log_indicator.id, author_id=actor.id, entry_date=entry_date, value=number, note=text
    )
    db.session.add(entry)
    _attach(entry, upload, link)
    _record("progress.added", entry, actor, evaluation, date=entry_date.isoformat())
    if upload is not None:
        stage_file(upload)  # last: the file exists only once the entry commits
    _commit_with_files()
    return entry


@atomic
def edit_entry(
    evaluation: Evaluation,
    actor: Account | None,
    entry: ProgressEntry,
    entry_date,
    value,
    note: str | None,
    *,
    expected_version: int | None = None,
) -> ProgressEntry:
    """The author changes an entry not yet verified; the old values are kept; commits."""
    _as_employee(evaluation, actor)
    entry_of(evaluation, entry)
    _open(evaluation, entry.indicator)
    _as_author(entry, actor)
    _check_version(entry, expected_version)
    entry_date, number, text = _entry_fields(entry.indicator, entry_date, value, note)
    if (entry_date, number, text) == (entry.entry_date, entry.value, entry.note):
        raise Refused({"note": _("Tidak ada yang berubah; entri tetap seperti semula.")})
    entry.revisions.append(
        ProgressRevision(
            entry_date=entry.entry_date, value=entry.value, note=entry.note, changed_by_id=actor.id
        )
    )
    entry.entry_date, entry.value, entry.note = entry_date, number, text
    entry.updated_at = clock.utcnow()
    _record("progress.edited", entry, actor, evaluation, date=entry_date.isoformat())
    commit()
    return entry


@atomic
def delete_entry(
    evaluation: Evaluation,
    actor: Account | None,
    entry: ProgressEntry,
    *,
    expected_version: int | None = None,
) -> None:
    """The author removes an entry not yet verified, with its files (gone once committed); commits."""
    _as_employee(evaluation, actor)
    entry_of(evaluation, entry)
    _open(evaluation, entry.indicator)
    _as_author(entry, actor)
    _check_version(entry, expected_version)
    for evidence in entry.evidence:
        if evidence.stored_name:
            storage.delete_on_commit(storage.evidence_store(), evidence.stored_name)
    _record(
        "progress.deleted",
        entry,
        actor,
        evaluation,
        date=entry.entry_date.isoformat(),
        value=str(entry.value) if entry.value is not None else None,
        note=entry.note,
    )
    db.session.delete(entry)
    _commit_with_files()


@atomic
def add_evidence(
    evaluation: Evaluation,
    actor: Account | None,
    entry: ProgressEntry,
    *,
    filename: str | None = None,
    data: bytes | None = None,
    url: str | None = None,
    expected_version: int | None = None,
) -> ProgressEvidence:
    """The author attaches a file (PDF, JPG, PNG) or a link to an entry not yet verified; commits."""
    _as_employee(evaluation, actor)
    entry_of(evaluation, entry)
    _open(evaluation, entry.indicator)
    _as_author(entry, actor)
    _check_version(entry, expected_version)
    if len(entry.evidence) >= MAX_EVIDENCE:
        raise Refused({"file": _("Satu entri paling banyak memiliki %(n)d bukti.", n=MAX_EVIDENCE)})
    upload, link = _upload(filename, data, url)
    if upload is None and link is None:
        raise Refused({"file": _("Pilih berkas atau isi tautan bukti.")})
    evidence = _attach(entry, upload, link)
    entry.updated_at = clock.utcnow()
    _record(
        "progress.evidence_added",
        entry,
        actor,
        evaluation,
        file=upload.filename if upload else None,
        url=link,
    )
    if upload is not None:
        stage_file(upload)
    _commit_with_files()
    return evidence


@atomic
def remove_evidence(
    evaluation: Evaluation,
    actor: Account | None,
    evidence: ProgressEvidence,
    *,
    expected_version: int | None = None,
) -> None:
    """The author removes a file or link of an entry not yet verified; commits (the file goes after)."""
    entry = db.session.get(ProgressEntry, evidence.entry_id)
    _as_employee(evaluation, actor)
    entry_of(evaluation, entry)
    _open(evaluation, entry.indicator)
    _as_author(entry, actor)
    _check_version(entry, expected_version)
    if evidence.stored_name:
        storage.delete_on_commit(storage.evidence_store(), evidence.stored_name)
    _record("progress.evidence_removed", entry, actor, evaluation, file=evidence.filename, url=evidence.url)
    entry.evidence.remove(evidence)
    entry.updated_at = clock.utcnow()
    _commit_with_files()


def evidence_path(evidence: ProgressEvidence):
    """The stored file of committed progress evidence, to serve."""
    return stored_path(evidence.stored_name)


# ---- the rater ---------------------------------------------------------------------------------------


def _rater_step(
    evaluation: Evaluation, actor: Account | None, entry: ProgressEntry, expected_version
) -> None:
    _as_rater(evaluation, actor)
    entry_of(evaluation, entry)
    _open(evaluation, entry.indicator)
    _check_version(entry, expected_version)


def _comment(comment: str | None, *, required: bool) -> str | None:
    return _text(comment, "comment", _("Komentar"), required=required, limit=MAX_COMMENT) or None


@atomic
def verify_entry(
    evaluation: Evaluation,
    actor: Account | None,
    entry: ProgressEntry,
    comment: str | None = None,
    *,
    expected_version: int | None = None,
) -> None:
    """The rater confirms an entry (optionally commenting); it can no longer be edited; commits."""
    _rater_step(evaluation, actor, entry, expected_version)
    if entry.verified_at is not None:
        raise Refused(_("Entri ini sudah diverifikasi."))
    text = _comment(comment, required=False)
    entry.verified_at, entry.verified_by_id = clock.utcnow(), actor.id
    if text:
        entry.rater_comment = text
    _record("progress.verified", entry, actor, evaluation, comment=text)
    commit()


@atomic
def unverify_entry(
    evaluation: Evaluation,
    actor: Account | None,
    entry: ProgressEntry,
    *,
    expected_version: int | None = None,
) -> None:
    """The rater takes a verification back (the author may then correct the entry); commits."""
    _rater_step(evaluation, actor, entry, expected_version)
    if entry.verified_at is None:
        raise Refused(_("Entri ini belum diverifikasi."))
    entry.verified_at = entry.verified_by_id = None
    _record("progress.unverified", entry, actor, evaluation)
    commit()


@atomic
def comment_entry(
    evaluation: Evaluation,
    actor: Account | None,
    entry: ProgressEntry,
    comment: str | None,
    *,
    expected_version: int | None = None,
) -> None:
    """The rater comments on an entry (replacing an earlier comment) without verifying it; commits."""
    _rater_step(evaluation, actor, entry, expected_version)
    text = _comment(comment, required=True)
    entry.rater_comment = text
    _record("progress.commented", entry, actor, evaluation, comment=text)
    commit()


# ---- what the pages show -------------------------------------------------------------------------


def entries(
    evaluation: Evaluation,
    first: date | None = None,
    last: date | None = None,
    *,
    unverified_only: bool = False,
) -> list[ProgressEntry]:
    """The log of this evaluation's indicators (newest first), with evidence and revisions, in a
    fixed number of statements; only those not yet verified when asked."""
    log_ids = set(log_indicators(evaluation).values())
    if not log_ids:
        return []
    query = (
        sa.select(ProgressEntry)
        .where(ProgressEntry.indicator_id.in_(log_ids))
        .options(
            selectinload(ProgressEntry.evidence),
            selectinload(ProgressEntry.revisions),
            selectinload(ProgressEntry.author).selectinload(Account.employee),
            selectinload(ProgressEntry.verified_by).selectinload(Account.employee),
        )
        .order_by(ProgressEntry.entry_date.desc(), ProgressEntry.id.desc())
    )
    if first is not None:
        query = query.where(ProgressEntry.entry_date >= first)
    if last is not None:
        query = query.where(ProgressEntry.entry_date <= last)
    if unverified_only:
        query = query.where(ProgressEntry.verified_at.is_(None))
    return list(db.session.scalars(query))


def latest_entry_date(evaluation: Evaluation) -> date | None:
    """The day of the newest entry of this evaluation's log (None: no entry)."""
    log_ids = set(log_indicators(evaluation).values())
    if not log_ids:
        return None
    return db.session.scalar(
        sa.select(sa.func.max(ProgressEntry.entry_date)).where(ProgressEntry.indicator_id.in_(log_ids))
    )


@dataclass
class PagePart:
    """What the evaluation page shows of the log: figures per indicator, and whether to suggest."""

    figures: dict[int, Figures]
    suggest: bool
    may_log: bool
    period: tuple[date, date]


def page_part(evaluation: Evaluation, actor: Account | None, roles: set[str]):
    """What the evaluation page shows of this part for this person (None: nothing)."""
    if evaluation.state in (S.TARGETS_DRAFT, S.TARGETS_SUBMITTED, S.TARGETS_LOCKED) and not any(
        i.source_indicator_id for i in evaluation.indicators
    ):
        return None
    indicators = evaluation.indicators
    if not indicators:
        return None
    return PagePart(
        figures=figures(indicators, evaluation.cycle),
        suggest="employee" in roles and evaluation.state == S.ASSESSMENT_DRAFT,
        may_log="employee" in roles and closed_reason(evaluation) is None,
        period=period_bounds(evaluation.cycle),
    )
