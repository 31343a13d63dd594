"""Notifications: who must hear of a change, written to the outbox in the change's transaction.

`notify()` renders the Indonesian subject and both bodies now, so what would be sent can be
read on the outbox page even before any SMTP server is configured. The key makes a
notification idempotent: the same key is never queued twice.

Bodies live in `outbox_body`; messages that say the same words to many people (a phase change,
the employees' reminder digest) share one body with the name put in at sending
(`app.models.outbox.personalise`), so announcing a phase to 100 000 people writes one body and
100 000 narrow rows, in one INSERT ... SELECT.
"""

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from app import clock
from app.extensions import db
from app.models import Account, Employee, MessageState, OutboxBody, OutboxMessage
from app.models.outbox import NAME_TOKEN
from app.models.types import UTCDateTime

# Names are quoted and never follow a word they may start with: a cycle is often named
# "Penilaian Kinerja Tahunan 2027", and "Periode penilaian Penilaian ..." reads as a stutter.
SUBJECTS = {
    "cycle_opened": 'Periode "{cycle}" dibuka',
    "targets_submitted": "SKP {employee} menunggu persetujuan Anda",
    "targets_approved": "SKP Anda ditetapkan",
    "targets_returned": "SKP Anda dikembalikan untuk diperbaiki",
    "assessment_opened": 'Tahap penilaian mandiri dibuka: "{cycle}"',
    "assessment_submitted": "Penilaian mandiri {employee} menunggu penilaian Anda",
    "assessment_returned": "Penilaian mandiri Anda dikembalikan",
    "result_delivered": 'Hasil penilaian kinerja Anda: "{cycle}"',
    "appeal_filed": "Keberatan dari {employee} menunggu keputusan Anda",
    "appeal_filed_hr": "Keberatan diajukan oleh {employee}",
    "explanation_requested": "Permintaan penjelasan atas keberatan {employee}",
    "appeal_decided": "Keputusan atas keberatan {employee}",
    "results_published": 'Hasil penilaian diumumkan: "{cycle}"',
    "deadline_extended": "Tenggat Anda diperpanjang ({cycle})",
    "appeal_escalated": "Keberatan {employee} melewati batas waktu keputusan",
    "password_reset": "Atur ulang kata sandi Kinerja ASN",
    "reassigned": "Perubahan pejabat penilai kinerja Anda",
    "reassigned_official": "Perubahan penugasan Anda sebagai pejabat penilai",
    "not_rated": 'Penilaian kinerja Anda tidak dinilai: "{cycle}"',
    "peer_requested": "Permintaan masukan perilaku kerja untuk {employee}",
    "coaching_requested": "Bimbingan atau konseling untuk {employee} perlu dicatat",
}


def build_message(kind: str, recipient, key: str, subject: str | None = None, **context) -> dict:
    """An outbox row (as a dict) for one person: subject, and the body (plain text, HTML) rendered
    now; `queue()` writes it.

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
    row = {
        "kind": kind,
        "subject": subject[:300],
        "body": (text, html),
        "state": MessageState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    if recipient is not _Addressee:  # a shared rendering: the caller fills in the person
        row.update(
            key=key,
            recipient_id=recipient.id if is_employee else recipient.employee_id,
            to_address=recipient.email if is_employee else recipient.login_email,
        )
    return row


def _store_bodies(bodies: list[tuple[str, str]]) -> list[int]:
    """Insert bodies (text, HTML) in one executemany; their ids in the same order."""
    table = OutboxBody.__table__
    now = clock.utcnow()
    return list(
        db.session.scalars(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [{"body_text": text, "body_html": html, "created_at": now} for text, html in bodies],
        )
    )


def queue(rows: list[dict], *, ignore_duplicates: bool = False) -> None:
    """Write rows made by `build_message`/`build_digests`: each distinct body once, then the messages.

    With `ignore_duplicates` a key already queued (by a second scheduler at the same moment) is
    skipped instead of failing the transaction.
    """
    if not rows:
        return
    if db.engine.dialect.name == "postgresql":
        _copy_pg(rows, ignore_duplicates)
        return
    distinct = list(dict.fromkeys(row["body"] for row in rows))
    body_id = dict(zip(distinct, _store_bodies(distinct), strict=True))
    messages = [
        {**{k: v for k, v in row.items() if k != "body"}, "body_id": body_id[row["body"]]} for row in rows
    ]
    statement = sa.insert(OutboxMessage.__table__)
    if ignore_duplicates:
        from sqlalchemy.dialects.sqlite import insert

        statement = insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["key"])
    db.session.execute(statement, messages)


# PostgreSQL: the messages are copied into a temporary table first, so that the INSERT from it
# can skip a key already queued (COPY itself has no ON CONFLICT).
_NEW_MESSAGES = """
    CREATE TEMPORARY TABLE outbox_new (
        key varchar(200), kind varchar(40), recipient_id integer, to_address varchar(254),
        subject varchar(300), body_id integer
    ) ON COMMIT DROP
