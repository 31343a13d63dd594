"""Monitoring stage, progress: what it asks of whom (read by app/services/monitoring.py).

The rater is asked to verify the log of each team member with entries not yet verified: one task
per evaluation holding the log (the annual SKP), the count in its note, found in one statement.
No reminder email: the log runs all year without a deadline, and the home page's task is enough.
"""

from datetime import date, datetime
from functools import cache

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from app.extensions import db
from app.models import (
    Account,
    Cycle,
    CycleState,
    Employee,
    Evaluation,
    EvaluationState,
    Indicator,
    ProgressEntry,
    Rhk,
)
from app.services.tasks import Task

S = EvaluationState
# The log is open once the annual SKP is approved (ditetapkan), while the evaluation runs.
LOG_OPEN_STATES = frozenset(
    {
        S.TARGETS_APPROVED,
        S.ASSESSMENT_DRAFT,
        S.ASSESSMENT_SUBMITTED,
        S.ASSESSMENT_LOCKED,
        S.REVIEWED,
        S.APPEALED,
        S.DECIDED,
        S.FINAL,
    }
)


def home_tasks(account: Account, now: datetime) -> list[Task]:
    """This person's tasks of this part, for the home page: "Verifikasi log progres" per team member."""
    me = account.employee_id
    if me is None:
        return []
    rows = db.session.execute(_unverified_statement(), {"me": me}).all()
    return [
        Task(
            kind="verify_progress",
            action=_("Verifikasi log progres"),
            person=name,
            cycle=cycle,
            deadline=None,
            days_left=None,
            endpoint="progress.log",
            args={"evaluation_id": evaluation_id, "bulan": "belum"},
            anchor="log",
            note=ngettext("%(num)d entri menunggu verifikasi", "%(num)d entri menunggu verifikasi", count),
        )
        for evaluation_id, name, cycle, count in rows
    ]


@cache
def _unverified_statement() -> sa.Select:
    """Per evaluation `:me` rates (not their own) with an open log, its entries not yet verified.
    Built once per process with the person as a bound parameter: composing it cost more than
    running it."""
    me = sa.bindparam("me")
    return (
        sa.select(Evaluation.id, Employee.name, Cycle.name.label("cycle"), sa.func.count(ProgressEntry.id))
        .join(Indicator, Indicator.id == ProgressEntry.indicator_id)
        .join(Rhk, Rhk.id == Indicator.rhk_id)
        .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.rater_id == me,
            Evaluation.employee_id != me,
            ProgressEntry.verified_at.is_(None),
            Evaluation.state.in_([s.value for s in LOG_OPEN_STATES]),
            Cycle.state.not_in([CycleState.PUBLISHED, CycleState.CLOSED]),
        )
        .group_by(Evaluation.id, Employee.name, Cycle.name)
        .order_by(Employee.name, Evaluation.id)
    )


def digest_items(now: datetime, today: date) -> dict[int, tuple[tuple, list[dict]]]:
    """Per employee id: ((id, name, email), items) to remind them of today (none: no deadline)."""
    return {}
