"""Who holds which evaluations in flight, as rater or appeal handler (read side of reassignment).

The changes are app/workflow/reassign.py's; the people pages ask here before deactivating someone
or after changing a supervisor.
"""

import sqlalchemy as sa

from app.extensions import db
from app.models import Cycle, CycleState, Employee, Evaluation, ReassignedRole, Reassignment

IN_FLIGHT_STATES = (
    CycleState.TARGET_SETTING,
    CycleState.SELF_ASSESSMENT,
    CycleState.SUPERVISOR_REVIEW,
    CycleState.APPEAL,
)


# Evaluations that left the cycle (dikecualikan) or that HR marked "tidak dinilai": nobody acts on
# them any more, so they are neither moved nor counted as held.
OUT_OF_CYCLE = ("withdrawn", "not_rated")


def in_flight():
    """Evaluations still worked on, in cycles between opening and publication (a WHERE clause)."""
    return sa.and_(
        Evaluation.cycle_id.in_(
            sa.select(Cycle.id).where(Cycle.state.in_([str(s) for s in IN_FLIGHT_STATES]))
        ),
        Evaluation.state.not_in(OUT_OF_CYCLE),
    )


def holder(role: ReassignedRole | str):
    """The evaluation's column holding the official."""
    return getattr(Evaluation, ReassignedRole(role).column)


def held_count(employee: Employee) -> dict[ReassignedRole, int]:
    """How many in-flight evaluations `employee` holds as rater and as appeal handler (one query)."""
    rater, handler = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((Evaluation.rater_id == employee.id, 1), else_=0)), 0),
            sa.func.coalesce(
                sa.func.sum(sa.case((Evaluation.appeal_handler_id == employee.id, 1), else_=0)), 0
            ),
        ).where(
            in_flight(),
            sa.or_(Evaluation.rater_id == employee.id, Evaluation.appeal_handler_id == employee.id),
        )
    ).one()
    return {ReassignedRole.RATER: rater, ReassignedRole.APPEAL_HANDLER: handler}


def returning_count(employee: Employee) -> int:
    """In-flight evaluations that come back to `employee` when a Plh. ends."""
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Reassignment.evaluation_id)))
        .join(Evaluation, Evaluation.id == Reassignment.evaluation_id)
        .where(Reassignment.back_to_id == employee.id, Reassignment.ended_at.is_(None), in_flight())
    )


def moved_with_supervisor(employee: Employee) -> int:
    """In-flight evaluations of `employee` whose rater is not their supervisor now (after a change
    of supervisor: what HR is offered to move too)."""
    if employee.supervisor_id is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Evaluation.employee_id == employee.id,
            in_flight(),
            Evaluation.rater_id != employee.supervisor_id,
        )
    )


def running_temporary(limit: int = 50):
    """Temporary reassignments (Plh.) still running, one row per decision: role, the official
    stood in for, the acting one, until when, how many evaluations."""
    acting = sa.orm.aliased(Employee)
    back = sa.orm.aliased(Employee)
    return db.session.execute(
        sa.select(
            Reassignment.role,
            back.name.label("back_name"),
            acting.name.label("acting_name"),
            Reassignment.until,
            Reassignment.reason,
            sa.func.count().label("count"),
        )
        .join(acting, acting.id == Reassignment.to_id)
        .outerjoin(back, back.id == Reassignment.back_to_id)
        .where(Reassignment.ended_at.is_(None), Reassignment.until.is_not(None))
        .group_by(
            Reassignment.batch,
            Reassignment.role,
            back.name,
            acting.name,
            Reassignment.until,
            Reassignment.reason,
        )
        .order_by(Reassignment.until, acting.name)
        .limit(limit)
    ).all()