"""
_MESSAGES_FROM_NEW = """
    INSERT INTO outbox_message
        (key, kind, recipient_id, to_address, subject, body_id, state, attempts, next_attempt_at, created_at)
    SELECT key, kind, recipient_id, to_address, subject, body_id, %(state)s, 0, %(now)s, %(now)s
    FROM outbox_new
"""


def _copy_pg(rows: list[dict], ignore_duplicates: bool) -> None:
    """PostgreSQL: the distinct bodies, then the messages, each written with one COPY.

    A reminder day writes tens of thousands of messages and thousands of bodies; an INSERT of
    them (an executemany, or one JSON parameter) cost about twice what COPY does. The bodies'
    ids are taken from their sequence first, as many as there are bodies, so that the messages
    can point at them. Runs on the session's connection, in its transaction.
    """
    distinct = list(dict.fromkeys(row["body"] for row in rows))
    now = clock.utcnow()
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('outbox_body', 'id')) FROM generate_series(1, %s)",
            (len(distinct),),
        )
        body_id = dict(zip(distinct, [id_ for (id_,) in cursor.fetchall()], strict=True))
        with cursor.copy("COPY outbox_body (id, body_text, body_html, created_at) FROM STDIN") as copy:
            for (text, html), id_ in body_id.items():
                copy.write_row((id_, text, html, now))
        cursor.execute(_NEW_MESSAGES)
        with cursor.copy("COPY outbox_new FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    (
                        row["key"],
                        row["kind"],
                        row["recipient_id"],
                        row["to_address"],
                        row["subject"],
                        body_id[row["body"]],
                    )
                )
        conflict = " ON CONFLICT (key) DO NOTHING" if ignore_duplicates else ""
        cursor.execute(_MESSAGES_FROM_NEW + conflict, {"state": MessageState.PENDING.value, "now": now})
        cursor.execute("DROP TABLE outbox_new")


def notify(kind: str, recipient: "Employee | Account | None", key: str, **context) -> None:
    """Queue one email to one person (nothing when there is no recipient or the key is queued).

    The recipient is an employee, or an account (for mail about the account itself, such as a
    password reset, which also reaches system accounts without an employee record).
    """
    if recipient is None:
        return
    if not (recipient.is_active if isinstance(recipient, Account) else recipient.active):
        return
    if db.engine.dialect.name == "postgresql":  # one round trip instead of three (a request's share)
        _queue_one_pg(build_message(kind, recipient, key, **context))
        return
    if db.session.query(OutboxMessage.id).filter_by(key=key).first() is not None:
        return
    queue([build_message(kind, recipient, key, **context)])


# One email's body and message in one round trip (PostgreSQL). Plain SQL: this runs in many a
# request, and the equivalent ORM construct (an INSERT ... RETURNING as a CTE) took longer to
# compile on each call than the database took to run it.
_QUEUE_ONE = sa.text(
    """
    WITH body AS (
        INSERT INTO outbox_body (body_text, body_html, created_at)
        SELECT :body_text, :body_html, :created_at
        WHERE NOT EXISTS (SELECT 1 FROM outbox_message WHERE key = :key)
        RETURNING id
    )
    INSERT INTO outbox_message
        (key, kind, recipient_id, to_address, subject, body_id, state, attempts, next_attempt_at, created_at)
    SELECT :key, :kind, :recipient_id, :to_address, :subject, body.id, :state, 0, :created_at, :created_at
    FROM body
    ON CONFLICT (key) DO NOTHING
    """
).bindparams(sa.bindparam("created_at", type_=UTCDateTime()))


def _queue_one_pg(row: dict) -> None:
    """PostgreSQL: one email's body and message in one statement; nothing when its key is queued.

    Two requests queueing the same key at the same moment both pass the NOT EXISTS; the second
    message is then skipped by ON CONFLICT and its body stays unreferenced (harmless)."""
    text, html = row["body"]
    db.session.execute(
        _QUEUE_ONE,
        {
            "body_text": text,
            "body_html": html,
            "created_at": row["created_at"],
            "key": row["key"],
            "kind": row["kind"],
            "recipient_id": row["recipient_id"],
            "to_address": row["to_address"],
            "subject": row["subject"],
            "state": MessageState.PENDING.value,
        },
    )


class _Addressee:
    """Stands in for the recipient while a shared text is rendered once for many people."""

    name = NAME_TOKEN


# Stands for a digest's items while its template is rendered once for all recipients.
ITEMS_TOKEN = "\x1fitems\x1f"


def _halves(rendered: str) -> tuple[str, str]:
    """What a rendering holds before and after ITEMS_TOKEN (which it must hold exactly once)."""
    head, token, tail = rendered.partition(ITEMS_TOKEN)
    if not token or ITEMS_TOKEN in tail:
        raise ValueError("the digest template must show {{ items }} exactly once")
    return head, tail


def build_digests(
    kind: str, recipients, key_of, subject: str, items_of, *, html_of: dict | None = None, **context
) -> list[dict]:
    """Outbox rows for many people, each an email of the `kind` template around their own items
    (reminder days): `items_of(person)` is a tuple of rendered items, each starting with a line
    break, that the template shows as `{{ items }}`.

    The template and the HTML page around it are rendered once, around ITEMS_TOKEN; a person's
    text is the two halves around their items joined, and the HTML the HTML halves around each
    item made HTML once (`linkify`, the filter base.html applies). That is byte for byte what a
    rendering per person gives, because no web address spans a line break, so `linkify` of the
    whole text is `linkify` of its pieces when each piece begins with one
    (tests/test_reminder_digest_render.py compares the two). People with equal items share one
    body, their name put in when it is sent. `html_of` may give items' HTML already known.
    """
    frame = build_message(kind, _Addressee, "", subject, items=ITEMS_TOKEN, **context)
    text_head, text_tail = _halves(frame["body"][0])
    html_head, html_tail = _halves(frame["body"][1])
    linkify = current_app.jinja_env.filters["linkify"]
    html_of = html_of if html_of is not None else {}
    shared: dict[tuple, dict] = {}
    rows = []
    for person in recipients:
        items = items_of(person)
        row = shared.get(items)
        if row is None:
            for item in items:
                if item not in html_of:
                    html_of[item] = str(linkify(item))
            text = "".join((text_head, *items, text_tail))
            html = "".join((html_head, *[html_of[item] for item in items], html_tail))
            row = shared[items] = {**frame, "body": (text, html)}
        rows.append({**row, "key": key_of(person), "recipient_id": person.id, "to_address": person.email})
    return rows


def notify_many(kind: str, people: sa.Select, key_prefix: str, **context) -> int:
    """Queue one email to every active employee whose id `people` selects, set-based: one shared
    body, and the messages in one INSERT ... SELECT (bulk phase changes). Returns the count."""
    shared = build_message(kind, _Addressee, "", **context)
    body_id = _store_bodies([shared["body"]])[0]
    now = sa.literal(clock.utcnow(), UTCDateTime())
    rows = sa.select(
        sa.literal(f"{key_prefix}:", sa.String) + sa.cast(Employee.id, sa.String),
        sa.literal(kind, sa.String),
        Employee.id,
        Employee.email,
        sa.literal(shared["subject"], sa.String),
        sa.literal(body_id, sa.Integer),
        sa.literal(MessageState.PENDING.value, sa.String),
        sa.literal(0, sa.Integer),
        now,
        now,
    ).where(Employee.id.in_(people), Employee.active)
    # RETURNING gives the count: psycopg's rowcount for an INSERT ... SELECT is not reliable.
    table = OutboxMessage.__table__
    inserted = db.session.execute(
        sa.insert(table)
        .from_select(
            [
                "key",
                "kind",
                "recipient_id",
                "to_address",
                "subject",
                "body_id",
                "state",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            rows,
        )
        .returning(table.c.id)
    )
    return len(inserted.all())
