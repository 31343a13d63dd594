"""Why a locked evaluation is locked: its phase deadline passed, or HR closed the phase early.

Both causes end in the same state (targets_locked, assessment_locked); the audit trail tells
them apart. The lock's audit row was written when the phase closed for that evaluation: before
the phase's deadline means HR advanced the cycle early, otherwise the deadline had passed.
"""

import functools

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, CycleState, Evaluation, EvaluationState
from app.workflow.definitions import EVALUATION_STATE_LABELS, LOCKED_EARLY_LABELS, LOCKED_LATE_LABELS
from app.workflow.engine import effective_deadline

# The audit action of each lock, by the state it leaves, and the phase whose deadline it enforces.
LOCKS = {
    EvaluationState.TARGETS_LOCKED: ("evaluation.lock_targets", CycleState.TARGET_SETTING),
    EvaluationState.ASSESSMENT_LOCKED: ("evaluation.lock_assessment", CycleState.SELF_ASSESSMENT),
}


@functools.cache
def _lock_times_statement() -> sa.Select:
    """When each of the evaluations `:ids` (as audit object ids) was last locked, per lock action;
    built once per process."""
    return (
        sa.select(AuditEvent.object_id, AuditEvent.action, sa.func.max(AuditEvent.occurred_at))
        .where(
            AuditEvent.object_type == "evaluation",
            AuditEvent.object_id.in_(sa.bindparam("ids", expanding=True)),
            AuditEvent.action.in_([action for action, _phase in LOCKS.values()]),
        )
        .group_by(AuditEvent.object_id, AuditEvent.action)
    )


def locked_early(evaluations) -> set[int]:
    """The ids of the locked evaluations among `evaluations` whose phase HR closed before its
    deadline (one query, whatever their number)."""
    locked = {e.id: e for e in evaluations if e.state in LOCKS}
    if not locked:
        return set()
    rows = db.session.execute(_lock_times_statement(), {"ids": [str(i) for i in locked]}).all()
    early = set()
    for object_id, action, locked_at in rows:
        evaluation = locked[int(object_id)]
        expected, phase = LOCKS[EvaluationState(evaluation.state)]
        deadline = effective_deadline(evaluation, phase)
        if action == expected and deadline is not None and locked_at < deadline:
            early.add(evaluation.id)
    return early


def state_label(evaluation: Evaluation, early: set[int] | frozenset = frozenset()) -> str:
    """The evaluation's state as a person reads it, a lock saying its cause: HR closed the phase
    early (in `early`, from `locked_early`), else its deadline had passed."""
    state = EvaluationState(evaluation.state)
    if evaluation.id in early:
        return str(LOCKED_EARLY_LABELS[state])
    if state in LOCKED_LATE_LABELS:
        return str(LOCKED_LATE_LABELS[state])
    return str(EVALUATION_STATE_LABELS[state])


def early_lock_events(evaluation: Evaluation, events) -> set[int]:
    """The ids of the lock rows in an evaluation's audit `events` written before their phase's
    deadline (HR closed the phase early), for its timeline."""
    early = set()
    for event in events:
        for action, phase in LOCKS.values():
            if event.action == action:
                deadline = effective_deadline(evaluation, phase)
                if deadline is not None and event.occurred_at < deadline:
                    early.add(event.id)
    return early
