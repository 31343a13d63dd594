"""The outbox relay against a real SMTP server: delivery, outage, permanent failure, crash."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app import clock
from app.models import MessageState, OutboxMessage
from app.notify import notify
from app.notify.relay import relay, resend
from tests.conftest import login, post_form


def queue(db, make, n=3):
    people = [make.employee(f"Penerima {i}") for i in range(n)]
    for person in people:
        notify(
            "deadline_extended",
            person,
            f"test:{person.id}",
            cycle=type("C", (), {"name": "SKP 2027"})(),
            evaluation=type("E", (), {"id": 7})(),
            until=clock.now(),
            reason="Sakit",
        )
    db.session.commit()
    return people


def rows(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_messages_arrive_with_recipients_subject_and_both_bodies(app, db, make, smtp_server):
    people = queue(db, make)
    result = relay()
    assert result.sent == 3
    assert sorted(to[0] for to, _m in smtp_server.messages) == sorted(p.email for p in people)
    to, message = smtp_server.messages[0]
    assert message["Subject"] == "Tenggat Anda diperpanjang (SKP 2027)"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Alasan: Sakit" in text and "Yth." in text
    assert "<html" in html and "Alasan: Sakit" in html
    assert "http://127.0.0.1:5000/evaluations/7" in text
    assert all(row.state == MessageState.SENT and row.sent_at for row in rows(db))
    assert relay().sent == 0  # nothing twice


def test_no_smtp_server_configured_keeps_mail_in_the_outbox(app, db, make, client, hr):
    queue(db, make, 1)
    app.config["MAIL_SERVER"] = ""
    assert relay().sent == 0
    assert rows(db)[0].state == MessageState.PENDING
    login(client, hr.nip)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Server SMTP belum dikonfigurasi" in page and "Tenggat Anda diperpanjang" in page


def test_smtp_down_nothing_lost_retried_with_backoff_then_delivered(app, db, make, smtp_server):
    clock.travel_to(clock.now())
    queue(db, make, 2)
    smtp_server.controller.stop()
    first = relay()
    assert first.sent == 0 and first.retried == 2
    after_one = rows(db)
    assert all(r.state == MessageState.PENDING and r.attempts == 1 and r.last_error for r in after_one)
    backoff_1 = after_one[0].next_attempt_at - clock.utcnow()
    assert backoff_1 == timedelta(seconds=app.config["RELAY_BACKOFF_SECONDS"])
    assert relay().claimed == 0  # not due yet
    clock.advance(backoff_1)
    relay()
    backoff_2 = rows(db)[0].next_attempt_at - clock.utcnow()
    assert backoff_2 == 2 * backoff_1  # exponential

    restarted = Controller(smtp_server, hostname="127.0.0.1", port=app.config["MAIL_PORT"])
    restarted.start()
    try:
        clock.advance(backoff_2)
        assert relay().sent == 2
    finally:
        restarted.stop()
    assert len(smtp_server.messages) == 2
    assert all(r.state == MessageState.SENT for r in rows(db))


def test_a_message_that_always_fails_ends_failed_with_its_error_and_can_be_resent(app, db, make, smtp_server):
    clock.travel_to(clock.now())
    app.config["RELAY_MAX_ATTEMPTS"] = 3
    people = queue(db, make, 2)
    smtp_server.refuse.add(people[0].email)
    for _ in range(3):
        relay()
        clock.advance(timedelta(hours=7))
    bad, good = rows(db)
    assert good.state == MessageState.SENT
    assert bad.state == MessageState.FAILED and bad.attempts == 3 and "550" in bad.last_error
    smtp_server.refuse.clear()
    resend(bad)
    assert relay().sent == 1
    assert [to for to, _m in smtp_server.messages].count([people[0].email]) == 1


def test_relay_killed_between_sending_and_marking(app, db, make, smtp_server, monkeypatch):
    """What the module docstring promises: the row stays claimed; after the lease it is sent again."""
    clock.travel_to(clock.now())
    queue(db, make, 1)
    from app.notify import relay as relay_module

    def killed(message):
        raise KeyboardInterrupt("killed")  # the process dies before "sent" is committed

    monkeypatch.setattr(relay_module, "_mark_sent", killed)
    with pytest.raises(KeyboardInterrupt):
        relay()
    monkeypatch.undo()
    db.session.rollback()
    assert len(smtp_server.messages) == 1
    (row,) = rows(db)
    assert row.state == MessageState.SENDING
    assert relay().sent == 0  # within the lease: not sent again
    clock.advance(timedelta(seconds=app.config["RELAY_LEASE_SECONDS"] + 1))
    result = relay()
    assert result.released == 1 and result.sent == 1
    assert len(smtp_server.messages) == 2  # the one duplicate SMTP cannot rule out...
    first, second = (m for _to, m in smtp_server.messages)
    assert first["Message-ID"] == second["Message-ID"]  # ...with the same Message-ID
    assert rows(db)[0].state == MessageState.SENT


def test_admin_resends_a_failed_message_from_the_page(app, db, make, client, hr):
    queue(db, make, 1)
    row = rows(db)[0]
    row.state = MessageState.FAILED
    row.last_error = "550 mailbox unavailable"
    db.session.commit()
    login(client, hr.nip)
    page = client.get("/admin/outbox?state=failed").get_data(as_text=True)
    assert "550 mailbox unavailable" in page
    post_form(client, f"/admin/outbox/{row.id}/resend", {}, token_from="/admin/outbox")
    assert rows(db)[0].state == MessageState.PENDING


def crash_after(monkeypatch, sent_before_crash: int, on_send=None):
    """The SMTP send raises (the process dies) once `sent_before_crash` messages went through."""
    import smtplib

    real_sendmail = smtplib.SMTP.sendmail
    calls = []

    def sendmail(self, *args, **kwargs):
        calls.append(args[1])
        if on_send:
            on_send(len(calls))
        if len(calls) > sent_before_crash:
            raise KeyboardInterrupt("killed")  # not an SMTP error: the relay's own handling never runs
        return real_sendmail(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "sendmail", sendmail)
    return calls


def test_relay_killed_mid_batch_the_unsent_rest_goes_out_within_a_minute_and_nothing_twice(
    app, db, make, smtp_server, monkeypatch
):
    """A relay dies after 3 of 8 messages: the other 5 are claimable after the lease (< 60 s)."""
    clock.travel_to(clock.now())
    people = queue(db, make, 8)
    crash_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        relay()
    monkeypatch.undo()
    db.session.rollback()
    assert len(smtp_server.messages) == 3
    assert [r.state for r in rows(db)].count(MessageState.SENDING) == 5

    assert relay().claimed == 0  # still within the dead relay's lease: nobody sends them yet
    lease = app.config["RELAY_LEASE_SECONDS"]
    assert lease < 60
    clock.advance(timedelta(seconds=lease + 1))
    result = relay()
    assert result.released == 5 and result.sent == 5
    assert sorted(to[0] for to, _m in smtp_server.messages) == sorted(p.email for p in people)  # each once
    assert all(r.state == MessageState.SENT for r in rows(db))


def test_a_slow_batch_keeps_its_lease_while_it_sends(app, db, make, smtp_server, monkeypatch):
    """A live relay whose batch takes longer than the lease renews it: no other run takes its rows."""
    from app.notify.relay import release_stale_claims

    clock.travel_to(clock.now())
    people = queue(db, make, 6)
    lease = app.config["RELAY_LEASE_SECONDS"]
    released = []

    def slow(n):
        clock.advance(timedelta(seconds=lease / 2))  # each SMTP exchange takes half a lease
        released.append(release_stale_claims())  # another relay's run meanwhile

    crash_after(monkeypatch, 99, on_send=slow)
    result = relay()
    assert result.sent == 6 and released == [0] * 6
    assert sorted(to[0] for to, _m in smtp_server.messages) == sorted(p.email for p in people)


def test_a_relay_stalled_past_its_lease_leaves_what_another_relay_took(
    app, db, make, smtp_server, monkeypatch
):
    """Only the message in flight may go out twice; the rest of a stalled batch belongs to the next relay."""
    from app.notify.relay import claim, release_stale_claims

    clock.travel_to(clock.now())
    queue(db, make, 4)
    lease = app.config["RELAY_LEASE_SECONDS"]
    taken = []

    def stall(n):
        if n == 1:  # the first exchange hangs past the lease; another relay runs meanwhile
            clock.advance(timedelta(seconds=lease + 1))
            release_stale_claims()
            taken.extend(m.id for m in claim(10).messages)

    crash_after(monkeypatch, 99, on_send=stall)
    result = relay()
    assert result.sent == 1 and len(smtp_server.messages) == 1
    first, *rest = rows(db)
    assert first.state == MessageState.SENT  # accepted by the server, so recorded
    assert taken == [r.id for r in [first, *rest]]
    assert all(r.state == MessageState.SENDING and r.claimed_at == clock.utcnow() for r in rest)


def test_a_mail_server_that_accepts_and_never_answers_costs_seconds_not_the_relay(app, db, make):
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    port = listener.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, RELAY_SMTP_TIMEOUT=1)
    app.extensions["mail"].server, app.extensions["mail"].port = "127.0.0.1", port
    queue(db, make, n=2)
    started = time.monotonic()
    try:
        result = relay()
    finally:
        listener.close()
        for conn, _addr in accepted:
            conn.close()
    assert time.monotonic() - started < 10  # bounded by the timeout, not by the server
    assert result.sent == 0 and result.retried == 2
    assert {row.state for row in rows(db)} == {MessageState.PENDING}
    assert all("timed out" in row.last_error for row in rows(db))
