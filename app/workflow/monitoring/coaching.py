"""Monitoring stage: the coaching trigger (pembinaan: bimbingan and konseling when results lag).

A scheduled job (app/jobs `run_due`) asks the rater to record a bimbingan or konseling
(a `CoachingRequest`, an email, a home task) on the employee's evaluation in flight (an open cycle,
not set aside; the annual one when there are several):

1. **Low result** — the employee's latest published periodic (monthly or quarterly) evaluation has
   the predikat Butuh Perbaikan, Kurang/Misconduct or Sangat Kurang. Key "result:<its id>".
2. **Behind at mid-period** — from the middle of an annual cycle's performance year (1 July local
   time: the annual SKP covers 1 January to 31 December) until its review, each indicator of an
   approved SKP whose logged progress is behind by the cycle's `coaching_behind_pct` % or more of
   what is expected by that day. Key "behind:<indicator id>". See `behind_by`. Judged at mid-period
   and then once a month (it reads every log of the year), so one falling behind later is caught.

The key makes the job idempotent: one request per evaluation and cause, whatever the number of
runs or schedulers (a unique constraint, inserted with ON CONFLICT DO NOTHING). app/jobs runs
`create_requests` once a day (`JobDay` "coaching"; the logs on the first run of a month,
"coaching_behind") and `resolve` on every run: a FeedbackRecord
of kind COACHING or COUNSELLING written on the evaluation after the request resolves it. The home
task does not wait for the job: its query (app/services/coaching.py `open_requests`) leaves out
requests such a record already answers.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from app import audit, clock
from app.domain import Comparator, Predikat
from app.extensions import db
from app.models import (
    AuditEvent,
    CoachingReason,
    CoachingRequest,
    Cycle,
    CycleKind,
    Employee,
    Evaluation,
    EvaluationState,
    FeedbackRecord,
    Indicator,
    ProgressEntry,
    ProgressRule,
    Rhk,
)
from app.models.types import UTCDateTime
from app.notify import build_message, queue
from app.services.coaching import OPEN_CYCLE_STATES, RESOLVING_KINDS, SET_ASIDE, resolving_record

JOB = "coaching"  # low results: looked for once a day
BEHIND_JOB = "coaching_behind"  # progress behind: judged on the first run of each month (a day per month)
LOW_PREDIKAT = (Predikat.BUTUH_PERBAIKAN, Predikat.KURANG, Predikat.SANGAT_KURANG)
# An approved SKP before its review: the year's work is under way and can still be helped.
UNDER_WAY = (
    EvaluationState.TARGETS_APPROVED,
    EvaluationState.ASSESSMENT_DRAFT,
    EvaluationState.ASSESSMENT_LOCKED,
    EvaluationState.ASSESSMENT_SUBMITTED,
)
PERIODIC = (CycleKind.MONTHLY, CycleKind.QUARTERLY)
# Rows per statement: PostgreSQL takes at most 65 535 parameters in one, and the first run after
# mid-year may find an indicator behind for a good share of a large agency.
CHUNK = 5_000
MAIL_LINES = 30  # requests listed in one email; the home page lists them all


def _chunks(items: list) -> list[list]:
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]


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
    # Only the logs of the indicators judged: approved SKPs of these cycles, before their review.
    scope = (
        sa.select(Indicator.id)
        .join(Rhk, Rhk.id == Indicator.rhk_id)
        .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
        .where(
            Evaluation.cycle_id.in_([cycle.id for cycle in cycles]),
            Evaluation.state.in_([str(state) for state in UNDER_WAY]),
        )
    )
    logged = (
        ProgressEntry.value.is_not(None),
        ProgressEntry.entry_date <= today,
        ProgressEntry.indicator_id.in_(scope),
    )
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
        sa.select(
            Indicator.id,
            Indicator.text,
            Indicator.unit,
            Indicator.aspect,
            Indicator.progress_rule,
            Indicator.comparator,
            Indicator.target,
            Indicator.target_max,
            Evaluation.id,
            Evaluation.cycle_id,
            sums.c.total,
            latest.c.value,
        )
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
    share = {cycle.id: expected_share(cycle.year, today) for cycle in cycles}
    # Translated once: tens of thousands of indicators may be judged in one run.
    counted = _(
        "Progres \u201c%(indicator)s\u201d tertinggal: tercatat %(logged)s %(unit)s, diharapkan "
        "sekitar %(expected)s %(unit)s sampai %(day)s (target setahun %(target)s %(unit)s)."
    )
    level = _(
        "Progres \u201c%(indicator)s\u201d tertinggal: nilai terakhir %(logged)s %(unit)s, "
        "target %(target)s %(unit)s."
    )
    day = today.strftime("%d-%m-%Y")
    found = []
    for row in rows:
        (indicator_id, text, unit, aspect, declared, comparator, target, target_max) = row[:8]
        evaluation_id, cycle_id, total, last = row[8:]
        cycle = by_id[cycle_id]
        rule = Indicator.rule.fget(SimpleNamespace(progress_rule=declared, aspect=aspect))
        value = Decimal(total if rule is ProgressRule.SUM else last)
        expected = behind_by(
            rule, comparator, target, target_max, value, share[cycle_id], cycle.coaching_behind_pct
        )
        if expected is None:
            continue
        if rule is ProgressRule.SUM:
            detail = counted % {
                "indicator": text,
                "logged": _number(value),
                "expected": _number(expected),
                "unit": unit,
                "day": day,
                "target": _number(target),
            }
        else:
            shown = (
                f"{_number(target)}\u2013{_number(target_max)}"
                if comparator is Comparator.RANGE and target_max is not None
                else f"{comparator.symbol} {_number(target)}"
            )
            detail = level % {"indicator": text, "logged": _number(value), "unit": unit, "target": shown}
        found.append(
            Found(
                evaluation_id=evaluation_id,
                key=f"behind:{indicator_id}",
                reason=CoachingReason.BEHIND,
                detail=detail,
                indicator_id=indicator_id,
            )
        )
    return found


def _insert(found: list[Found], now: datetime) -> list[int]:
    """Insert the requests not there yet (a second scheduler's are skipped); the new ids."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = CoachingRequest.__table__
    made: list[int] = []
    for chunk in _chunks(found):
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
                    for item in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["evaluation_id", "key"])
            .returning(table.c.id)
        )
        made.extend(db.session.scalars(statement))
    return made


