"""The outbox: every notification is a row written in the transaction of its cause."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db
from app.models.people import _enum
from app.models.types import UTCDateTime


class MessageState(enum.StrEnum):
    """Delivery state of an outbox row."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    """One email to one person; `key` makes the same notification impossible to queue twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_pending", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[MessageState] = mapped_column(
        _enum(MessageState, "message_state", 8), default=MessageState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
