"""The audit trail: one row per change or sign-in event, written in the same transaction."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.people import Account
from app.models.types import UTCDateTime


class AuditEvent(db.Model):
    """Who did what to which record, when, with the state before and after."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_object", "object_type", "object_id"),
        # The audit log lists newest first (by id) within a person or an action.
        sa.Index("ix_audit_event_actor", "actor_id", "id"),
        sa.Index("ix_audit_event_action", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(40))
    to_state: Mapped[str | None] = mapped_column(sa.String(40))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    actor: Mapped[Account | None] = relationship()
