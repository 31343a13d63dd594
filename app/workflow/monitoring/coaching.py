"""Monitoring stage: the coaching trigger (pembinaan: bimbingan and konseling when results lag).

A scheduled job (app/jobs `run_due`) asks the rater to record a bimbingan or konseling
(a `CoachingRequest`, an email, a home task) on the employee's evaluation in flight (an open cycle,
not set aside; the annual one when there are several):

1. **Low result** — the employee's latest published periodic (monthly or quarterly) evaluation has
   the predikat Butuh Perbaikan, Kurang/Misconduct or Sangat Kurang. Key "result:<its id>".
2. **Behind at mid-period** — from the middle of an annual cycle's performance year (1 July local
   time: the annual SKP covers 1 January to 31 December) until its review, each indicator of an
   approved SKP whose logged progress is behind by the cycle's `coaching_behind_pct` % or more of
   what is expected by that day. Key "behind:<indicator id>". See `behind_by`.

The key makes the job idempotent: one request per evaluation and cause, whatever the number of
runs or schedulers (a unique constraint, inserted with ON CONFLICT DO NOTHING). app/jobs runs
`create_requests` once a day (`JobDay` "coaching") and `resolve` on every run: a FeedbackRecord
of kind COACHING or COUNSELLING written on the evaluation after the request resolves it. The home
task does not wait for the job: its query (app/services/coaching.py `open_requests`) leaves out
requests such a record already answers.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from app import audit, clock
from app.domain import Comparator, Predikat
from app.extensions import db
from app.models import (
    CoachingReason,
    CoachingRequest,
    Cycle,
    CycleKind,
    Evaluation,
    EvaluationState,
    FeedbackRecord,
    Indicator,
    ProgressEntry,
    ProgressRule,
    Rhk,
)
from app.models.types import UTCDateTime
from app.notify import notify
from app.services.coaching import OPEN_CYCLE_STATES, RESOLVING_KINDS, SET_ASIDE, resolving_record

JOB = "coaching"
LOW_PREDIKAT = (Predikat.BUTUH_PERBAIKAN, Predikat.KURANG, Predikat.SANGAT_KURANG)
# An approved SKP before its review: the year's work is under way and can still be helped.
UNDER_WAY = (
    EvaluationState.TARGETS_APPROVED,
    EvaluationState.ASSESSMENT_DRAFT,
    EvaluationState.ASSESSMENT_LOCKED,
    EvaluationState.ASSESSMENT_SUBMITTED,
)
PERIODIC = (CycleKind.MONTHLY, CycleKind.QUARTERLY)


# ---- where requests go -----------------------------------------------------------------------------


def in_flight() -> sa.Subquery:
    """Per employee, the evaluation in flight a request goes on: (employee_id, evaluation_id)."""
    rank = (
        sa.func.row_number()
        .over(
            partition_by=Evaluation.employee_id,
            order_by=(sa.case((Cycle.kind == str(CycleKind.ANNUAL), 0), else_=1), Evaluation.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        sa.select(Evaluation.employee_id, Evaluation.id.label("evaluation_id"), rank)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Cycle.state.in_([str(state) for state in OPEN_CYCLE_STATES]),
            Evaluation.state.not_in([str(state) for state in SET_ASIDE]),
        )
        .subquery()
    )
    return sa.select(ranked.c.employee_id, ranked.c.evaluation_id).where(ranked.c.rank == 1).subquery()


# ---- the job ---------------------------------------------------------------------------------------


@dataclass
class Found:
    """A request to make."""

    evaluation_id: int
    key: str
    reason: CoachingReason
    detail: str
    source_evaluation_id: int | None = None
    indicator_id: int | None = None


def _number(value: Decimal) -> str:
    return format(Decimal(value).quantize(Decimal("0.01")).normalize(), "f").replace(".", ",")


def low_results() -> list[Found]:
    """Employees whose latest published periodic result is Butuh Perbaikan or below (one statement)."""
    rank = (
        sa.func.row_number()
        .over(
            partition_by=Evaluation.employee_id,
            order_by=(
                Cycle.published_at.desc(),
                Cycle.year.desc(),
                Cycle.period.desc(),
                Evaluation.id.desc(),
            ),
        )
        .label("rank")
    )
    latest = (
        sa.select(
            Evaluation.employee_id,
            Evaluation.id.label("source_id"),
            Evaluation.predikat,
            Cycle.name.label("cycle_name"),
            rank,
        )
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.state == str(EvaluationState.PUBLISHED),
            Cycle.kind.in_([str(kind) for kind in PERIODIC]),
        )
        .subquery()
    )
    target = in_flight()
    asked = aliased(Evaluation)
    key = sa.literal("result:") + sa.cast(latest.c.source_id, sa.String)
    rows = db.session.execute(
        sa.select(target.c.evaluation_id, latest.c.source_id, latest.c.predikat, latest.c.cycle_name)
        .join(target, target.c.employee_id == latest.c.employee_id)
        .where(
            latest.c.rank == 1,
            latest.c.predikat.in_([str(p) for p in LOW_PREDIKAT]),
            # one request per result, whichever of the employee's evaluations it went on (the one
            # in flight may change when a new cycle opens)
            ~sa.select(CoachingRequest.id)
            .join(asked, asked.id == CoachingRequest.evaluation_id)
            .where(asked.employee_id == latest.c.employee_id, CoachingRequest.key == key)
            .exists(),
        )
    ).all()
    return [
        Found(
            evaluation_id=evaluation_id,
            key=f"result:{source_id}",
            reason=CoachingReason.LOW_RESULT,
            detail=_(
                "Predikat kinerja periode \u201c%(cycle)s\u201d: %(predikat)s.",
                cycle=cycle_name,
                predikat=Predikat(predikat).label,
            ),
            source_evaluation_id=source_id,
        )
        for evaluation_id, source_id, predikat, cycle_name in rows
    ]


def mid_point(cycle_year: int) -> datetime:
    """When an annual cycle reaches mid-period: 1 July of its year, local time."""
    return datetime.combine(date(cycle_year, 7, 1), time(), tzinfo=clock.tz())


def expected_share(cycle_year: int, today: date) -> Decimal:
    """The share of the performance year elapsed by the end of `today` (0 to 1)."""
    start, end = date(cycle_year, 1, 1), date(cycle_year, 12, 31)
    elapsed = min(max((today - start).days + 1, 0), (end - start).days + 1)
    return Decimal(elapsed) / Decimal((end - start).days + 1)


def behind_by(
    rule: ProgressRule,
    comparator: Comparator,
    target: Decimal,
    target_max: Decimal | None,
    logged: Decimal,
    share: Decimal,
    pct: int,
) -> Decimal | None:
    """What was expected by now when the logged progress is behind by `pct` % of it or more, else None.

    A counted target (SUM) is expected pro rata over the year: behind when the sum logged falls
    short of `target × share` by `pct` % of that (or, for a ceiling such as a budget, exceeds it by
    as much). A level (LATEST) is expected at its target all along: behind when the latest value
    misses the target (or the range) by `pct` % of it.
    """
    margin = Decimal(pct) / 100
    if rule is ProgressRule.SUM:
        expected = target * share
        if comparator is Comparator.AT_MOST:
            return expected if logged >= expected * (1 + margin) and logged > 0 else None
        return expected if expected > 0 and logged <= expected * (1 - margin) else None
    if comparator is Comparator.AT_MOST:
        return target if logged >= target * (1 + margin) else None
    if comparator is Comparator.RANGE and logged > (target_max or target):
        ceiling = target_max or target
        return ceiling if logged >= ceiling * (1 + margin) else None
    return target if target > 0 and logged <= target * (1 - margin) else None


def behind_indicators(now: datetime) -> list[Found]:
    """Indicators of approved annual SKPs past mid-period whose logged progress is behind (one
    statement for the indicators with their sum and latest value)."""
    today = now.astimezone(clock.tz()).date()
    cycles = [
        cycle
        for cycle in db.session.scalars(
            sa.select(Cycle).where(
                Cycle.kind == str(CycleKind.ANNUAL),
                Cycle.state.in_([str(state) for state in OPEN_CYCLE_STATES]),
            )
        )
        if mid_point(cycle.year) <= now
    ]
    if not cycles:
        return []
    logged = ProgressEntry.value.is_not(None), ProgressEntry.entry_date <= today
    sums = (
        sa.select(ProgressEntry.indicator_id, sa.func.sum(ProgressEntry.value).label("total"))
        .where(*logged)
        .group_by(ProgressEntry.indicator_id)
        .subquery()
    )
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
        .where(*logged)
        .subquery()
    )
    latest = aliased(ranked)
    key = sa.literal("behind:") + sa.cast(Indicator.id, sa.String)
    rows = db.session.execute(
        sa.select(Indicator, Evaluation.id, Evaluation.cycle_id, sums.c.total, latest.c.value)
        .join(Rhk, Rhk.id == Indicator.rhk_id)
        .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
        .join(sums, sums.c.indicator_id == Indicator.id)
        .join(latest, sa.and_(latest.c.indicator_id == Indicator.id, latest.c.rank == 1))
        .where(
            Evaluation.cycle_id.in_([cycle.id for cycle in cycles]),
            Evaluation.state.in_([str(state) for state in UNDER_WAY]),
            ~sa.select(CoachingRequest.id)
            .where(CoachingRequest.evaluation_id == Evaluation.id, CoachingRequest.key == key)
            .exists(),
        )
    ).all()
    by_id = {cycle.id: cycle for cycle in cycles}
    found = []
    for indicator, evaluation_id, cycle_id, total, last in rows:
        cycle = by_id[cycle_id]
        rule = indicator.rule
        value = Decimal(total if rule is ProgressRule.SUM else last)
        share = expected_share(cycle.year, today)
        expected = behind_by(
            rule,
            indicator.comparator,
            indicator.target,
            indicator.target_max,
            value,
            share,
            cycle.coaching_behind_pct,
        )
        if expected is None:
            continue
        if rule is ProgressRule.SUM:
            detail = _(
                "Progres \u201c%(indicator)s\u201d tertinggal: tercatat %(logged)s %(unit)s, diharapkan "
                "sekitar %(expected)s %(unit)s sampai %(day)s (target setahun %(target)s %(unit)s).",
                indicator=indicator.text,
                logged=_number(value),
                expected=_number(expected),
                unit=indicator.unit,
                day=today.strftime("%d-%m-%Y"),
                target=_number(indicator.target),
            )
        else:
            detail = _(
                "Progres \u201c%(indicator)s\u201d tertinggal: nilai terakhir %(logged)s %(unit)s, "
                "target %(target)s %(unit)s.",
                indicator=indicator.text,
                logged=_number(value),
                unit=indicator.unit,
                target=(
                    f"{_number(indicator.target)}\u2013{_number(indicator.target_max)}"
                    if indicator.comparator is Comparator.RANGE and indicator.target_max is not None
                    else f"{indicator.comparator.symbol} {_number(indicator.target)}"
                ),
            )
        found.append(
            Found(
                evaluation_id=evaluation_id,
                key=f"behind:{indicator.id}",
                reason=CoachingReason.BEHIND,
                detail=detail,
                indicator_id=indicator.id,
            )
        )
    return found


def _insert(found: list[Found], now: datetime) -> list[int]:
    """Insert the requests not there yet (a second scheduler's are skipped); the new ids."""
    if not found:
        return []
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = CoachingRequest.__table__
    statement = (
        insert(table)
        .values(
            [
                {
                    "evaluation_id": item.evaluation_id,
                    "key": item.key,
                    "reason": str(item.reason),
                    "detail": item.detail,
                    "source_evaluation_id": item.source_evaluation_id,
                    "indicator_id": item.indicator_id,
                    "created_at": now,
                }
                for item in found
            ]
        )
        .on_conflict_do_nothing(index_elements=["evaluation_id", "key"])
        .returning(table.c.id)
    )
    return list(db.session.scalars(statement))


def create_requests(now: datetime | None = None) -> int:
    """Find what needs a bimbingan or konseling now and ask the raters (email, audit). Idempotent;
    commits. Returns how many requests were made."""
    now = now or clock.utcnow()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        found = low_results() + behind_indicators(now)
    made = _insert(found, now)
    if made:
        requests = db.session.scalars(
            sa.select(CoachingRequest)
            .where(CoachingRequest.id.in_(made))
            .options(
                joinedload(CoachingRequest.evaluation).joinedload(Evaluation.rater),
                joinedload(CoachingRequest.evaluation).joinedload(Evaluation.employee),
                joinedload(CoachingRequest.evaluation).joinedload(Evaluation.cycle),
            )
            .order_by(CoachingRequest.id)
        ).all()
        for request in requests:
            evaluation = request.evaluation
            audit.record(
                "coaching.requested",
                request,
                actor=None,
                comment=request.detail,
                data={"evaluation_id": evaluation.id, "key": request.key},
            )
            notify(
                "coaching_requested",
                evaluation.rater,
                f"coaching_requested:{request.id}",
                employee=evaluation.employee,
                cycle=evaluation.cycle,
                evaluation=evaluation,
                detail=request.detail,
            )
    db.session.commit()
    return len(made)


def resolve(now: datetime | None = None) -> int:
    """Mark the requests a later bimbingan or konseling answers (the first such record). Commits."""
    now = now or clock.utcnow()
    first_record = (
        sa.select(sa.func.min(FeedbackRecord.id))
        .where(
            FeedbackRecord.evaluation_id == CoachingRequest.evaluation_id,
            FeedbackRecord.kind.in_([str(kind) for kind in RESOLVING_KINDS]),
            FeedbackRecord.created_at >= CoachingRequest.created_at,
        )
        .correlate(CoachingRequest)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(CoachingRequest.id, CoachingRequest.evaluation_id, first_record).where(
            CoachingRequest.resolved_at.is_(None), resolving_record()
        )
    ).all()
    resolved = 0
    for request_id, evaluation_id, record_id in rows:
        changed = db.session.execute(
            sa.update(CoachingRequest)
            .where(CoachingRequest.id == request_id, CoachingRequest.resolved_at.is_(None))
            .values(resolved_at=sa.literal(now, UTCDateTime()), record_id=record_id)
        ).rowcount
        if not changed:  # a second scheduler resolved it a moment ago
            continue
        resolved += 1
        audit.record(
            "coaching.resolved",
            object_type="coaching_request",
            object_id=request_id,
            actor=None,
            data={"evaluation_id": evaluation_id, "record_id": record_id},
        )
    db.session.commit()
    return resolved
