"""Fire a transition on one record: state, actor, phase, deadline and guards are checked here.

The caller (a service in this package) sets the data the transition needs, calls `fire_*`,
then commits; the audit event is in the same transaction. An illegal trigger raises Refused
and changes nothing. `bulk_fire` applies an evaluation trigger to a whole cycle in SQL.
"""

from datetime import datetime
from functools import wraps

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app import audit, clock
from app.extensions import db
from app.models import Account, AuditEvent, Cycle, CycleState, Evaluation, EvaluationState
from app.policy import acts_as
from app.services import Conflict, Refused
from app.workflow.definitions import (
    CYCLE_STATE_LABELS,
    CYCLE_TRANSITIONS,
    EVALUATION_STATE_LABELS,
    EVALUATION_TRANSITIONS,
    OWN_PHASE,
    Transition,
    build_machine,
    transitions_of,
)
from app.workflow.guards import GUARDS

CHANGED = "changed"


def changed_message() -> str:
    """Told to the loser of two simultaneous actions."""
    return _(
        "Data ini baru saja diubah oleh orang lain. Muat ulang halaman untuk melihat perubahannya; "
        "tidak ada yang tersimpan dari tindakan Anda."
    )


def atomic(func):
    """A service that commits its whole change or nothing (a refusal rolls back), and that loses
    cleanly to a concurrent change of the same record wherever the version check fails: at the
    transition's flush, at an autoflush before a query, or at the final commit."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Refused:
            db.session.rollback()
            raise
        except StaleDataError:
            db.session.rollback()
            raise Conflict(changed_message()) from None

    return wrapper


def frozen_message() -> str:
    """Told to anyone changing a published or closed cycle."""
    return _("Periode ini sudah diumumkan atau ditutup; tidak ada yang dapat diubah.")


class _Subject:
    """What the `transitions` machine drives: the state, and guard conditions with reasons."""

    def __init__(self, state: str, record, ctx: dict, candidates: list[Transition]):
        self.state = state
        self.record = record
        self.ctx = ctx
        self.reasons: list[str] = []
        self.chosen: Transition | None = None
        self.candidates = candidates

    def check(self, index: int) -> bool:
        """Condition of candidate `index`: all its guards pass (the first reason is kept)."""
        transition = self.candidates[index]
        for name in transition.guards:
            reason = GUARDS[name](self.record, self.ctx)
            if reason:
                self.reasons.append(reason)
                return False
        self.chosen = transition
        return True


def _run_machine(machine_decl, states, record, trigger: str, ctx: dict) -> tuple[Transition, str]:
    """Let `transitions` pick the arrow whose guards pass; return it and the new state."""
    current = record.state
    candidates = [t for t in transitions_of(machine_decl, trigger) if current in t.sources]
    subject = _Subject(current, record, ctx, candidates)
    machine = build_machine([], states, None, current)
    for index, transition in enumerate(candidates):
        machine.add_transition(
            trigger, current, str(transition.dest), conditions=[lambda i=index: subject.check(i)]
        )
    machine.add_model(subject, initial=current)
    if not getattr(subject, trigger)():
        raise Refused(subject.reasons[0] if subject.reasons else _("Syarat tindakan ini belum terpenuhi."))
    return subject.chosen, subject.state


def effective_deadline(evaluation: Evaluation, phase: str | None = None) -> datetime | None:
    """The phase deadline of this evaluation: the cycle's, or a later personal extension."""
    phase = phase or evaluation.cycle.state
    deadline = evaluation.cycle.deadline_of(phase)
    if evaluation.extended_until is not None and evaluation.extended_phase == phase:
        if deadline is None or evaluation.extended_until > deadline:
            return evaluation.extended_until
    return deadline


def extension_active(evaluation: Evaluation, phase: str) -> bool:
    """Whether HR extended this evaluation's `phase` and the extension still runs."""
    return (
        evaluation.extended_phase == phase
        and evaluation.extended_until is not None
        and clock.utcnow() <= evaluation.extended_until
    )


def phase_open_for(evaluation: Evaluation, phase: str) -> str | None:
    """Why the evaluation's edits of `phase` are closed now (cycle elsewhere, deadline passed), or None.

    A personal extension keeps the phase open for this evaluation even after the cycle moved on.
    """
    cycle = evaluation.cycle
    if cycle.is_frozen:
        return frozen_message()
    if cycle.state != phase and not extension_active(evaluation, phase):
        return _("Tahap %(phase)s tidak sedang berjalan.", phase=CYCLE_STATE_LABELS[CycleState(phase)])
    deadline = effective_deadline(evaluation, phase)
    if deadline is not None and clock.utcnow() > deadline:
        return _("Tenggat tahap ini sudah lewat; minta perpanjangan kepada admin kepegawaian.")
    return None


