"""Secrets put into an email at the moment it is sent, never stored.

A password-reset email is queued with a marker where the link goes (`secret_marker`). When
the relay sends it, `fill_secrets` makes a fresh random token, stores only its SHA-256 with an
expiry, commits that, and writes the link into the copy that leaves for the SMTP server. The
outbox row keeps the marker, so the outbox page, a database dump or a backup never show a
usable link. A message sent twice after a crash carries two different links; each works once,
and using one ends the others (see `app.services.accounts.reset_password`).
"""

import secrets
from dataclasses import replace
from datetime import timedelta

from flask import current_app
from markupsafe import escape

from app import clock
from app.extensions import db
from app.models import Account, PasswordResetToken
from app.models.outbox import REDACTED, SECRET_MARKER


def new_reset_link(account_id: int, to_address: str) -> str:
    """A reset link for the account; only the hash of its token is added to the session.

    Only for an active account whose own sign-in address the email goes to: a marker that found
    its way into another message makes no link.
    """
    account = db.session.get(Account, account_id)
    if account is None or not account.is_active or (account.login_email or "").lower() != to_address.lower():
        return REDACTED
    token = secrets.token_urlsafe(32)
    now = clock.utcnow()
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    db.session.add(
        PasswordResetToken(
            account_id=account_id,
            token_hash=PasswordResetToken.digest(token),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return f"{current_app.config['BASE_URL'].rstrip('/')}/password/reset/{token}"


MAKERS = {"password_reset": new_reset_link}


def fill_secrets(message):
    """The outgoing message with its secrets made and written in (committed before sending).

    `message` is the relay's `Outgoing`; one without markers comes back as it is.
    """
    if "\x1fsecret:" not in message.body_text:
        return message
    made: dict[str, str] = {}
    for match in SECRET_MARKER.finditer(message.body_text):
        purpose, account_id = match.group(1), int(match.group(2))
        if match.group(0) not in made and purpose in MAKERS:
            made[match.group(0)] = MAKERS[purpose](account_id, message.to_address)
    db.session.commit()
    text, html = message.body_text, message.body_html
    for marker, value in made.items():
        text = text.replace(marker, value)
        html = html.replace(marker, str(escape(value)))
    return replace(message, body_text=text, body_html=html)
