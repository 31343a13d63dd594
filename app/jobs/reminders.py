"""Reminders before deadlines and overdue digests after them.

Before each deadline (the cycle's reminder days, default 7, 3 and 1) everyone who still has to
act in that phase gets one digest per day listing all they owe; nothing once they have acted.
After a phase deadline passes, raters and HR get one overdue digest for that deadline.
Idempotent: each digest's outbox key names the person and the day (or the deadline).
"""

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import clock
from app.extensions import db
from app.models import Cycle, CycleState, Employee, Evaluation, EvaluationState, OutboxMessage
from app.notify import build_many, build_message
from app.workflow.cycles import hr_employees
from app.workflow.engine import effective_deadline

# Who owes what in each phase: (cycle phase, evaluation state, whose duty, what to do).
DUTIES = [
    (CycleState.TARGET_SETTING, EvaluationState.TARGETS_DRAFT, "employee", _l("Menyusun dan mengajukan SKP")),
    (CycleState.TARGET_SETTING, EvaluationState.TARGETS_SUBMITTED, "rater", _l("Menetapkan SKP")),
    (
        CycleState.SELF_ASSESSMENT,
        EvaluationState.ASSESSMENT_DRAFT,
        "employee",
        "Mengisi dan mengajukan penilaian mandiri",
    ),
    (CycleState.SELF_ASSESSMENT, EvaluationState.TARGETS_SUBMITTED, "rater", _l("Menetapkan SKP")),
    (
        CycleState.SUPERVISOR_REVIEW,
        EvaluationState.ASSESSMENT_SUBMITTED,
        "rater",
        "Menilai penilaian mandiri",
    ),
    (CycleState.APPEAL, EvaluationState.ASSESSMENT_SUBMITTED, "rater", _l("Menilai penilaian mandiri")),
    (CycleState.APPEAL, EvaluationState.APPEALED, "appeal_handler", _l("Memutus keberatan")),
]
PERSON_COLUMN = {
    "employee": Evaluation.employee_id,
    "rater": Evaluation.rater_id,
    "appeal_handler": Evaluation.appeal_handler_id,
}


PHASES = [state.value for state in CycleState]
LOCKED_IN = {
    CycleState.TARGET_SETTING: [EvaluationState.TARGETS_LOCKED],
    CycleState.SELF_ASSESSMENT: [EvaluationState.ASSESSMENT_LOCKED],
}


def _local_day(moment: datetime):
    return moment.astimezone(clock.tz()).date()


def _insert_ignoring_duplicates(rows: list[dict]) -> int:
    """Insert outbox rows whose key is not queued yet; returns how many were new.

    The ON CONFLICT clause keeps a second scheduler running at the same moment from queuing a
    key twice; the pre-check only makes the count right.
    """
    if not rows:
        return 0
    keys = [row["key"] for row in rows]
    queued = set(db.session.scalars(sa.select(OutboxMessage.key).where(OutboxMessage.key.in_(keys))))
    fresh = [row for row in rows if row["key"] not in queued]
    if not fresh:
        return 0
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"]), fresh)
    return len(fresh)


def send_reminders() -> int:
    """Today's reminder digests: one per person per day, to those who still have to act."""
    now = clock.utcnow()
    today = _local_day(now)
    items: dict[int, list] = defaultdict(list)
    for cycle in db.session.scalars(sa.select(Cycle).where(Cycle.state.in_([d[0] for d in DUTIES]))):
        deadline = cycle.deadline_of(cycle.state)
        if deadline is None or deadline < now:
            continue
        days_left = (_local_day(deadline) - today).days
        if days_left not in cycle.reminder_offsets:
            continue
        for phase, state, duty, label in DUTIES:
            if phase != cycle.state:
                continue
            rows = db.session.execute(
                sa.select(PERSON_COLUMN[duty], Evaluation.id, Employee.name)
                .join(Employee, Employee.id == Evaluation.employee_id)
                .where(
                    Evaluation.cycle_id == cycle.id,
                    Evaluation.state == state,
                    PERSON_COLUMN[duty].is_not(None),
                )
            ).all()
            for person_id, evaluation_id, employee_name in rows:
                task = {"cycle": cycle.name, "task": str(label), "deadline": deadline, "days_left": days_left}
                if duty == "employee":  # one's own step: the same words for everyone who owes it
                    task["own"] = True
                else:
                    task.update(own=False, employee=employee_name, evaluation_id=evaluation_id)
                items[person_id].append(task)
    if not items:
        return 0
    people = {
        p.id: p
        for p in db.session.scalars(sa.select(Employee).where(Employee.id.in_(items), Employee.active))
    }
    rows = build_many(
        "reminder_digest",
        [people[pid] for pid in items if pid in people],
        lambda person: f"reminder:{person.id}:{today.isoformat()}",
        "Pengingat tenggat penilaian kinerja",
        personal=lambda person: {"tasks": items[person.id]},
    )
    inserted = _insert_ignoring_duplicates(rows)
    db.session.commit()
    return inserted


def send_overdue_digests() -> int:
    """After a phase deadline passed: each rater gets their team's overdue list, HR the whole list; once."""
    now = clock.utcnow()
    rows = []
    officers = hr_employees()
    for cycle in db.session.scalars(sa.select(Cycle).where(Cycle.state.in_([d[0] for d in DUTIES]))):
        for phase in (CycleState.TARGET_SETTING, CycleState.SELF_ASSESSMENT, CycleState.SUPERVISOR_REVIEW):
            deadline = cycle.deadline_of(phase)
            if deadline is None or deadline >= now or PHASES.index(cycle.state) < PHASES.index(phase):
                continue
            late_states = [s for p, s, _d, _l in DUTIES if p == phase] + LOCKED_IN.get(phase, [])
            late = [
                ev
                for ev in db.session.scalars(
                    sa.select(Evaluation).where(
                        Evaluation.cycle_id == cycle.id, Evaluation.state.in_(late_states)
                    )
                )
                if (effective_deadline(ev, phase) or deadline) < now
            ]
            if not late:
                continue
            by_rater: dict[int, list] = defaultdict(list)
            for ev in late:
                by_rater[ev.rater_id].append(ev)
            subject = f"Daftar lewat tenggat: {cycle.name}"
            for rater_id, evs in by_rater.items():
                rater = db.session.get(Employee, rater_id)
                if rater is not None and rater.active:
                    rows.append(
                        build_message(
                            "overdue_digest",
                            rater,
                            f"overdue:{cycle.id}:{phase}:{deadline.isoformat()}:{rater_id}",
                            subject,
                            cycle=cycle,
                            phase=phase,
                            evaluations=evs,
                        )
                    )
            for officer in officers:
                rows.append(
                    build_message(
                        "overdue_digest",
                        officer,
                        f"overdue:{cycle.id}:{phase}:{deadline.isoformat()}:{officer.id}",
                        subject,
                        cycle=cycle,
                        phase=phase,
                        evaluations=late,
                    )
                )
    inserted = _insert_ignoring_duplicates(rows)
    db.session.commit()
    return inserted