def fire_evaluation(
    evaluation: Evaluation,
    trigger: str,
    actor: Account | None,
    *,
    ctx: dict | None = None,
    expected_version: int | None = None,
    comment: str | None = None,
) -> Transition:
    """Check and fire `trigger` on one evaluation; audit it. The caller commits."""
    ctx = ctx or {}
    if expected_version is not None and evaluation.version != expected_version:
        raise Conflict(changed_message())
    cycle = evaluation.cycle
    if cycle.is_frozen:
        raise Refused(frozen_message())
    declared = transitions_of(EVALUATION_TRANSITIONS, trigger)
    if not declared:
        raise ValueError(f"unknown trigger {trigger}")
    arrows = [t for t in declared if evaluation.state in t.sources]
    if not arrows:
        raise Refused(
            _(
                "Tindakan \u201c%(action)s\u201d tidak dapat dilakukan pada status \u201c%(state)s\u201d.",
                action=declared[0].label,
                state=EVALUATION_STATE_LABELS[EvaluationState(evaluation.state)],
            )
        )
    role = arrows[0].actor
    if not acts_as(actor, evaluation, role):
        raise Refused(_("Anda tidak berwenang melakukan tindakan ini pada penilaian ini."))
    phases = arrows[0].phases
    if phases and cycle.state not in phases and not any(extension_active(evaluation, p) for p in phases):
        raise Refused(
            _(
                "Tindakan ini hanya dapat dilakukan pada tahap %(phases)s.",
                phases=", ".join(str(CYCLE_STATE_LABELS[CycleState(p)]) for p in phases),
            )
        )
    if arrows[0].deadline:
        problem = phase_open_for(evaluation, phases[0])
        if problem:
            raise Refused(problem)
    before = evaluation.state
    transition, after = _run_machine(EVALUATION_TRANSITIONS, EvaluationState, evaluation, trigger, ctx)
    # Claim the row now (UPDATE ... WHERE version = loaded version): a concurrent transition of
    # the same evaluation makes this one lose here, before it writes notifications or comments.
    event = dict(actor=actor, from_state=before, to_state=after, comment=comment)
    if _unchanged(evaluation):
        _claim(evaluation, after, audit.parameters(f"evaluation.{trigger}", evaluation, **event))
    else:  # the service changed the evaluation too (a review's ratings): one UPDATE with it all
        evaluation.state = after
        audit.record(f"evaluation.{trigger}", evaluation, **event)
        db.session.flush()
    return transition


_EVALUATION = Evaluation.__table__
_CLAIM = (
    sa.update(_EVALUATION)
    .where(_EVALUATION.c.id == sa.bindparam("claimed_id"), _EVALUATION.c.version == sa.bindparam("loaded"))
    .values(state=sa.bindparam("new_state"), version=_EVALUATION.c.version + 1)
)
# PostgreSQL: the claim and its audit row in one statement (the row is audited only if claimed);
# elsewhere the audit row follows the claim.
_CLAIM_AUDITED = audit.inserted_from(_CLAIM.returning(_EVALUATION.c.id).cte("claimed")).execution_options(
    preserve_rowcount=True  # an INSERT's count of rows: how many were claimed
)
_AUDITED = audit.inserted_from(sa.select(sa.literal(1)).subquery("claimed"))


def _unchanged(evaluation: Evaluation) -> bool:
    """Whether the evaluation is stored and nothing of it waits to be written."""
    state = sa.inspect(evaluation)
    return state.persistent and not state.modified


def _claim(evaluation: Evaluation, after: str, event: dict) -> None:
    """Move an unchanged evaluation to `after` and audit it (`event`: `audit.parameters`) with
    plain statements, as the ORM's flush would move it (state and version, on the version loaded)
    without its unit of work, which cost more than the statements; on PostgreSQL both in one
    statement. A concurrent change of the row makes it lose as the flush does (StaleDataError),
    nothing written. The loaded object then holds what the row holds."""
    loaded = evaluation.version
    claim = {"claimed_id": evaluation.id, "loaded": loaded, "new_state": after}
    if db.engine.dialect.name == "postgresql":
        moved = db.session.execute(_CLAIM_AUDITED, claim | event).rowcount
    else:
        moved = db.session.execute(_CLAIM, claim).rowcount
        if moved == 1:
            db.session.execute(_AUDITED, event)
    if moved != 1:
        raise StaleDataError(f"evaluation {evaluation.id} changed since version {loaded}")
    set_committed_value(evaluation, "state", after)
    set_committed_value(evaluation, "version", loaded + 1)


