"""The mail relay: sends due outbox rows over one SMTP connection per batch.

Delivery guarantees (what can happen, exactly):
- A row is claimed (pending -> sending, attempts + 1, claimed_at = the claim's instant) and
  committed *before* anything is sent, so two relays never send the same row: the claim is a
  conditional UPDATE and only one wins.
- Each message is marked sent and committed right after the SMTP server accepted it.
- A claim is a lease of RELAY_LEASE_SECONDS (45 s). While a batch is being sent the relay
  renews the lease of the rows it has not sent yet whenever its last renewal is a third of the
  lease old, before the next message; the renewal is conditional on the row still carrying this
  relay's claim, so it also tells a relay that stalled past its lease which rows another relay
  has taken since: it drops them unsent. A crashed relay stops renewing, so its unsent rows
  go back to pending at most RELAY_LEASE_SECONDS after the crash (the next run returns them),
  however large the batch was.
- If the process dies between the server's acceptance and the "sent" commit, that one row stays
  "sending" and is sent again after the lease: the recipient may then receive it twice. The same
  holds for a relay whose single SMTP exchange outlasts the lease: only the message in flight can
  be doubled, never the rest of its batch. SMTP gives no way to ask a server whether it already
  has a message, so this window (one message per crash) is the least the protocol forces. Both
  copies carry the same Message-ID (built from the row's unique key), so mail clients that
  de-duplicate show one.
- A failure (server down, refused recipient) puts the row back to pending with exponential
  backoff (RELAY_BACKOFF_SECONDS * 2^(attempts-1), capped at six hours); after
  RELAY_MAX_ATTEMPTS attempts it is marked failed with the last error, for an admin to resend.
- With no MAIL_SERVER configured nothing is sent: rows stay pending and are shown on the
  admin outbox page.
"""

import hashlib
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import formatdate

import sqlalchemy as sa
from flask import current_app
from flask_mail import Connection

from app import clock
from app.extensions import db
from app.models import Employee, MessageState, OutboxBody, OutboxMessage
from app.models.outbox import personalise
from app.notify.secret_links import fill_secrets

MAX_BACKOFF = timedelta(hours=6)
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP
SMTP_POLICY = compat32.clone(linesep="\r\n")  # SMTP wants CRLF; smtplib does not convert bytes


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


@dataclass
class Outgoing:
    """A claimed row, as plain values (no ORM reloads between per-message commits)."""

    id: int
    key: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    attempts: int


@dataclass
class Batch:
    """Claimed rows not sent yet, and the claim stamp they carry (their lease, renewed as they go)."""

    messages: list[Outgoing]
    stamp: datetime


def claim(batch_size: int) -> Batch:
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
        return Batch([], now)
    claimed = list(
        db.session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.state == MessageState.PENDING)
            .values(state=MessageState.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
        )
    )
    rows = db.session.execute(
        sa.select(
            OutboxMessage.id,
            OutboxMessage.key,
            OutboxMessage.to_address,
            OutboxMessage.subject,
            OutboxBody.body_text,
            OutboxBody.body_html,
            OutboxMessage.attempts,
            Employee.name,
        )
        .join(OutboxBody, OutboxBody.id == OutboxMessage.body_id)
        .outerjoin(Employee, Employee.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.id.in_(claimed))
        .order_by(OutboxMessage.id)
    ).all()
    db.session.commit()
    return Batch(
        [
            Outgoing(
                id_, key, to, subject, personalise(text, name), personalise(html, name, html=True), attempts
            )
            for id_, key, to, subject, text, html, attempts, name in rows
        ],
        now,
    )


def _renew(batch: Batch) -> None:
    """Extend the lease of the batch's unsent rows; drop those another relay took after our lease ran out."""
    now = clock.utcnow()
    ours = set(
        db.session.scalars(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id.in_([message.id for message in batch.messages]),
                OutboxMessage.state == MessageState.SENDING,
                OutboxMessage.claimed_at == batch.stamp,
            )
            .values(claimed_at=now)
            .returning(OutboxMessage.id)
        )
    )
    db.session.commit()
    batch.messages = [message for message in batch.messages if message.id in ours]
    batch.stamp = now


