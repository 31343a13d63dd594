"""The tables, one module per concept; importing this package registers them all."""

from app.models.audit import AuditEvent
from app.models.org import OrgUnit, Position, PositionKind
from app.models.people import Account, AccountRole, Employee, EmploymentType, Role

__all__ = [
    "Account",
    "AccountRole",
    "AuditEvent",
    "Employee",
    "EmploymentType",
    "OrgUnit",
    "Position",
    "PositionKind",
    "Role",
]
