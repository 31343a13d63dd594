"""Password reset by email: a signed, expiring, single-use link."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.models import OutboxMessage
from tests.conftest import login, post_form


def reset_link(db) -> str:
    db.session.expire_all()
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    return re.search(r"http://[^/]+(/password/reset/\S+)", message.body_text).group(1)


def test_reset_by_email_then_the_link_is_used_up(client, make, db):
    employee = make.employee("Lupa Sandi")
    page = post_form(
        client,
        "/password/forgot",
        {"identifier": employee.nip},
        token_from="/password/forgot",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Bila NIP/email itu terdaftar" in page
    link = reset_link(db)
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    assert message.to_address == employee.email and "hanya dapat dipakai sekali" in message.body_text
    response = post_form(
        client, link, {"new_password": "sandi-baru-123", "confirm": "sandi-baru-123"}, token_from=link
    )
    assert response.headers["Location"] == "/login"
    assert login(client, employee.nip, "sandi-baru-123").headers["Location"] == "/"
    post_form(client, "/logout", {}, token_from="/")
    again = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "tidak berlaku lagi" in again


def test_unknown_identifier_gets_the_same_answer_and_no_mail(client, db):
    page = post_form(
        client,
        "/password/forgot",
        {"identifier": "siapa@contoh.go.id"},
        token_from="/password/forgot",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Bila NIP/email itu terdaftar" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_an_expired_or_forged_link_is_refused(app, client, make, db):
    clock.travel_to(clock.now())
    employee = make.employee()
    post_form(client, "/password/forgot", {"identifier": employee.email}, token_from="/password/forgot")
    link = reset_link(db)
    forged = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert "tidak berlaku lagi" in client.get(forged, follow_redirects=True).get_data(as_text=True)
    assert "Atur ulang kata sandi" in client.get(link).get_data(as_text=True)
    clock.advance(timedelta(hours=app.config["PASSWORD_RESET_HOURS"], minutes=1))
    assert "tidak berlaku lagi" in client.get(link, follow_redirects=True).get_data(as_text=True)


def test_weak_new_password_is_refused(client, make, db):
    employee = make.employee()
    post_form(client, "/password/forgot", {"identifier": employee.nip}, token_from="/password/forgot")
    link = reset_link(db)
    page = post_form(client, link, {"new_password": "pendek", "confirm": "pendek"}, token_from=link).get_data(
        as_text=True
    )
    assert "minimal 8 karakter" in page
