"""Notifications: who must hear of a change, written to the outbox in the change's transaction.

`notify()` renders the Indonesian subject and both bodies now, so what would be sent can be
read on the outbox page even before any SMTP server is configured. The key makes a
notification idempotent: the same key is never queued twice.
"""

from flask import current_app, render_template
from flask_babel import force_locale

from app import clock
from app.extensions import db
from app.models import Account, Employee, OutboxMessage

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


def _message(kind: str, recipient: Employee, key: str, context: dict) -> dict:
    context = {"recipient": recipient, "base_url": current_app.config["BASE_URL"].rstrip("/"), **context}
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = SUBJECTS[kind].format(**{k: getattr(v, "name", v) for k, v in context.items()})
        text = render_template(f"email/{kind}.txt", **context)
        html = render_template("email/base.html", body=text, subject=subject, **context)
    return {
        "key": key,
        "kind": kind,
        "recipient_id": recipient.id if isinstance(recipient, Employee) else recipient.employee_id,
        "to_address": recipient.email if isinstance(recipient, Employee) else recipient.login_email,
        "subject": subject[:300],
        "body_text": text,
        "body_html": html,
        "next_attempt_at": clock.utcnow(),
        "created_at": clock.utcnow(),
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
    db.session.add(OutboxMessage(**_message(kind, recipient, key, context)))


def notify_many(kind: str, recipients: list[Employee], key_prefix: str, **context) -> int:
    """Queue one email per person in one executemany (bulk phase changes)."""
    rows = [
        _message(kind, person, f"{key_prefix}:{person.id}", context) for person in recipients if person.active
    ]
    if rows:
        db.session.execute(db.insert(OutboxMessage), rows)
    return len(rows)
