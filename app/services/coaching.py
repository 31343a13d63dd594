"""Monitoring stage, coaching: what it asks of whom (read by app/services/monitoring.py).

A rater asked to record a bimbingan or konseling (app/workflow/monitoring/coaching.py) has a task
while the request is open; the condition is SQL (`coaching.open_requests`), so a record written a
moment ago removes the task before the job marks the request resolved. The reminder digest names
a request still open a week after it was made, and every week after that. HR reads the count of
open requests per unit (`open_by_unit`).
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app import clock
from app.extensions import db
from app.models import (
    Account,
    CoachingRequest,
    Cycle,
    CycleState,
    Employee,
    Evaluation,
    EvaluationState,
    FeedbackKind,
    FeedbackRecord,
    OrgUnit,
)
from app.policy import is_hr
from app.services.tasks import Task

REMIND_EVERY_DAYS = 7
DIGEST_TASK = _l("Mencatat bimbingan/konseling")
RESOLVING_KINDS = (FeedbackKind.COACHING, FeedbackKind.COUNSELLING)
OPEN_CYCLE_STATES = (
    CycleState.TARGET_SETTING,
    CycleState.SELF_ASSESSMENT,
    CycleState.SUPERVISOR_REVIEW,
    CycleState.APPEAL,
)
SET_ASIDE = (EvaluationState.WITHDRAWN, EvaluationState.NOT_RATED)


def resolving_record() -> sa.Exists:
    """SQL over CoachingRequest: a bimbingan or konseling was recorded on its evaluation after it."""
    return (
        sa.select(FeedbackRecord.id)
        .where(
            FeedbackRecord.evaluation_id == CoachingRequest.evaluation_id,
            FeedbackRecord.kind.in_([str(kind) for kind in RESOLVING_KINDS]),
            FeedbackRecord.created_at >= CoachingRequest.created_at,
        )
        .correlate(CoachingRequest)
        .exists()
    )


def open_requests() -> sa.ColumnElement:
    """SQL over CoachingRequest joined to Evaluation and Cycle: the request still waits for a record."""
    return sa.and_(
        CoachingRequest.resolved_at.is_(None),
        ~resolving_record(),
        Cycle.state.in_([str(state) for state in OPEN_CYCLE_STATES]),
        Evaluation.state.not_in([str(state) for state in SET_ASIDE]),
    )


def _open_for_rater():
    return (
        sa.select(
            CoachingRequest.id,
            CoachingRequest.evaluation_id,
            CoachingRequest.detail,
            Employee.name,
            Cycle.name,
        )
        .join(Evaluation, Evaluation.id == CoachingRequest.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .where(open_requests())
    )


# The home page's statements are built once per process (the person a bound parameter `:me`):
# composing them cost more than running them.


@cache
def _open_for_rater_statement() -> sa.Select:
    """The open requests of the evaluations `:me` rates, oldest first."""
    return _open_for_rater().where(Evaluation.rater_id == sa.bindparam("me")).order_by(CoachingRequest.id)


@cache
def _open_per_cycle_statement() -> sa.Select:
    """Per running cycle: its open requests and the employees they concern."""
    return (
        sa.select(
            Cycle.id,
            Cycle.name,
            sa.func.count(CoachingRequest.id),
            sa.func.count(sa.distinct(Evaluation.employee_id)),
        )
        .select_from(CoachingRequest)
        .join(Evaluation, Evaluation.id == CoachingRequest.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(open_requests())
        .group_by(Cycle.id, Cycle.name)
        .order_by(Cycle.id)
    )


def home_tasks(account: Account, now: datetime) -> list[Task]:
    """The bimbingan or konseling this rater is asked to record (one statement); for HR, the open
    requests of each running cycle (one more)."""
    if account.employee_id is None:
        return []
    rows = db.session.execute(_open_for_rater_statement(), {"me": account.employee_id}).all()
    return _hr_tasks(account) + [
        Task(
            kind="coaching",
            action=_("Catat bimbingan/konseling dengan %(name)s", name=name),
            person=name,
            cycle=cycle_name,
            deadline=None,
            days_left=None,
            endpoint="dialog.page",
            args={"evaluation_id": evaluation_id},
            anchor="new-record",
            note=detail,
        )
        for _id, evaluation_id, detail, name, cycle_name in rows
    ]


def _hr_tasks(account: Account) -> list[Task]:
    """HR follows the requests still open, per running cycle, to its dashboard's count per unit."""
    if not is_hr(account):
        return []
    rows = db.session.execute(_open_per_cycle_statement()).all()
    return [
        Task(
            kind="coaching_open",
            action=_("Pantau bimbingan/konseling yang belum dicatat atasan"),
            person=_("%(n)d pegawai", n=employees),
            cycle=cycle_name,
            deadline=None,
            days_left=None,
            endpoint="cycles.view",
            args={"cycle_id": cycle_id},
            anchor="coaching",
            note=_("%(n)d permintaan terbuka", n=requests),
        )
        for cycle_id, cycle_name, requests, employees in rows
    ]


def digest_items(now: datetime, today: date) -> dict[int, tuple[tuple, list[dict]]]:
    """Open requests a whole number of weeks old today, per rater (one statement)."""
    rater = aliased(Employee)
    rows = db.session.execute(
        sa.select(
            rater.id,
            rater.name,
            rater.email,
            CoachingRequest.evaluation_id,
            CoachingRequest.created_at,
            Employee.name,
            Cycle.name,
        )
        .join(Evaluation, Evaluation.id == CoachingRequest.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(rater, rater.id == Evaluation.rater_id)
        .where(open_requests(), rater.active)
        .order_by(CoachingRequest.id)
    ).all()
    found: dict[int, tuple[tuple, list[dict]]] = {}
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        task = str(DIGEST_TASK)
    for rater_id, rater_name, email, evaluation_id, created_at, employee, cycle in rows:
        age = (today - created_at.astimezone(clock.tz()).date()).days
        if age <= 0 or age % REMIND_EVERY_DAYS:
            continue
        found.setdefault(rater_id, ((rater_id, rater_name, email), []))[1].append(
            {
                "task": task,
                "employee": employee,
                "cycle": cycle,
                "deadline_text": None,
                "days_left": None,
                "path": f"/evaluations/{evaluation_id}/dialog#new-record",
            }
        )
    return found


@dataclass
class UnitCount:
    """Open coaching requests in one unit."""

    unit_id: int
    unit: str
    open: int
    employees: int


@cache
def _open_by_unit_statement() -> sa.Select:
    """Per unit (of the evaluation) of the cycle `:cycle_id`: its open requests and the employees
    they concern, most first. Built once per process: composing it cost more than running it."""
    return (
        sa.select(
            OrgUnit.id,
            OrgUnit.name,
            sa.func.count(CoachingRequest.id),
            sa.func.count(sa.distinct(Evaluation.employee_id)),
        )
        .select_from(CoachingRequest)
        .join(Evaluation, Evaluation.id == CoachingRequest.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(OrgUnit, OrgUnit.id == Evaluation.unit_id)
        .where(open_requests(), Evaluation.cycle_id == sa.bindparam("cycle_id"))
        .group_by(OrgUnit.id, OrgUnit.name)
        .order_by(sa.func.count(CoachingRequest.id).desc(), OrgUnit.name)
    )


def open_by_unit(cycle_id: int) -> list[UnitCount]:
    """The cycle's open requests per unit (of the evaluation), most first."""
    return [UnitCount(*row) for row in db.session.execute(_open_by_unit_statement(), {"cycle_id": cycle_id})]
