"""Notifications: who must hear of a change, written to the outbox in the change's transaction.

`notify()` renders the Indonesian subject and both bodies now, so what would be sent can be
read on the outbox page even before any SMTP server is configured. The key makes a
notification idempotent: the same key is never queued twice.
"""

from flask import current_app
from flask_babel import force_locale
from markupsafe import escape

from app import clock
from app.extensions import db
from app.models import Account, Employee, MessageState, OutboxMessage

NAME_TOKEN = "\x1fnama\x1f"

SUBJECTS = {
    "cycle_opened": "Periode penilaian {cycle} dibuka",
    "targets_submitted": "SKP {employee} menunggu persetujuan Anda",
    "targets_approved": "SKP Anda ditetapkan",
    "targets_returned": "SKP Anda dikembalikan untuk diperbaiki",
    "assessment_opened": "Penilaian mandiri {cycle} dibuka",
    "assessment_submitted": "Penilaian mandiri {employee} menunggu penilaian Anda",
    "assessment_returned": "Penilaian mandiri Anda dikembalikan",
    "result_delivered": "Hasil penilaian kinerja Anda ({cycle})",
    "appeal_filed": "Keberatan dari {employee} menunggu keputusan Anda",
    "appeal_filed_hr": "Keberatan diajukan oleh {employee}",
    "explanation_requested": "Permintaan penjelasan atas keberatan {employee}",
    "appeal_decided": "Keputusan atas keberatan {employee}",
    "results_published": "Hasil penilaian kinerja {cycle} diumumkan",
    "deadline_extended": "Tenggat Anda diperpanjang ({cycle})",
    "appeal_escalated": "Keberatan {employee} melewati batas waktu keputusan",
    "password_reset": "Atur ulang kata sandi Kinerja ASN",
}


def build_message(kind: str, recipient, key: str, subject: str | None = None, **context) -> dict:
    """An outbox row (as a dict) for one person: subject, plain text and HTML, rendered now.

    Templates are rendered straight from the Jinja environment (no request context
    processors), which keeps bulk phase changes and reminder runs fast.
    """
    env = current_app.jinja_env
    context = {"recipient": recipient, "base_url": current_app.config["BASE_URL"].rstrip("/"), **context}
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        if subject is None:
            subject = SUBJECTS[kind].format(**{k: getattr(v, "name", v) for k, v in context.items()})
        text = env.get_template(f"email/{kind}.txt").render(**context)
        html = env.get_template("email/base.html").render(body=text, subject=subject)
    now = clock.utcnow()
    is_employee = isinstance(recipient, Employee)
    if recipient is _Addressee:  # a shared rendering: build_many fills in the person
        return {
            "kind": kind,
            "subject": subject[:300],
            "body_text": text,
            "body_html": html,
            "state": MessageState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
    return {
        "key": key,
        "kind": kind,
        "recipient_id": recipient.id if is_employee else recipient.employee_id,
        "to_address": recipient.email if is_employee else recipient.login_email,
        "subject": subject[:300],
        "body_text": text,
        "body_html": html,
        "state": MessageState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def notify(kind: str, recipient: "Employee | Account | None", key: str, **context) -> None:
    """Queue one email to one person (nothing when there is no recipient or the key is queued).

    The recipient is an employee, or an account (for mail about the account itself, such as a
    password reset, which also reaches system accounts without an employee record).
    """
    if recipient is None:
        return
    if not (recipient.is_active if isinstance(recipient, Account) else recipient.active):
        return
    if db.session.query(OutboxMessage.id).filter_by(key=key).first() is not None:
        return
    db.session.add(OutboxMessage(**build_message(kind, recipient, key, **context)))


class _Addressee:
    """Stands in for the recipient while a shared text is rendered once for many people."""

    name = NAME_TOKEN


def build_many(
    kind: str, recipients, key_of, subject: str | None = None, personal=None, **context
) -> list[dict]:
    """Outbox rows for many people; people whose `personal(person)` context is equal share one
    rendering, with only their name put in afterwards (bulk phase changes, reminder days)."""
    rendered: dict[str, dict] = {}
    rows = []
    for person in recipients:
        extra = personal(person) if personal else {}
        signature = repr(extra)
        if signature not in rendered:
            rendered[signature] = build_message(kind, _Addressee, "", subject, **context, **extra)
        shared = rendered[signature]
        rows.append(
            {
                **shared,
                "key": key_of(person),
                "recipient_id": person.id,
                "to_address": person.email,
                "body_text": shared["body_text"].replace(NAME_TOKEN, person.name),
                "body_html": shared["body_html"].replace(NAME_TOKEN, str(escape(person.name))),
            }
        )
    return rows


def notify_many(kind: str, recipients: list[Employee], key_prefix: str, **context) -> int:
    """Queue one email per active person in one executemany (bulk phase changes)."""
    rows = build_many(kind, [p for p in recipients if p.active], lambda p: f"{key_prefix}:{p.id}", **context)
    if rows:
        db.session.execute(db.insert(OutboxMessage), rows)
    return len(rows)