def create_requests(now: datetime | None = None, *, behind: bool = True) -> int:
    """Find what needs a bimbingan or konseling now and ask the raters (email, audit); `behind`:
    judge the progress logs too. Idempotent; commits. Returns how many requests were made."""
    now = now or clock.utcnow()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        found = low_results() + (behind_indicators(now) if behind else [])
    made = _insert(found, now)
    asked: dict[int, list[dict]] = {}  # rater id -> what they are asked, for one email each
    for ids in _chunks(sorted(made)):
        rows = db.session.execute(
            sa.select(
                CoachingRequest.id,
                CoachingRequest.evaluation_id,
                CoachingRequest.key,
                CoachingRequest.detail,
                Evaluation.rater_id,
                Employee.name,
                Cycle.name,
            )
            .join(Evaluation, Evaluation.id == CoachingRequest.evaluation_id)
            .join(Employee, Employee.id == Evaluation.employee_id)
            .join(Cycle, Cycle.id == Evaluation.cycle_id)
            .where(CoachingRequest.id.in_(ids))
            .order_by(CoachingRequest.id)
        ).all()
        # the audit of the system's requests, in one statement per chunk
        db.session.execute(
            sa.insert(AuditEvent.__table__),
            [
                {
                    "action": "coaching.requested",
                    "object_type": "coaching_request",
                    "object_id": str(request_id),
                    "comment": detail,
                    "data": {"evaluation_id": evaluation_id, "key": key},
                    "occurred_at": now,
                }
                for request_id, evaluation_id, key, detail, _rater, _name, _cycle in rows
            ],
        )
        for request_id, evaluation_id, _key, detail, rater_id, name, cycle in rows:
            asked.setdefault(rater_id, []).append(
                {
                    "id": request_id,
                    "evaluation_id": evaluation_id,
                    "employee": name,
                    "cycle": cycle,
                    "detail": detail,
                }
            )
    _email_raters(asked)
    db.session.commit()
    return len(made)


def _email_raters(asked: dict[int, list[dict]]) -> None:
    """One email per rater listing the bimbingan or konseling newly asked of them."""
    raters = {
        rater.id: rater
        for ids in _chunks(list(asked))
        for rater in db.session.scalars(sa.select(Employee).where(Employee.id.in_(ids), Employee.active))
    }
    mails = []
    for rater_id, items in asked.items():
        if rater_id not in raters:
            continue
        names = list(dict.fromkeys(item["employee"] for item in items))
        subject = (
            f"Bimbingan atau konseling untuk {names[0]} perlu dicatat"
            if len(names) == 1
            else f"Bimbingan atau konseling untuk {len(names)} pegawai perlu dicatat"
        )
        mails.append(
            build_message(
                "coaching_requested",
                raters[rater_id],
                f"coaching_requested:{rater_id}:{items[0]['id']}",
                subject,
                items=items,
                shown=items[:MAIL_LINES],
            )
        )
    for chunk in _chunks(mails):
        queue(chunk, ignore_duplicates=True)


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
