"""Monitoring stage, dialog: the records' reading queries, and what they ask of whom (read by
app/services/monitoring.py for the home pages and the reminder digests).

The employee is asked to acknowledge the records the rater wrote; the rater to answer the
employee's notes (a request for a dialogue) with a record of their own; the owner of a follow-up
(the employee or the rater) is asked to do it when it is due within a week or overdue, and is
reminded 3 days and 1 day before, on the day, and every day after until it is marked done. Only
while the cycle runs (opened, not yet published) and the evaluation is not set aside, and only
while the owner still is a party of the evaluation.
"""

from datetime import date, datetime, time, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, joinedload, selectinload

from app import clock
from app.extensions import db
from app.models import Account, AuditEvent, Cycle, CycleState, Employee, Evaluation, EvaluationState
from app.models.monitoring import FeedbackKind, FeedbackRecord, FollowUp
from app.services.tasks import Task
from app.templating import localtime

K = FeedbackKind
KIND_LABELS = {
    K.FEEDBACK: _l("Umpan balik"),
    K.DIALOG: _l("Dialog kinerja"),
    K.COACHING: _l("Bimbingan"),
    K.COUNSELLING: _l("Konseling"),
    K.NOTE: _l("Catatan pegawai"),
}
EDITED = "dialog.edited"
HOME_WINDOW_DAYS = 7  # follow-ups due within a week show on the home page
REMINDER_DAYS = (3, 1, 0)  # and are reminded these many days before (and every day once overdue)
HOME_LIMIT = 50
CLOSED_PHASES = (CycleState.DRAFT, CycleState.PUBLISHED, CycleState.CLOSED)
SET_ASIDE = (EvaluationState.WITHDRAWN, EvaluationState.NOT_RATED)


def kind_label(kind: FeedbackKind | str) -> str:
    """What the pages, the emails and the document call a kind of record."""
    return str(KIND_LABELS[FeedbackKind(kind)])


# ---- reading ---------------------------------------------------------------------------------------


def records_of(evaluation_id: int) -> list[FeedbackRecord]:
    """The evaluation's records, newest first, with what the page shows (a fixed number of statements)."""
    return list(
        db.session.scalars(
            sa.select(FeedbackRecord)
            .where(FeedbackRecord.evaluation_id == evaluation_id)
            .options(
                joinedload(FeedbackRecord.author).joinedload(Account.employee),
                selectinload(FeedbackRecord.follow_ups).joinedload(FollowUp.owner),
                selectinload(FeedbackRecord.attachments),
            )
            .order_by(FeedbackRecord.held_on.desc(), FeedbackRecord.id.desc())
        )
    )


def history_of(records: list[FeedbackRecord]) -> dict[int, list[AuditEvent]]:
    """Per record id, the audit events of its changes (each holding what it said before), oldest first."""
    if not records:
        return {}
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.object_type == FeedbackRecord.__tablename__,
            AuditEvent.action == EDITED,
            AuditEvent.object_id.in_([str(r.id) for r in records]),
        )
        .options(joinedload(AuditEvent.actor).joinedload(Account.employee))
        .order_by(AuditEvent.id)
    )
    found: dict[int, list[AuditEvent]] = {}
    for event in events:
        found.setdefault(int(event.object_id), []).append(event)
    return found


# ---- who must act ----------------------------------------------------------------------------------


def _running():
    """The evaluation's cycle runs and the evaluation counts (joined to Evaluation and Cycle)."""
    return sa.and_(
        Cycle.state.not_in([str(s) for s in CLOSED_PHASES]),
        Evaluation.state.not_in([str(s) for s in SET_ASIDE]),
    )


def _owner_is_party():
    return sa.or_(FollowUp.owner_id == Evaluation.employee_id, FollowUp.owner_id == Evaluation.rater_id)


def end_of_day(day: date) -> datetime:
    """The last moment of a local calendar day (a follow-up's deadline)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=clock.tz())


def _local_day(now: datetime) -> date:
    return now.astimezone(clock.tz()).date()


def home_tasks(account: Account, now: datetime) -> list[Task]:
    """This person's tasks of this part, for the home page (three statements): records to
    acknowledge, notes to answer (the rater), follow-ups due within a week or overdue."""
    me = account.employee_id
    if me is None:
        return []
    today = _local_day(now)
    found: list[Task] = []
    waiting = db.session.execute(_to_acknowledge_statement(), {"me": me}).all()
    for evaluation_id, cycle_name, count in waiting:
        found.append(
            Task(
                kind="dialog_acknowledge",
                action=_("Baca dan konfirmasi %(n)d catatan dialog kinerja dari atasan", n=count),
                person=None,
                cycle=cycle_name,
                deadline=None,
                days_left=None,
                endpoint="dialog.page",
                args={"evaluation_id": evaluation_id},
                anchor="records",
            )
        )
    found.extend(_notes_to_answer(me))
    due = db.session.execute(
        _follow_ups_due_statement(), {"me": me, "until": today + timedelta(days=HOME_WINDOW_DAYS)}
    ).all()
    for follow_up_id, action, due_on, evaluation_id, employee_id, employee_name, cycle_name in due:
        found.append(
            Task(
                kind="follow_up",
                action=_("Tindak lanjut: %(a)s", a=_short(action)),
                person=None if employee_id == me else employee_name,
                cycle=cycle_name,
                deadline=end_of_day(due_on),
                days_left=(due_on - today).days,
                endpoint="dialog.page",
                args={"evaluation_id": evaluation_id},
                anchor=f"follow-up-{follow_up_id}",
            )
        )
    return found


# The home page's statements are built once per process with the person (`:me`) and the day
# (`:until`) as bound parameters: composing them cost more than running them.


@cache
def _to_acknowledge_statement() -> sa.Select:
    """Per evaluation of `:me` (the employee), the rater's records not yet acknowledged."""
    return (
        sa.select(Evaluation.id, Cycle.name, sa.func.count(FeedbackRecord.id))
        .join(Evaluation, Evaluation.id == FeedbackRecord.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.employee_id == sa.bindparam("me"),
            FeedbackRecord.kind != K.NOTE,
            FeedbackRecord.acknowledged_at.is_(None),
            _running(),
        )
        .group_by(Evaluation.id, Cycle.name)
        .order_by(Evaluation.id)
    )


