"""Benchmark: opening a cycle, enqueueing reminder digests, and the mail relay's throughput.

    .venv/bin/python -m bench.notify [N ...] [--database-url URL] [--relay-messages M]

For each N: a synthetic agency of N employees; open an annual cycle (N evaluations, N audit
rows, N emails); then, on a reminder day, enqueue one digest per person who still has to act,
printed beside the floor: a raw executemany INSERT of the same rows. Then the relay sends M
messages to a local aiosmtpd over one connection, beside the floor: plain smtplib sending the
same messages on one connection.
"""

import argparse
import smtplib
import socket
from datetime import timedelta

import sqlalchemy as sa

from app import clock  # noqa: E402
from app.extensions import db  # noqa: E402
from app.jobs.reminders import send_reminders  # noqa: E402
from app.models import Cycle, OrgUnit, OutboxBody, OutboxMessage  # noqa: E402
from app.notify.relay import relay  # noqa: E402
from app.workflow import cycles  # noqa: E402
from bench.common import fresh_app, load_agency, timed


def open_cycle(n: int):
    """Create and open an annual cycle over the whole agency; returns it."""
    root = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
    start = clock.now()
    cycle = cycles.save_cycle(
        None,
        {
            "name": "SKP 2027",
            "kind": "annual",
            "year": 2027,
            "period": None,
            "annual_cycle_id": None,
            "unit_ids": [root.id],
            "target_deadline": start + timedelta(days=30),
            "assessment_deadline": start + timedelta(days=60),
            "review_deadline": start + timedelta(days=80),
            "appeal_deadline": start + timedelta(days=110),
            "appeal_window_days": 14,
            "appeal_decision_days": 14,
        },
        None,
    )
    covered = timed(f"open a cycle for {n} employees", lambda: cycles.open_cycle(cycle, None))[0]
    print(f"    ({covered} evaluations created)")
    return cycle


def reminder_benchmark(cycle: Cycle) -> None:
    """Enqueue the digests of a reminder day, then the same rows with a raw INSERT."""
    day = (cycle.target_deadline.astimezone(clock.tz()) - timedelta(days=7)).replace(hour=9)
    clock.travel_to(day)
    count, elapsed = timed("enqueue reminder digests", send_reminders)
    messages = OutboxMessage.__table__
    bodies = OutboxBody.__table__
    digest = messages.c.kind == "reminder_digest"
    rows = [dict(r) for r in db.session.execute(sa.select(messages).where(digest)).mappings()]
    body_rows = [
        dict(r)
        for r in db.session.execute(
            sa.select(bodies).where(bodies.c.id.in_(sa.select(messages.c.body_id).where(digest)))
        ).mappings()
    ]
    db.session.execute(sa.delete(messages).where(digest))
    db.session.execute(sa.delete(bodies).where(bodies.c.id.in_([b["id"] for b in body_rows])))
    db.session.commit()

    def floor():
        db.session.execute(sa.insert(bodies), body_rows)
        db.session.execute(sa.insert(messages), rows)
        db.session.commit()

    _, floor_time = timed("floor: executemany INSERT of the same rows", floor)
    print(f"    {count} digests; {elapsed / floor_time:.1f}x the floor; {count / elapsed:,.0f} digests/s")
    clock.reset()


def relay_benchmark(app, messages: int) -> None:
    """The relay's throughput to a local aiosmtpd, beside plain smtplib on one connection."""
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            Sink.count += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, RELAY_BATCH_SIZE=500)
        app.extensions["mail"].server, app.extensions["mail"].port = "127.0.0.1", port
        db.session.execute(sa.update(OutboxMessage).values(state="sent"))
        ids = db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id).limit(messages)).all()
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(state="pending", attempts=0, next_attempt_at=clock.utcnow())
        )
        db.session.commit()
        result, elapsed = timed(f"relay {len(ids)} messages", relay)
        sent = result.sent
        from app.notify.relay import Outgoing, mime

        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
        prepared = [
            (r.to_address, mime(Outgoing(r.id, r.key, r.to_address, r.subject, r.body_text, r.body_html, 1)))
            for r in rows
        ]

        def floor():
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for to, data in prepared:
                    smtp.sendmail("kinerja@localhost", [to], data)

        _, floor_time = timed("floor: smtplib, same messages, one connection", floor)
        print(
            f"    relay {sent / elapsed:,.0f} msg/s, floor {len(prepared) / floor_time:,.0f} msg/s, "
            f"{elapsed / floor_time:.1f}x the floor"
        )
    finally:
        controller.stop()


def main() -> None:
    """Run the benchmark for each N."""
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--relay-messages", type=int, default=2000)
    args = parser.parse_args()
    for n in args.sizes:
        app = fresh_app(args.database_url)
        print(f"N = {n} on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}", flush=True)
        with app.app_context():
            timed(f"import {n} employees (setup)", lambda n=n: load_agency(n))
            cycle = open_cycle(n)
            reminder_benchmark(cycle)
            relay_benchmark(app, min(args.relay_messages, n))


if __name__ == "__main__":
    main()
