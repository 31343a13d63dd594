"""The one policy module: may this person do this to that record?

Every route asks `require()` (or `can()` in templates). Employees see their own data,
supervisors their team (and the team's team, as appeal handler), HR everything in the agency.
"""

import enum
import functools

import sqlalchemy as sa
from flask import abort, g, has_request_context
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Account, Employee, OrgUnit, RhkTemplate, Role


class Action(enum.StrEnum):
    """What can be asked of the policy."""

    VIEW_EMPLOYEE = "employee.view"
    VIEW_PEOPLE_LIST = "people.list"
    MANAGE_PEOPLE = "people.manage"
    MANAGE_ORG = "org.manage"
    MANAGE_ROLES = "account.roles"
    VIEW_AUDIT = "audit.view"
    MANAGE_CYCLES = "cycle.manage"
    VIEW_EVALUATION = "evaluation.view"
    VIEW_RESULTS = "results.view"
    MANAGE_OUTBOX = "outbox.manage"
    REASSIGN = "evaluation.reassign"
    MANAGE_RHK_TEMPLATES = "rhk_template.manage"
    VIEW_DIALOG = "evaluation.dialog"  # dialog kinerja and feedback records: the parties only


HR_ACTIONS = {
    Action.MANAGE_CYCLES,
    Action.MANAGE_OUTBOX,
    Action.VIEW_PEOPLE_LIST,
    Action.MANAGE_PEOPLE,
    Action.MANAGE_ORG,
    Action.VIEW_AUDIT,
    Action.REASSIGN,
}


def is_hr(actor: Account | None) -> bool:
    """HR officers and administrators manage the agency's people."""
    return actor is not None and bool(actor.roles & {Role.HR, Role.ADMIN})


@functools.cache
def _headed_statement() -> sa.Select:
    """The units `:me` heads and every unit below them (see `headed_unit_ids`); built once per process."""
    head, boss, member = aliased(Employee), aliased(Employee), aliased(Employee)
    own = (
        sa.select(head.unit_id.label("id"))
        .outerjoin(boss, boss.id == head.supervisor_id)
        .where(
            head.id == sa.bindparam("me"),
            head.active,
            sa.or_(boss.id.is_(None), boss.unit_id != head.unit_id),
            sa.exists().where(member.supervisor_id == head.id, member.active),
        )
        .cte("headed", recursive=True)
    )
    below = own.union(sa.select(OrgUnit.id).join(own, OrgUnit.parent_id == own.c.id))
    return sa.select(below.c.id)


def headed_unit_ids(actor: Account | None) -> set[int]:
    """The units the actor heads, with every unit below them (a unit head's reach).

    The head of a unit is an active employee of that unit who supervises at least one active
    employee and whose own supervisor works elsewhere (or who has none): the top of the unit's
    supervisor chain, as the data holds it without a "head" column. Asked once per request.
    """
    if actor is None or actor.employee_id is None:
        return set()
    cache = g.setdefault("headed_unit_ids", {}) if has_request_context() else {}
    if actor.employee_id in cache:
        return cache[actor.employee_id]
    found = set(db.session.scalars(_headed_statement(), {"me": actor.employee_id}))
    cache[actor.employee_id] = found
    return found


def template_position_ids(actor: Account | None) -> set[int] | None:
    """The positions whose RHK templates the actor may publish: None for every position (HR),
    else those held by active employees in the units the actor heads. Asked once per request."""
    if is_hr(actor):
        return None
    cache = g.setdefault("template_position_ids", {}) if has_request_context() else {}
    if actor.employee_id in cache:
        return cache[actor.employee_id]
    units = headed_unit_ids(actor)
    found = set()
    if units:
        found = set(
            db.session.scalars(
                sa.select(Employee.position_id).where(Employee.unit_id.in_(units), Employee.active).distinct()
            )
        )
    cache[actor.employee_id] = found
    return found


def is_supervisor_of(actor: Account | None, employee: Employee) -> bool:
    """Whether the actor is the employee's direct supervisor (rater)."""
    return actor is not None and actor.employee_id is not None and employee.supervisor_id == actor.employee_id


def is_second_level_of(actor: Account | None, employee: Employee) -> bool:
    """Whether the actor is the supervisor's supervisor (appeal handler)."""
    return (
        actor is not None
        and actor.employee_id is not None
        and employee.supervisor is not None
        and employee.supervisor.supervisor_id == actor.employee_id
    )


PARTIES = ("employee", "rater", "appeal_handler")


def acts_as(actor: Account | None, evaluation, role: str) -> bool:
    """Whether the actor plays `role` (employee, rater, appeal_handler, hr, system) on the evaluation.

    The rater and appeal handler are those recorded on the evaluation when it was created; the
    HR role grants no right to act as rater or appeal handler. "system" is the scheduler and the
    bulk phase changes, never a person.
    """
    if role == "system":
        return actor is None
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if role == "hr":
        return is_hr(actor)
    me = actor.employee_id
    if me is None:
        return False
    if role == "employee":
        return evaluation.employee_id == me
    if role == "rater":
        return evaluation.rater_id == me and evaluation.employee_id != me
    if role == "appeal_handler":
        return evaluation.appeal_handler_id == me and evaluation.employee_id != me
    return False


def rights_beyond(actor: Account | None, account: Account | None) -> set[Role]:
    """The granted rights `account` holds that `actor` does not.

    Whoever controls an account's credentials (its password, or the e-mail its reset links go
    to) can sign in as it, so nobody may do so to an account holding rights beyond their own.
    """
    if account is None:
        return set()
    held = actor.roles if actor is not None else set()
    return account.roles - held - {Role.EMPLOYEE}


def can(actor: Account | None, action: Action | str, target=None) -> bool:
    """Answer whether `actor` may do `action` to `target`."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    action = Action(action)
    if action in HR_ACTIONS:
        return is_hr(actor)
    if action is Action.MANAGE_ROLES:
        return Role.ADMIN in actor.roles
    if action is Action.VIEW_RESULTS:
        return True
    if action is Action.MANAGE_RHK_TEMPLATES:
        # Without a target: whether the templates page is open to the actor at all; a position:
        # whether they may publish for it; a template: whether they may change or retire it (a
        # unit head only their own, since a template serves the position across the agency).
        if is_hr(actor):
            return True
        if target is None:
            return bool(headed_unit_ids(actor))
        if isinstance(target, RhkTemplate):
            return target.author_id == actor.id and target.position_id in template_position_ids(actor)
        return target.id in template_position_ids(actor)
    if action is Action.VIEW_EVALUATION:
        return is_hr(actor) or any(acts_as(actor, target, role) for role in PARTIES)
    if action is Action.VIEW_DIALOG:  # never HR as such, never colleagues
        return any(acts_as(actor, target, role) for role in PARTIES)
    if action is Action.VIEW_EMPLOYEE:
        if is_hr(actor) or actor.employee_id == target.id:
            return True
        return is_supervisor_of(actor, target) or is_second_level_of(actor, target)
    return False


def require(actor: Account | None, action: Action | str, target=None) -> None:
    """Abort with 403 unless `actor` may do `action` to `target`."""
    if not can(actor, action, target):
        abort(403)
