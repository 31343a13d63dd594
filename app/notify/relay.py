"""The mail relay: sends due outbox rows over one SMTP connection per batch.

Delivery guarantees (what can happen, exactly):
- A row is claimed (pending -> sending, attempts + 1) and committed *before* anything is sent,
  so two relays never send the same row: the claim is a conditional UPDATE and only one wins.
- Each message is marked sent and committed right after the SMTP server accepted it.
- If the process dies between the server's acceptance and that commit, the row stays
  "sending". After RELAY_LEASE_SECONDS the next run returns it to pending and sends it again:
  the recipient may then receive it twice. SMTP gives no way to ask a server whether it
  already has a message, so this window (one message per crash) is the least the protocol
  forces. Both copies carry the same Message-ID (built from the row's unique key), so mail
  clients that de-duplicate show one.
- A failure (server down, refused recipient) puts the row back to pending with exponential
  backoff (RELAY_BACKOFF_SECONDS * 2^(attempts-1), capped at six hours); after
  RELAY_MAX_ATTEMPTS attempts it is marked failed with the last error, for an admin to resend.
- With no MAIL_SERVER configured nothing is sent: rows stay pending and are shown on the
  admin outbox page.
"""

import hashlib
import smtplib
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_mail import Message

from app import clock
from app.extensions import db, mail
from app.models import MessageState, OutboxMessage

MAX_BACKOFF = timedelta(hours=6)


@dataclass
class RelayResult:
    """What one run did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0


def release_stale_claims() -> int:
    """Rows left "sending" by a relay that died go back to pending (see the module docstring)."""
    lease = timedelta(seconds=current_app.config["RELAY_LEASE_SECONDS"])
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.state == MessageState.SENDING, OutboxMessage.claimed_at < clock.utcnow() - lease)
        .values(state=MessageState.PENDING, claimed_at=None)
    )
    db.session.commit()
    return result.rowcount


def claim(batch_size: int) -> list[OutboxMessage]:
    """Claim up to `batch_size` due rows for this run (committed before sending)."""
    now = clock.utcnow()
    due = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.state == MessageState.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(batch_size)
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if not ids:
        db.session.commit()
        return []
    claimed = list(
        db.session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.state == MessageState.PENDING)
            .values(state=MessageState.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
        )
    )
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
        )
    )


def _message(row: OutboxMessage) -> Message:
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    message = Message(
        subject=row.subject,
        recipients=[row.to_address],
        body=row.body_text,
        html=row.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    # Deterministic: a resend after a crash carries the same Message-ID as the first copy.
    message.msgId = f"<kinerja.{row.id}.{hashlib.sha256(row.key.encode()).hexdigest()[:24]}@{domain}>"
    return message


def _give_back(row: OutboxMessage, error: str) -> bool:
    """Back to pending with backoff, or failed after the last attempt; True when it failed for good."""
    config = current_app.config
    row.last_error = error[:2000]
    row.claimed_at = None
    if row.attempts >= config["RELAY_MAX_ATTEMPTS"]:
        row.state = MessageState.FAILED
        return True
    delay = timedelta(seconds=config["RELAY_BACKOFF_SECONDS"] * 2 ** max(row.attempts - 1, 0))
    row.state = MessageState.PENDING
    row.next_attempt_at = clock.utcnow() + min(delay, MAX_BACKOFF)
    return False


def relay(batch_size: int | None = None) -> RelayResult:
    """Send what is due; safe to run often and from several processes."""
    result = RelayResult()
    if not current_app.config.get("MAIL_SERVER"):
        return result
    result.released = release_stale_claims()
    batch_size = batch_size or current_app.config["RELAY_BATCH_SIZE"]
    while True:
        rows = claim(batch_size)
        if not rows:
            return result
        result.claimed += len(rows)
        _send_batch(rows, result)
        if len(rows) < batch_size:
            return result


def _send_batch(rows: list[OutboxMessage], result: RelayResult) -> None:
    remaining = list(rows)
    try:
        with mail.connect() as connection:
            while remaining:
                row = remaining[0]
                try:
                    connection.send(_message(row))
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPDataError,
                    smtplib.SMTPSenderRefused,
                ) as exc:
                    result.failed += _give_back(row, f"{type(exc).__name__}: {exc}")
                    result.retried += row.state == MessageState.PENDING
                else:
                    row.state = MessageState.SENT
                    row.sent_at = clock.utcnow()
                    row.last_error = None
                    result.sent += 1
                remaining.pop(0)
                db.session.commit()
    except (OSError, smtplib.SMTPException) as exc:
        # The server is unreachable or dropped the connection: the rest wait for the next run.
        for row in remaining:
            failed = _give_back(row, f"{type(exc).__name__}: {exc}")
            result.failed += failed
            result.retried += not failed
        db.session.commit()


def resend(row: OutboxMessage) -> None:
    """An administrator queues a failed message again."""
    row.state = MessageState.PENDING
    row.attempts = 0
    row.next_attempt_at = clock.utcnow()
    row.last_error = None
    db.session.commit()
