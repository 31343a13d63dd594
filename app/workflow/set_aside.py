"""HR's decisions for evaluations that get no result, and taking them back before publication.

- **Withdraw** (dikecualikan): the employee left the cycle (mutasi keluar, pensiun, meninggal,
  CLTN, tugas belajar, diberhentikan). The evaluation leaves the distribution and the totals.
- **Tidak dinilai**: HR's explicit mark, with the reason, for an evaluation never reviewed; once
  the review phase runs, one at a time or every one left in the cycle at once (set-based).
- **Reinstate**: back to the state it left; when the cycle moved on meanwhile, the phase changes it
  missed are applied to it as they were to the others (an SKP draft of target setting is locked).

Publication needs every evaluation rated, withdrawn or marked (guard `everyone_settled`).
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, clock
from app.database import long_statements
from app.domain import WithdrawalReason
from app.extensions import db
from app.models import Account, Cycle, CycleState, Evaluation, EvaluationState, EvaluationTally, Role
from app.models.tally import NOT_STARTED
from app.notify import notify, notify_many
from app.services import Conflict, Refused
from app.workflow.definitions import CYCLE_EFFECTS, NOT_YET_RATED, transitions_of
from app.workflow.definitions import EVALUATION_TRANSITIONS as ARROWS
from app.workflow.engine import atomic, bulk_fire, changed_message, fire_evaluation, frozen_message
from app.workflow.guards import GUARDS

MIN_NOTE = 10
MAX_NOTE = 2000
# The phases in order; a reinstated evaluation catches up on the "advance" effects of those passed.
PHASES = (
    CycleState.TARGET_SETTING,
    CycleState.SELF_ASSESSMENT,
    CycleState.SUPERVISOR_REVIEW,
    CycleState.APPEAL,
)


def _note(note: str | None, *, required: bool) -> str | None:
    note = (note or "").strip()
    if required and len(note) < MIN_NOTE:
        raise Refused({"note": _("Tuliskan alasannya (paling sedikit %(n)d karakter).", n=MIN_NOTE)})
    if len(note) > MAX_NOTE:
        raise Refused({"note": _("Paling banyak %(n)d karakter.", n=MAX_NOTE)})
    return note or None


def _set_aside(
    evaluation: Evaluation, before: str, reason: WithdrawalReason | None, note: str | None
) -> None:
    evaluation.set_aside_from = before
    evaluation.withdrawal_reason = reason
    evaluation.set_aside_note = note
    evaluation.set_aside_at = clock.utcnow()


@atomic
def withdraw(
    evaluation: Evaluation,
    actor: Account | None,
    reason: str,
    note: str | None = None,
    *,
    expected_version: int | None = None,
) -> None:
    """Withdraw an evaluation from its cycle, for one of the regulation's reasons; commits."""
    try:
        why = WithdrawalReason(reason)
    except ValueError:
        raise Refused({"reason": _("Pilih alasan pengecualian.")}) from None
    note = _note(note, required=False)
    before = evaluation.state
    fire_evaluation(
        evaluation,
        "withdraw",
        actor,
        expected_version=expected_version,
        comment=why.label + (f": {note}" if note else ""),
    )
    _set_aside(evaluation, before, why, note)
    db.session.commit()


@atomic
def mark_not_rated(
    evaluation: Evaluation, actor: Account | None, note: str, *, expected_version: int | None = None
) -> None:
    """Mark one evaluation "tidak dinilai" with the reason; the employee is told; commits."""
    note = _note(note, required=True)
    before = evaluation.state
    fire_evaluation(evaluation, "mark_not_rated", actor, expected_version=expected_version, comment=note)
    _set_aside(evaluation, before, None, note)
    notify(
        "not_rated",
        evaluation.employee,
        f"not_rated:{evaluation.id}:{evaluation.version}",
        cycle=evaluation.cycle,
        evaluation=evaluation,
        note=note,
    )
    db.session.commit()


def not_yet_rated(cycle: Cycle) -> sa.ColumnElement:
    """The evaluations of the cycle that still have no result and no decision of HR's."""
    return sa.and_(Evaluation.cycle_id == cycle.id, Evaluation.state.in_([str(s) for s in NOT_YET_RATED]))