@cache
def _follow_ups_due_statement() -> sa.Select:
    """The open follow-ups `:me` owns, due on or before `:until`, while `:me` is still a party."""
    subject = aliased(Employee)
    return (
        sa.select(FollowUp.id, FollowUp.action, FollowUp.due_on, Evaluation.id, Evaluation.employee_id)
        .add_columns(subject.name, Cycle.name)
        .join(FeedbackRecord, FeedbackRecord.id == FollowUp.record_id)
        .join(Evaluation, Evaluation.id == FeedbackRecord.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(subject, subject.id == Evaluation.employee_id)
        .where(
            FollowUp.owner_id == sa.bindparam("me"),
            FollowUp.done_at.is_(None),
            FollowUp.due_on <= sa.bindparam("until", type_=sa.Date()),
            _owner_is_party(),
            _running(),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(HOME_LIMIT)
    )


@cache
def _notes_to_answer_statement() -> sa.Select:
    """Per evaluation `:me` rates (not their own), the employee's notes no record of the rater followed."""
    answer = aliased(FeedbackRecord)
    later = (
        sa.select(answer.id)
        .where(
            answer.evaluation_id == FeedbackRecord.evaluation_id,
            answer.kind != K.NOTE,
            answer.created_at >= FeedbackRecord.created_at,
        )
        .exists()
    )
    me = sa.bindparam("me")
    return (
        sa.select(Evaluation.id, Employee.name, Cycle.name, sa.func.count(FeedbackRecord.id))
        .join(Evaluation, Evaluation.id == FeedbackRecord.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .where(
            Evaluation.rater_id == me,
            Evaluation.employee_id != me,
            FeedbackRecord.kind == K.NOTE,
            ~later,
            _running(),
        )
        .group_by(Evaluation.id, Employee.name, Cycle.name)
        .order_by(Evaluation.id)
    )


def _notes_to_answer(me: int) -> list[Task]:
    """The rater's: per evaluation, the employee's notes (requests for a dialogue) that no record
    of the rater followed yet (one statement)."""
    rows = db.session.execute(_notes_to_answer_statement(), {"me": me}).all()
    return [
        Task(
            kind="dialog_note",
            action=_("Tanggapi %(n)d catatan pegawai (dialog kinerja)", n=count),
            person=employee_name,
            cycle=cycle_name,
            deadline=None,
            days_left=None,
            endpoint="dialog.page",
            args={"evaluation_id": evaluation_id},
            anchor="new-record",
        )
        for evaluation_id, employee_name, cycle_name, count in rows
    ]


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def digest_items(now: datetime, today: date) -> dict[int, tuple[tuple, list[dict]]]:
    """Per employee id: ((id, name, email), items) to remind them of today (one statement):
    their open follow-ups due in 3 days, tomorrow, today, or overdue."""
    owner, subject = aliased(Employee), aliased(Employee)
    rows = db.session.execute(
        sa.select(
            owner.id,
            owner.name,
            owner.email,
            FollowUp.id,
            FollowUp.action,
            FollowUp.due_on,
            Evaluation.id,
            Evaluation.employee_id,
            subject.name,
            Cycle.name,
        )
        .join(owner, owner.id == FollowUp.owner_id)
        .join(FeedbackRecord, FeedbackRecord.id == FollowUp.record_id)
        .join(Evaluation, Evaluation.id == FeedbackRecord.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(subject, subject.id == Evaluation.employee_id)
        .where(
            FollowUp.done_at.is_(None),
            sa.or_(
                FollowUp.due_on < today,
                FollowUp.due_on.in_([today + timedelta(days=n) for n in REMINDER_DAYS]),
            ),
            owner.active,
            _owner_is_party(),
            _running(),
        )
        .order_by(owner.id, FollowUp.due_on, FollowUp.id)
    ).all()
    found: dict[int, tuple[tuple, list[dict]]] = {}
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        for person_id, name, email, follow_up_id, action, due_on, ev_id, employee_id, who, cycle in rows:
            left = (due_on - today).days
            day_text = localtime(end_of_day(due_on), "d MMMM yyyy")
            if left < 0:
                deadline_text = _("%(d)s (terlambat %(n)d hari)", d=day_text, n=-left)
            elif left == 0:
                deadline_text = _("hari ini, %(d)s", d=day_text)
            else:
                deadline_text = day_text
            item = {
                "task": _("Tindak lanjut dialog kinerja: %(a)s", a=_short(action)),
                "employee": None if employee_id == person_id else who,
                "cycle": cycle,
                "deadline_text": deadline_text,
                "days_left": left if left > 0 else None,
                "path": f"/evaluations/{ev_id}/dialog#follow-up-{follow_up_id}",
            }
            found.setdefault(person_id, ((person_id, name, email), []))[1].append(item)
    return found
