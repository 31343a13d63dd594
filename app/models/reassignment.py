"""Reassignments: HR moves the rater or the appeal handler of evaluations in flight (Plt./Plh., mutasi).

One row per evaluation and role; a bulk decision writes its rows under one `batch`. A row with
`until` is temporary (a Plh.): when it passes, the scheduled job gives the role back to
`back_to_id` and sets `ended_at`. A later reassignment of the same evaluation and role ends the
open one (`ended_at`) and takes over its `back_to_id` when it is temporary too.
"""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.people import Account, Employee
from app.models.types import UTCDateTime


class ReassignedRole(enum.StrEnum):
    """Which of the evaluation's officials is moved (the evaluation's column of the same name)."""

    RATER = "rater"
    APPEAL_HANDLER = "appeal_handler"

    @property
    def column(self) -> str:
        """The evaluation's column holding this official."""
        return f"{self.value}_id"


class Reassignment(db.Model):
    """The rater or appeal handler of one evaluation moved from one person to another by HR."""

    __tablename__ = "reassignment"
    __table_args__ = (
        sa.Index("ix_reassignment_evaluation", "evaluation_id", "role"),
        # The scheduled job's look-up: temporary reassignments still running.
        sa.Index(
            "ix_reassignment_running",
            "until",
            postgresql_where=sa.text("ended_at IS NULL AND until IS NOT NULL"),
            sqlite_where=sa.text("ended_at IS NULL AND until IS NOT NULL"),
        ),
        sa.CheckConstraint("role IN ('rater', 'appeal_handler')", name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(sa.String(32), index=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16))
    from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"))
    to_id: Mapped[int] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    back_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    from_employee: Mapped[Employee | None] = relationship(foreign_keys=[from_id])
    to_employee: Mapped[Employee] = relationship(foreign_keys=[to_id])
    back_to: Mapped[Employee | None] = relationship(foreign_keys=[back_to_id])
    created_by: Mapped[Account | None] = relationship()