def fire_cycle(
    cycle: Cycle,
    trigger: str,
    actor: Account | None,
    *,
    ctx: dict | None = None,
    expected_version: int | None = None,
    comment: str | None = None,
) -> Transition:
    """Check and fire `trigger` on a cycle (state only; effects are the service's). Caller commits."""
    ctx = ctx or {}
    if expected_version is not None and cycle.version != expected_version:
        raise Conflict(changed_message())
    declared = transitions_of(CYCLE_TRANSITIONS, trigger)
    if not declared:
        raise ValueError(f"unknown trigger {trigger}")
    if not any(cycle.state in t.sources for t in declared):
        raise Refused(
            _(
                "Tindakan \u201c%(action)s\u201d tidak dapat dilakukan pada tahap \u201c%(state)s\u201d.",
                action=declared[0].label,
                state=CYCLE_STATE_LABELS[CycleState(cycle.state)],
            )
        )
    if actor is not None and not acts_as(actor, None, "hr"):
        raise Refused(_("Hanya admin kepegawaian yang dapat mengubah tahap periode."))
    before = cycle.state
    transition, after = _run_machine(CYCLE_TRANSITIONS, CycleState, cycle, trigger, ctx)
    cycle.state = after
    audit.record(f"cycle.{trigger}", cycle, actor=actor, from_state=before, to_state=after, comment=comment)
    return transition


def _bulk_guards(transition: Transition, now) -> list:
    """The guards that apply in bulk, as WHERE clauses."""
    clauses = []
    for guard in transition.guards:
        if guard == "appeal_window_closed":
            clauses.append(sa.or_(Evaluation.appeal_until.is_(None), Evaluation.appeal_until <= now))
        elif guard == "no_active_extension":
            phases = {str(OWN_PHASE[s]) for s in transition.sources}
            clauses.append(
                sa.or_(
                    Evaluation.extended_until.is_(None),
                    Evaluation.extended_until < now,
                    Evaluation.extended_phase.is_(None),
                    Evaluation.extended_phase.not_in(phases),
                )
            )
        else:
            raise ValueError(f"guard {guard} cannot run in bulk")
    return clauses


AUDIT_COLUMNS = [
    "occurred_at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "from_state",
    "to_state",
    "comment",
]


def bulk_fire(
    cycle: Cycle,
    triggers: str | tuple[str, ...],
    actor: Account | None,
    *,
    comment: str | None = None,
    values: dict | None = None,
) -> int:
    """Apply system triggers, in order, to every evaluation of the cycle in their sources, in SQL;
    returns how many arrows were taken.

    Sources and destinations come from the declaration; the guards that apply in bulk
    (`appeal_window_closed`, `no_active_extension`) become WHERE clauses. Each arrow writes an
    audit row per evaluation with INSERT ... SELECT; the evaluations are then moved by a single
    UPDATE however many arrows they take (publishing takes two: final, then published). The
    state an evaluation has after the earlier arrows is computed in SQL (`after`), so a later
    arrow sees it. `values` are further columns the same UPDATE sets on the rows that move (their
    expressions read the row as it was).
    """
    triggers = (triggers,) if isinstance(triggers, str) else triggers
    now = clock.utcnow()
    in_cycle = Evaluation.cycle_id == cycle.id
    after = Evaluation.state  # the state once the arrows so far are taken
    taken = sa.literal(0, sa.Integer)  # how many arrows a row takes
    conditions = []
    arrows = []
    for trigger in triggers:
        for transition in transitions_of(EVALUATION_TRANSITIONS, trigger):
            if transition.actor not in ("system", "hr"):
                raise ValueError(f"{trigger} is not a bulk (system or HR) trigger")
            condition = sa.and_(
                after.in_([str(s) for s in transition.sources]), *_bulk_guards(transition, now)
            )
            arrows.append((trigger, transition, condition, after))
            conditions.append(condition)
            after = sa.case((condition, sa.literal(str(transition.dest))), else_=after)
            taken = taken + sa.case((condition, 1), else_=0)
    moving = sa.and_(in_cycle, sa.or_(*conditions))
    if db.engine.dialect.name == "postgresql":
        # Lock the rows first: a concurrent run (a second scheduler) waits here, then finds
        # them moved on and writes neither a second transition nor a second audit row.
        locked = sa.select(Evaluation.id).where(moving).with_for_update().subquery()
        db.session.execute(sa.select(sa.func.count()).select_from(locked))
    total = 0
    for trigger, transition, condition, before in arrows:
        audit_rows = sa.select(
            sa.literal(now, AuditEvent.occurred_at.type),
            sa.literal(actor.id if actor else None, sa.Integer),
            sa.literal(f"evaluation.{trigger}"),
            sa.literal("evaluation"),
            sa.cast(Evaluation.id, sa.String),
            before,
            sa.literal(str(transition.dest)),
            sa.literal(comment, sa.Text),
        ).where(in_cycle, condition)
        result = db.session.execute(
            sa.insert(AuditEvent).from_select(AUDIT_COLUMNS, audit_rows).returning(AuditEvent.id)
        )
        total += len(result.all())
    db.session.execute(
        sa.update(Evaluation)
        .where(moving)
        .values(state=after, version=Evaluation.version + taken, updated_at=now, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    return total


def refresh_statistics() -> None:
    """After a bulk phase change on PostgreSQL: ANALYZE the evaluations (about 0.2 s at 100 000),
    so the next pages are planned on the new states at once rather than when autovacuum gets
    to it (the results board took 0.7 s instead of 15 ms until then). Commits."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE evaluation"))
        db.session.commit()
