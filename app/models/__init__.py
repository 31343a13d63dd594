"""The tables, one module per concept; importing this package registers them all."""

from app.models.audit import AuditEvent
from app.models.cycle import (
    Cycle,
    CycleKind,
    CycleState,
    DistributionBand,
    PublicationMode,
    UnitPredikat,
    cycle_unit,
)
from app.models.documents import DocumentBundle
from app.models.evaluation import (
    Appeal,
    AppealOutcome,
    BehaviourNote,
    Comment,
    Evaluation,
    EvaluationState,
    Evidence,
    Indicator,
    Rhk,
    RhkKind,
)
from app.models.jobs import JobDay
from app.models.org import CreditJenjang, OrgUnit, Position, PositionKind
from app.models.outbox import MessageState, OutboxBody, OutboxMessage
from app.models.people import Account, AccountRole, Employee, EmploymentType, PasswordResetToken, Role
from app.models.reassignment import ReassignedRole, Reassignment

__all__ = [
    "Appeal",
    "AppealOutcome",
    "BehaviourNote",
    "Comment",
    "Cycle",
    "CycleKind",
    "CycleState",
    "DistributionBand",
    "DocumentBundle",
    "Evaluation",
    "EvaluationState",
    "Evidence",
    "Indicator",
    "JobDay",
    "MessageState",
    "OutboxBody",
    "OutboxMessage",
    "PasswordResetToken",
    "PublicationMode",
    "ReassignedRole",
    "Reassignment",
    "Rhk",
    "RhkKind",
    "UnitPredikat",
    "cycle_unit",
    "Account",
    "AccountRole",
    "AuditEvent",
    "Employee",
    "EmploymentType",
    "OrgUnit",
    "CreditJenjang",
    "Position",
    "PositionKind",
    "Role",
]
