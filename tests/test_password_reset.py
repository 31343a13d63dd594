"""Password reset by email: a single-use, expiring link that only the addressee ever reads."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.models import OutboxBody, OutboxMessage, PasswordResetToken, Role
from app.notify.relay import relay, resend
from app.services.accounts import create_system_account
from tests.conftest import PASSWORD, login, post_form

NEW = "kopi-hujan-jendela-42"


def ask_reset(client, identifier: str):
    """Fill in the "forgot password" form."""
    return post_form(
        client,
        "/password/forgot",
        {"identifier": identifier},
        token_from="/password/forgot",
        follow_redirects=True,
    )


def received_links(smtp_server) -> list[str]:
    """The reset links in the emails the SMTP server received, as paths."""
    links = []
    for _recipients, message in smtp_server.messages:
        text = message.get_body(("plain",)).get_content()
        links += re.findall(r"http://[^/\s]+(/password/reset/\S+)", text)
    return links


def test_reset_by_email_then_the_link_is_used_up(client, make, db, smtp_server):
    employee = make.employee("Lupa Sandi")
    assert "Bila NIP/email itu terdaftar" in ask_reset(client, employee.nip).get_data(as_text=True)
    assert relay().sent == 1
    [(recipients, message)] = smtp_server.messages
    assert recipients == [employee.email]
    assert "hanya dapat dipakai sekali" in message.get_body(("plain",)).get_content()
    [link] = received_links(smtp_server)
    response = post_form(client, link, {"new_password": NEW, "confirm": NEW}, token_from=link)
    assert response.headers["Location"] == "/login"
    assert login(client, employee.nip, NEW).headers["Location"] == "/"
    post_form(client, "/logout", {}, token_from="/")
    again = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "tidak berlaku lagi" in again


def test_the_link_is_stored_nowhere_but_as_a_hash(client, make, db, smtp_server):
    employee = make.employee()
    ask_reset(client, employee.email)
    relay()
    [link] = received_links(smtp_server)
    token = link.rsplit("/", 1)[1]
    bodies = (
        db.session.scalars(sa.select(OutboxBody.body_text)).all()
        + db.session.scalars(sa.select(OutboxBody.body_html)).all()
    )
    assert bodies and not any(token in body for body in bodies)
    [row] = db.session.scalars(sa.select(PasswordResetToken)).all()
    assert row.token_hash == PasswordResetToken.digest(token) and token not in row.token_hash


def test_hr_reading_the_outbox_sees_the_link_redacted_and_cannot_take_over_the_admin(
    client, make, db, hr, smtp_server
):
    admin = create_system_account("admin@contoh.go.id", "Administrator", "admin-sandi-kuat-77", {Role.ADMIN})
    db.session.commit()
    ask_reset(client, "admin@contoh.go.id")
    relay()  # sent to the administrator's mailbox only
    login(client, hr.nip)
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    page = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "tautan rahasia: hanya dikirim ke penerima" in page
    assert "/password/reset/" not in page
    # Nothing HR can see opens a reset form: the only link is in the admin's mailbox.
    for path in re.findall(r'href="([^"]+)"', page):
        assert "/password/reset/" not in path
    db.session.refresh(admin)
    assert (
        login(client.application.test_client(), "admin@contoh.go.id", "admin-sandi-kuat-77").headers[
            "Location"
        ]
        == "/"
    )


def test_a_resent_email_carries_a_new_link_and_using_one_ends_the_others(client, make, db, smtp_server):
    employee = make.employee()
    ask_reset(client, employee.nip)
    relay()
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    message.state = message.state.FAILED  # an admin resends it, as after a bounce
    resend(message)
    relay()
    first, second = received_links(smtp_server)
    assert first != second
    post_form(client, second, {"new_password": NEW, "confirm": NEW}, token_from=second)
    assert "tidak berlaku lagi" in client.get(first, follow_redirects=True).get_data(as_text=True)


def test_unknown_identifier_gets_the_same_answer_and_no_mail(client, db):
    page = ask_reset(client, "siapa@contoh.go.id").get_data(as_text=True)
    assert "Bila NIP/email itu terdaftar" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_an_expired_or_forged_link_is_refused(app, client, make, db, smtp_server):
    clock.travel_to(clock.now())
    employee = make.employee()
    ask_reset(client, employee.email)
    relay()
    [link] = received_links(smtp_server)
    forged = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert "tidak berlaku lagi" in client.get(forged, follow_redirects=True).get_data(as_text=True)
    assert "Atur ulang kata sandi" in client.get(link).get_data(as_text=True)
    clock.advance(timedelta(hours=app.config["PASSWORD_RESET_HOURS"], minutes=1))
    assert "tidak berlaku lagi" in client.get(link, follow_redirects=True).get_data(as_text=True)


def test_weak_new_password_is_refused_and_the_link_still_works(client, make, db, smtp_server):
    employee = make.employee()
    ask_reset(client, employee.nip)
    relay()
    [link] = received_links(smtp_server)
    page = post_form(client, link, {"new_password": "pendek", "confirm": "pendek"}, token_from=link)
    assert page.status_code == 200 and "minimal 8 karakter" in page.get_data(as_text=True)
    page = post_form(client, link, {"new_password": "password", "confirm": "password"}, token_from=link)
    assert "mudah ditebak" in page.get_data(as_text=True)
    assert login(client, employee.nip, PASSWORD).headers["Location"] == "/"  # unchanged so far
    post_form(client, "/logout", {}, token_from="/")
    done = post_form(client, link, {"new_password": NEW, "confirm": NEW}, token_from=link)
    assert done.headers["Location"] == "/login"
