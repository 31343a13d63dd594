"""Sign-in, lockout, password changes, CSRF and the audit of it all."""

import time
from datetime import timedelta

import sqlalchemy as sa
from itsdangerous import TimestampSigner

from app import clock
from app.models import Account, AuditEvent, Employee, OrgUnit, Role
from tests.conftest import PASSWORD, csrf_token, login, post_form


def audit_actions(db) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_sign_in_with_nip_or_email_is_audited(client, make, db):
    employee = make.employee()
    assert login(client, employee.nip).headers["Location"] == "/"
    post_form(client, "/logout", {}, token_from="/")
    assert login(client, employee.email.upper()).headers["Location"] == "/"
    assert audit_actions(db) == ["auth.login", "auth.logout", "auth.login"]


def test_nip_typed_with_spaces_still_signs_in(client, make):
    employee = make.employee()
    spaced = f"{employee.nip[:8]} {employee.nip[8:14]} {employee.nip[14]} {employee.nip[15:]}"
    assert login(client, spaced).status_code == 302


def test_wrong_password_gives_a_generic_message_and_keeps_the_identifier(client, make, db):
    employee = make.employee()
    response = login(client, employee.nip, "keliru")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "NIP/email atau kata sandi salah" in page
    assert f'value="{employee.nip}"' in page
    assert "keliru" not in page
    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.data["reason"]) == ("auth.login_failed", "password")


def test_unknown_user_gets_the_same_message(client, make, db):
    page = login(client, "tidak.ada@contoh.go.id", "apa-saja").get_data(as_text=True)
    assert "NIP/email atau kata sandi salah" in page
    assert audit_actions(db) == ["auth.login_failed"]


def test_account_locks_after_repeated_failures_then_unlocks_later(app, client, make, db):
    clock.travel_to(clock.now())
    employee = make.employee()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, employee.nip, "keliru")
    page = login(client, employee.nip).get_data(as_text=True)  # right password, but locked
    assert "dikunci sementara" in page
    assert "auth.locked" in audit_actions(db)
    assert client.get("/").status_code == 302

    clock.advance(timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"] + 1))
    assert login(client, employee.nip).headers["Location"] == "/"


def test_deactivated_employee_cannot_sign_in(client, make, db):
    employee = make.employee()
    employee.active = False
    db.session.commit()
    assert "kata sandi salah" in login(client, employee.nip).get_data(as_text=True)


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, make, db):
    employee = make.employee()
    response = client.post("/login", data={"identifier": employee.nip, "password": PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Formulir ini sudah kedaluwarsa atau tidak sah" in page
    assert f'value="{employee.nip}"' in page  # what was typed is kept
    assert client.get("/").status_code == 302  # not signed in


def test_forged_logout_without_token_is_refused(client, make):
    employee = make.employee()
    login(client, employee.nip)
    response = client.post("/logout")
    assert response.status_code == 400
    assert "Token keamanan formulir" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200  # still signed in


def test_expired_csrf_token_keeps_what_was_typed(client, make, db, monkeypatch):
    hr = make.employee(roles={Role.EMPLOYEE, Role.HR})
    login(client, hr.nip)
    token = csrf_token(client, "/")
    later = int(time.time()) + 9 * 3600  # past WTF_CSRF_TIME_LIMIT (8 hours)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = client.post(
        "/org/new", data={"csrf_token": token, "code": "SEKSI-X", "name": "Seksi Baru", "parent_id": "0"}
    )
    page = response.get_data(as_text=True)
    assert "Formulir ini sudah kedaluwarsa" in page
    assert 'value="Seksi Baru"' in page and 'value="SEKSI-X"' in page
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(OrgUnit).where(OrgUnit.code == "SEKSI-X"))
        == 0
    )


def test_change_password_rules(client, make, db):
    employee = make.employee()
    login(client, employee.nip)

    def change(current, new, confirm=None):
        return post_form(
            client,
            "/account/password",
            {"current_password": current, "new_password": new, "confirm": confirm or new},
            token_from="/",
        ).get_data(as_text=True)

    assert "Kata sandi saat ini salah" in change("keliru", "baru-dan-kuat-1")
    assert "minimal 8 karakter" in change(PASSWORD, "pendek")
    assert "tidak boleh memuat NIP" in change(PASSWORD, f"x{employee.nip}")
    assert "tidak boleh hanya berisi angka" in change(PASSWORD, "1234567890")
    assert "tidak sama" in change(PASSWORD, "baru-dan-kuat-1", "lain-sekali-1")
    assert "harus berbeda" in change(PASSWORD, PASSWORD)
    assert "Kata sandi berhasil diganti" in post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "baru-dan-kuat-1", "confirm": "baru-dan-kuat-1"},
        token_from="/",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "auth.password_changed" in audit_actions(db)


def test_password_change_ends_other_sessions(app, make):
    employee = make.employee()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, employee.nip)
    login(phone, employee.nip)
    post_form(
        laptop,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "baru-dan-kuat-1", "confirm": "baru-dan-kuat-1"},
        token_from="/",
    )
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def test_must_change_password_blocks_everything_else(client, make):
    employee = make.employee(must_change_password=True)
    response = login(client, employee.nip)
    assert response.headers["Location"] == "/account/password"
    assert client.get("/").headers["Location"] == "/account/password"
    assert client.get("/people/team").headers["Location"] == "/account/password"


def test_next_parameter_only_follows_local_paths(client, make):
    employee = make.employee()
    token = csrf_token(client)
    response = client.post(
        "/login?next=https://jahat.example/",
        data={"csrf_token": token, "identifier": employee.nip, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite(client, make):
    employee = make.employee()
    response = login(client, employee.nip)
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_account_row_is_untouched_by_a_failed_forged_post(client, make, db):
    employee = make.employee()
    before = db.session.scalar(
        sa.select(Account.password_hash).join(Employee).where(Employee.id == employee.id)
    )
    client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "x" * 12, "confirm": "x" * 12},
    )
    after = db.session.scalar(
        sa.select(Account.password_hash).join(Employee).where(Employee.id == employee.id)
    )
    assert before == after