def mime(message: Outgoing) -> bytes:
    """The message as sent: multipart/alternative (plain text and HTML), UTF-8.

    The Message-ID is derived from the row's unique key, so a copy resent after a crash carries
    the same Message-ID as the first.
    """
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    domain = sender.rpartition("@")[2] or "localhost"
    envelope = MIMEMultipart("alternative")
    envelope["Subject"] = Header(message.subject, "utf-8")
    envelope["From"] = sender
    envelope["To"] = message.to_address
    envelope["Date"] = formatdate(localtime=False)
    envelope["Message-ID"] = (
        f"<kinerja.{message.id}.{hashlib.sha256(message.key.encode()).hexdigest()[:24]}@{domain}>"
    )
    for subtype, body in (("plain", message.body_text), ("html", message.body_html)):
        part = MIMENonMultipart("text", subtype)
        part.set_payload(body, charset=UTF8_QP)  # quoted-printable keeps every line short
        envelope.attach(part)
    return envelope.as_bytes(policy=SMTP_POLICY)


MARK_SENT = (
    sa.update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == sa.bindparam("message_id"))
    .values(state=MessageState.SENT.value, sent_at=sa.bindparam("sent_at"), last_error=None, claimed_at=None)
)


def _mark_sent(message: Outgoing) -> None:
    """Record one accepted message at once (a Core statement: this runs once per message)."""
    db.session.connection().execute(MARK_SENT, {"message_id": message.id, "sent_at": clock.utcnow()})
    db.session.commit()


def _give_back(message: Outgoing, stamp: datetime, error: str) -> bool:
    """Back to pending with backoff, or failed after the last attempt; True when it failed for good.

    Only while the row still carries our claim: one taken by another relay is theirs now.
    """
    config = current_app.config
    values = {"last_error": error[:2000], "claimed_at": None}
    failed = message.attempts >= config["RELAY_MAX_ATTEMPTS"]
    if failed:
        values["state"] = MessageState.FAILED
    else:
        delay = timedelta(seconds=config["RELAY_BACKOFF_SECONDS"] * 2 ** max(message.attempts - 1, 0))
        values.update(state=MessageState.PENDING, next_attempt_at=clock.utcnow() + min(delay, MAX_BACKOFF))
    db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.state == MessageState.SENDING,
            OutboxMessage.claimed_at == stamp,
        )
        .values(**values)
    )
    return failed


def relay(batch_size: int | None = None) -> RelayResult:
    """Send what is due; safe to run often and from several processes."""
    result = RelayResult()
    if not current_app.config.get("MAIL_SERVER"):
        return result
    result.released = release_stale_claims()
    batch_size = batch_size or current_app.config["RELAY_BATCH_SIZE"]
    while True:
        batch = claim(batch_size)
        if not batch.messages:
            return result
        claimed = len(batch.messages)
        result.claimed += claimed
        _send_batch(batch, result)
        if claimed < batch_size:
            return result


class _TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout: a mail server that accepts and then never
    answers costs the relay RELAY_SMTP_TIMEOUT seconds, not the rest of its life."""

    def configure_host(self) -> smtplib.SMTP:
        """Connect, greet, TLS and log in, each step bounded by the timeout."""
        timeout = current_app.config["RELAY_SMTP_TIMEOUT"]
        kind = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = kind(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def _send_batch(batch: Batch, result: RelayResult) -> None:
    """Send a claimed batch over one SMTP connection, renewing its lease as it goes."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    renew_after = timedelta(seconds=current_app.config["RELAY_LEASE_SECONDS"] / 3)
    try:
        with _TimedConnection(current_app.extensions["mail"]) as connection:
            while batch.messages:
                if clock.utcnow() - batch.stamp >= renew_after:
                    _renew(batch)
                    if not batch.messages:
                        break
                message = batch.messages[0]
                try:
                    # A reset link is made now, so it exists only in the email that leaves.
                    outgoing = fill_secrets(message)
                    connection.host.sendmail(sender, [message.to_address], mime(outgoing))
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPDataError,
                    smtplib.SMTPSenderRefused,
                ) as exc:
                    failed = _give_back(message, batch.stamp, f"{type(exc).__name__}: {exc}")
                    result.failed += failed
                    result.retried += not failed
                    db.session.commit()
                else:
                    _mark_sent(message)
                    result.sent += 1
                batch.messages.pop(0)
    except (OSError, smtplib.SMTPException) as exc:
        # The server is unreachable or dropped the connection: the rest wait for the next run.
        for message in batch.messages:
            failed = _give_back(message, batch.stamp, f"{type(exc).__name__}: {exc}")
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
