"""Monitoring stage, peers: what it asks of whom (read by app/services/monitoring.py).

A colleague asked for input on someone's behaviour has a task while the request is open: not
answered, not cancelled, its deadline ahead, and the evaluation still waiting for its review in a
running cycle. The same condition (`open_requests`) feeds the home page and the reminder digest,
which names the request on the cycle's reminder days before its deadline (7, 3 and 1 by default).
"""

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
from app.inputs import int_or_none
from app.models import Account, Cycle, CycleState, Employee, Evaluation, EvaluationState, PeerRequest
from app.models.types import UTCDateTime
from app.services.tasks import Task

REVIEW_PHASES = (CycleState.SELF_ASSESSMENT, CycleState.SUPERVISOR_REVIEW, CycleState.APPEAL)
DIGEST_TASK = _l("Memberi masukan perilaku kerja")


def open_requests(now: datetime | sa.BindParameter) -> sa.ColumnElement:
    """SQL over PeerRequest joined to Evaluation and Cycle: the colleague can still answer at `now`
    (a moment, or a bound parameter of a statement built once)."""
    if not isinstance(now, sa.BindParameter):
        now = sa.literal(now, UTCDateTime())
    return sa.and_(
        PeerRequest.answered_at.is_(None),
        PeerRequest.cancelled_at.is_(None),
        PeerRequest.due_at >= now,
        Evaluation.state == str(EvaluationState.ASSESSMENT_SUBMITTED),
        Cycle.state.in_([str(phase) for phase in REVIEW_PHASES]),
    )


def _days_left(deadline: datetime, now: datetime) -> int:
    zone = clock.tz()
    return (deadline.astimezone(zone).date() - now.astimezone(zone).date()).days


def home_tasks(account: Account, now: datetime) -> list[Task]:
    """The requests for input waiting for this person (one statement)."""
    if account.employee_id is None:
        return []
    rows = db.session.execute(_waiting_statement(), {"me": account.employee_id, "now": now}).all()
    return [
        Task(
            kind="peer_input",
            action=_("Beri masukan perilaku kerja untuk %(name)s", name=name),
            person=name,
            cycle=cycle_name,
            deadline=due_at,
            days_left=_days_left(due_at, now),
            endpoint="peers.answer",
            args={"request_id": request_id},
        )
        for request_id, due_at, name, cycle_name in rows
    ]


@cache
def _waiting_statement() -> sa.Select:
    """The requests `:me` can still answer at `:now`, soonest deadline first. Built once per
    process with the person and the moment as bound parameters: composing it cost more than
    running it."""
    return (
        sa.select(PeerRequest.id, PeerRequest.due_at, Employee.name, Cycle.name)
        .join(Evaluation, Evaluation.id == PeerRequest.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .where(
            PeerRequest.peer_id == sa.bindparam("me"),
            open_requests(sa.bindparam("now", type_=UTCDateTime())),
        )
        .order_by(PeerRequest.due_at, PeerRequest.id)
    )


def digest_items(now: datetime, today: date) -> dict[int, tuple[tuple, list[dict]]]:
    """The open requests whose deadline is one of their cycle's reminder days away (one statement)."""
    from app.templating import localtime

    peer = aliased(Employee)
    rows = db.session.execute(
        sa.select(
            peer.id,
            peer.name,
            peer.email,
            PeerRequest.id,
            PeerRequest.due_at,
            Employee.name,
            Cycle.name,
            Cycle.reminder_days,
        )
        .join(Evaluation, Evaluation.id == PeerRequest.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(peer, peer.id == PeerRequest.peer_id)
        .where(open_requests(now), peer.active)
        .order_by(PeerRequest.due_at, PeerRequest.id)
    ).all()
    found: dict[int, tuple[tuple, list[dict]]] = {}
    offsets: dict[str, set[int]] = {}
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        task = str(DIGEST_TASK)
        for peer_id, peer_name, email, request_id, due_at, employee, cycle, reminder_days in rows:
            if reminder_days not in offsets:
                offsets[reminder_days] = {int_or_none(p, minimum=1) for p in reminder_days.split(",")}
            days = (due_at.astimezone(clock.tz()).date() - today).days
            if days not in offsets[reminder_days]:
                continue
            found.setdefault(peer_id, ((peer_id, peer_name, email), []))[1].append(
                {
                    "task": task,
                    "employee": employee,
                    "cycle": cycle,
                    "deadline_text": localtime(due_at),
                    "days_left": days,
                    "path": f"/rekan/{request_id}",
                }
            )
    return found
