"""The outbox: every notification is a row written in the transaction of its cause."""

import enum
import re
from datetime import datetime

import sqlalchemy as sa
from markupsafe import escape
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


# Stands for the recipient's name in a body rendered once for many people; the relay and the
# outbox page put the name in (see `personalise`).
NAME_TOKEN = "\x1fnama\x1f"


def personalise(text: str, name: str | None, *, html: bool = False) -> str:
    """A shared body with the recipient's name put in (escaped for HTML)."""
    if NAME_TOKEN not in text:
        return text
    name = name or ""
    return text.replace(NAME_TOKEN, str(escape(name)) if html else name)


# Stands for a secret (a password-reset link) that only the addressee may read. The body keeps
# this marker; the relay makes the secret when it sends the email (`app.notify.secret_links`),
# and every other reader of the outbox sees `REDACTED` instead.
SECRET_MARKER = re.compile("\x1fsecret:([a-z_]+):([0-9]+)\x1f")
REDACTED = "[tautan rahasia: hanya dikirim ke penerima, tidak disimpan]"


def secret_marker(purpose: str, account_id: int) -> str:
    """The marker a template puts where the relay writes a secret for this account."""
    return f"\x1fsecret:{purpose}:{account_id}\x1f"


def redact(text: str) -> str:
    """The body as anyone but the addressee may read it."""
    return SECRET_MARKER.sub(REDACTED, text) if "\x1fsecret:" in text else text


class OutboxBody(db.Model):
    """The rendered text and HTML of one or more messages.

    A phase change announces the same words to a hundred thousand people: the body is stored
    once and each message row points at it, with the name put in when it is sent or shown.
    """

    __tablename__ = "outbox_body"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)


class OutboxMessage(db.Model):
    """One email to one person; `key` makes the same notification impossible to queue twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_pending", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    # Indexed so that bodies can be purged with their messages (a foreign-key check per body).
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox_body.id"), index=True)
    state: Mapped[MessageState] = mapped_column(
        _enum(MessageState, "message_state", 8), default=MessageState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    body: Mapped[OutboxBody] = relationship(lazy="joined", innerjoin=True)
    recipient = relationship("Employee")

    @property
    def body_text(self) -> str:
        """The plain-text body as this recipient gets it, secrets redacted."""
        return redact(personalise(self.body.body_text, self.recipient.name if self.recipient else None))

    @property
    def body_html(self) -> str:
        """The HTML body as this recipient gets it, secrets redacted."""
        return redact(
            personalise(self.body.body_html, self.recipient.name if self.recipient else None, html=True)
        )
