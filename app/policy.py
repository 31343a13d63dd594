"""The one policy module: may this person do this to that record?

Every route asks `require()` (or `can()` in templates). Employees see their own data,
supervisors their team (and the team's team, as appeal handler), HR everything in the agency.
"""

import enum

from flask import abort

from app.models import Account, Employee, Role


class Action(enum.StrEnum):
    """What can be asked of the policy."""

    VIEW_EMPLOYEE = "employee.view"
    VIEW_PEOPLE_LIST = "people.list"
    MANAGE_PEOPLE = "people.manage"
    MANAGE_ORG = "org.manage"
    MANAGE_ROLES = "account.roles"
    VIEW_AUDIT = "audit.view"


HR_ACTIONS = {
    Action.VIEW_PEOPLE_LIST,
    Action.MANAGE_PEOPLE,
    Action.MANAGE_ORG,
    Action.VIEW_AUDIT,
}


def is_hr(actor: Account | None) -> bool:
    """HR officers and administrators manage the agency's people."""
    return actor is not None and bool(actor.roles & {Role.HR, Role.ADMIN})


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


def can(actor: Account | None, action: Action | str, target=None) -> bool:
    """Answer whether `actor` may do `action` to `target`."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    action = Action(action)
    if action in HR_ACTIONS:
        return is_hr(actor)
    if action is Action.MANAGE_ROLES:
        return Role.ADMIN in actor.roles
    if action is Action.VIEW_EMPLOYEE:
        if is_hr(actor) or actor.employee_id == target.id:
            return True
        return is_supervisor_of(actor, target) or is_second_level_of(actor, target)
    return False


def require(actor: Account | None, action: Action | str, target=None) -> None:
    """Abort with 403 unless `actor` may do `action` to `target`."""
    if not can(actor, action, target):
        abort(403)