@atomic
@long_statements()
def mark_rest_not_rated(
    cycle: Cycle, actor: Account | None, note: str, *, expected_version: int | None = None
) -> int:
    """Mark every evaluation of the cycle still without a result "tidak dinilai", in SQL (one
    UPDATE, one INSERT ... SELECT of audit rows, one of emails); commits. Returns how many."""
    if actor is not None and not actor.roles & {Role.HR, Role.ADMIN}:
        raise Refused(_("Hanya admin kepegawaian yang dapat menandai penilaian tidak dinilai."))
    if cycle.is_frozen:
        raise Refused(frozen_message())
    if expected_version is not None and cycle.version != expected_version:
        raise Conflict(changed_message())
    [arrow] = transitions_of(ARROWS, "mark_not_rated")
    if cycle.state not in arrow.phases:
        raise Refused(_("Penilaian dapat ditandai tidak dinilai setelah tahap penilaian atasan dimulai."))
    note = _note(note, required=True)
    if not db.session.scalar(sa.select(sa.func.count()).where(not_yet_rated(cycle))):
        raise Refused(_("Tidak ada penilaian yang belum dinilai."))
    event = audit.record("cycle.marked_not_rated", cycle, actor=actor, comment=note)
    db.session.flush()  # its id keys this marking's emails (the same people may be marked again later)
    now = clock.utcnow()
    marked = bulk_fire(
        cycle,
        "mark_not_rated",
        actor,
        comment=note,
        values={
            "set_aside_from": Evaluation.state,
            "withdrawal_reason": None,
            "set_aside_note": note,
            "set_aside_at": now,
        },
    )
    if not marked:  # a second click, or another officer, marked them meanwhile (rows locked first)
        raise Refused(_("Tidak ada penilaian yang belum dinilai."))
    # Emailed after the move: exactly the rows this marking moved (the same note, the same moment).
    notify_many(
        "not_rated",
        sa.select(Evaluation.employee_id).where(
            Evaluation.cycle_id == cycle.id,
            Evaluation.state == EvaluationState.NOT_RATED,
            Evaluation.set_aside_at == now,
            Evaluation.set_aside_note == note,
        ),
        f"not_rated:{cycle.id}:{event.id}",
        cycle=cycle,
        note=note,
    )
    event.data = {"evaluations": marked}
    db.session.commit()
    return marked


@atomic
def reinstate(evaluation: Evaluation, actor: Account | None, *, expected_version: int | None = None) -> str:
    """Take back a withdrawal or a "tidak dinilai": the evaluation returns to the state it left and
    catches up on the phase changes it missed; commits. Returns the state it is in now."""
    fire_evaluation(evaluation, "reinstate", actor, expected_version=expected_version)
    evaluation.set_aside_from = evaluation.withdrawal_reason = evaluation.set_aside_note = None
    evaluation.set_aside_at = None
    cycle_state = CycleState(evaluation.cycle.state)
    passed = PHASES[: PHASES.index(cycle_state)] if cycle_state in PHASES else ()
    for phase in passed:
        for trigger in CYCLE_EFFECTS.get(("advance", phase), ()):
            for arrow in transitions_of(ARROWS, trigger):
                if evaluation.state in arrow.sources and not any(
                    GUARDS[guard](evaluation, {}) for guard in arrow.guards
                ):
                    fire_evaluation(evaluation, trigger, None, comment=_("menyusul tahap yang terlewat"))
                    break
    db.session.commit()
    return evaluation.state


def settled_counts(cycle: Cycle) -> dict[str, int]:
    """How many of the cycle's evaluations are withdrawn, "tidak dinilai", or still without either
    (those block publication)."""
    tally = EvaluationTally  # the counters the database keeps per unit and state
    states = [
        *(str(s) for s in NOT_YET_RATED),
        NOT_STARTED,
        EvaluationState.WITHDRAWN,
        EvaluationState.NOT_RATED,
    ]
    rows = {
        state: int(n)
        for state, n in db.session.execute(
            sa.select(tally.state, sa.func.sum(tally.n))
            .where(tally.cycle_id == cycle.id, tally.state.in_(states))
            .group_by(tally.state)
        )
    }
    return {
        "withdrawn": rows.pop(EvaluationState.WITHDRAWN, 0),
        "not_rated": rows.pop(EvaluationState.NOT_RATED, 0),
        "unrated": sum(rows.values()),
    }
