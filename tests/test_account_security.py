"""Accounts against insiders: no password set over someone with more rights, guessable passwords
refused, sign-out that really ends the session, and no production start with a weak secret."""

import pytest
import sqlalchemy as sa

from app import create_app
from app.models import Account, AuditEvent, PasswordResetToken, Role
from app.notify.relay import relay
from app.services.accounts import password_problem
from tests.conftest import PASSWORD, login, post_form

STRONG = "awan-sungai-lampu-58"
CSV_HEADER = "nip,nama,email,jenis_pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan\n"


def edit_form(employee, **changes) -> dict:
    """The employee's edit form as the page fills it, with `changes` typed in."""
    return {
        "nip": employee.nip,
        "name": employee.name,
        "email": employee.email,
        "employment_type": "PNS",
        "unit_id": employee.unit_id,
        "position_id": employee.position_id,
        "supervisor_nip": "",
        "version": employee.version,
        **changes,
    }


def password_hash_of(db, employee) -> str:
    db.session.expire_all()
    return db.session.scalar(sa.select(Account.password_hash).where(Account.employee_id == employee.id))


def test_hr_cannot_set_the_password_of_an_employee_who_is_an_administrator(client, make, db, hr):
    boss = make.employee("Kepala Admin", roles={Role.EMPLOYEE, Role.ADMIN})
    before = password_hash_of(db, boss)
    login(client, hr.nip)
    page = client.get(f"/people/{boss.id}").get_data(as_text=True)
    assert "hak yang tidak Anda miliki" in page and "Tetapkan kata sandi awal" not in page
    refused = post_form(client, f"/people/{boss.id}/password", {"password": STRONG}, token_from="/")
    assert refused.status_code == 400
    assert "hak yang tidak Anda miliki (Administrator sistem)" in refused.get_data(as_text=True)
    assert password_hash_of(db, boss) == before
    other = client.application.test_client()
    assert login(other, boss.nip, STRONG).headers.get("Location") is None
    assert login(other, boss.nip, PASSWORD).headers["Location"] == "/"


def test_an_administrator_may_set_it_and_the_audit_names_who_did(client, make, db):
    admin = make.employee("Admin Sistem", roles={Role.EMPLOYEE, Role.ADMIN, Role.HR})
    boss = make.employee("Admin Kedua", roles={Role.EMPLOYEE, Role.ADMIN})
    login(client, admin.nip)
    response = post_form(client, f"/people/{boss.id}/password", {"password": STRONG}, token_from="/")
    assert response.status_code == 302
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.password_set"))
    assert event.actor_id == admin.account.id and event.data["set_by_other"] is True
    assert event.object_id == str(boss.account.id)


def test_hr_sets_a_plain_employee_password_but_not_their_own(client, make, db, hr):
    nurse = make.employee("Perawat")
    login(client, hr.nip)
    assert (
        post_form(client, f"/people/{nurse.id}/password", {"password": STRONG}, token_from="/").status_code
        == 302
    )
    own = post_form(client, f"/people/{hr.id}/password", {"password": STRONG}, token_from="/")
    assert own.status_code == 400 and "Ganti kata sandi" in own.get_data(as_text=True)
    assert login(client.application.test_client(), hr.nip, PASSWORD).headers["Location"] == "/"


@pytest.mark.parametrize(
    "password, reason",
    [
        ("password", "paling sering dipakai"),
        ("aaaaaaaa", "pengulangan"),
        ("rakumpit2026", "mudah ditebak"),
        ("Password123", "mudah ditebak"),
        ("qwerty123456", "mudah ditebak"),
        ("pegawai2026", "mudah ditebak"),
        ("sitinurhaliza", "nama, NIP, atau email"),
        ("Nurhaliza!2027", "nama, NIP, atau email"),
        ("x198502032010021003", "NIP"),
        ("sitinur.h-99", "nama, NIP, atau email"),
    ],
)
def test_guessable_passwords_are_refused_with_the_reason(app, make, password, reason):
    siti = make.employee("Siti Nurhaliza")
    siti.nip = "198502032010021003"
    siti.email = "sitinur.h@contoh.go.id"
    problem = password_problem(password, account=siti.account)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("password", ["kopi-hujan-jendela-42", "Burung kenari di atap merah", STRONG])
def test_a_passphrase_is_accepted(app, make, password):
    assert password_problem(password, account=make.employee("Siti Nurhaliza").account) is None


def test_changing_to_a_guessable_password_keeps_the_form_and_says_why(client, make):
    employee = make.employee("Budi Santoso")
    login(client, employee.nip)
    page = post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "budisantoso1", "confirm": "budisantoso1"},
        token_from="/",
    )
    text = page.get_data(as_text=True)
    assert "nama, NIP, atau email" in text
    assert login(client.application.test_client(), employee.nip, PASSWORD).headers["Location"] == "/"


def test_a_copied_session_cookie_stops_working_after_sign_out(client, make, db):
    employee = make.employee()
    login(client, employee.nip)
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = client.application.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/").status_code == 200
    post_form(client, "/logout", {}, token_from="/")
    stolen = thief.get("/")
    assert stolen.status_code == 302 and stolen.headers["Location"].startswith("/login")
    assert login(client, employee.nip).headers["Location"] == "/"  # signing in again works


@pytest.mark.parametrize(
    "key",
    [None, "", "change-me-to-64-random-hex-characters", "change-me", "pendek-sekali", "a" * 64, "ab" * 20],
)
def test_production_refuses_to_start_with_a_weak_secret_key(tmp_path, key):
    config = {"ENV_NAME": "production", "SECRET_KEY": key, "INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(RuntimeError, match=r"secrets\.token_hex\(32\)"):
        create_app(config)


def test_production_starts_with_a_generated_secret_key(tmp_path):
    import secrets

    config = {
        "ENV_NAME": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    assert create_app(config).config["ENV_NAME"] == "production"


def test_granting_rights_renews_a_password_someone_else_may_know(client, make, db, hr, smtp_server):
    admin = make.employee("Admin Sistem", roles={Role.EMPLOYEE, Role.ADMIN})
    nurse = make.employee("Perawat")
    login(client, hr.nip)
    post_form(client, f"/people/{nurse.id}/password", {"password": STRONG}, token_from="/")
    # HR signs in as her and "changes" it: the password is still one HR knows.
    known = client.application.test_client()
    login(known, nurse.nip, STRONG)
    post_form(
        known,
        "/account/password",
        {
            "current_password": STRONG,
            "new_password": "kopi-hujan-jendela-42",
            "confirm": "kopi-hujan-jendela-42",
        },
        token_from="/account/password",
    )
    assert known.get("/").status_code == 200
    boss = client.application.test_client()
    login(boss, admin.nip)
    page = post_form(
        boss, f"/people/{nurse.id}/roles", {"admin": "y"}, token_from="/", follow_redirects=True
    ).get_data(as_text=True)
    assert "kata sandi lama" in page and nurse.email in page
    db.session.expire_all()
    assert Role.ADMIN in db.session.get(Account, nurse.account.id).roles
    assert known.get("/").status_code == 302  # the session HR held has ended
    assert (
        login(client.application.test_client(), nurse.nip, "kopi-hujan-jendela-42").headers.get("Location")
        is None
    )
    relay()
    [(recipients, _message)] = [m for m in smtp_server.messages if m[0] == [nurse.email]]
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "account.password_renewal_required")
    )
    assert event.actor_id == admin.account.id


def test_hr_cannot_move_an_administrators_email_to_a_mailbox_it_reads(client, make, db, hr):
    boss = make.employee("Kepala Admin", roles={Role.EMPLOYEE, Role.ADMIN})
    login(client, hr.nip)
    form = edit_form(boss, email="kotak-hr@contoh.go.id")
    page = post_form(client, f"/people/{boss.id}/edit", form, token_from=f"/people/{boss.id}/edit")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "hanya dapat diubah oleh administrator sistem" in text and "kotak-hr@contoh.go.id" in text
    db.session.expire_all()
    assert db.session.get(type(boss), boss.id).email == boss.email
    # The same change by CSV import is refused as a row error.
    from app.imports.people import plan_import

    line = (
        f"{boss.nip},{boss.name},kotak-hr@contoh.go.id,PNS,{boss.unit.code},{boss.position.name},Pelaksana,\n"
    )
    plan = plan_import("employees", (CSV_HEADER + line).encode())
    assert any("tidak dapat diubah lewat impor" in error.message for error in plan.errors)


def test_an_administrator_changes_it_and_old_reset_links_die(client, make, db, smtp_server):
    admin = make.employee("Admin Sistem", roles={Role.EMPLOYEE, Role.ADMIN, Role.HR})
    nurse = make.employee("Perawat")
    post_form(client, "/password/forgot", {"identifier": nurse.nip}, token_from="/password/forgot")
    relay()
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(PasswordResetToken)
            .where(PasswordResetToken.used_at.is_(None))
        )
        == 1
    )
    login(client, admin.nip)
    form = edit_form(nurse, email="perawat.baru@contoh.go.id")
    assert post_form(client, f"/people/{nurse.id}/edit", form, token_from="/").status_code == 302
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(PasswordResetToken)
            .where(PasswordResetToken.used_at.is_(None))
        )
        == 0
    )


def test_a_reset_marker_makes_a_link_only_for_the_addressees_own_account(app, make, db, smtp_server):
    from app.models.outbox import secret_marker
    from app.notify import notify

    victim = make.employee("Korban")
    other = make.employee("Penerima Lain")
    notify(
        "password_reset",
        other,
        "password_reset:test",
        link=secret_marker("password_reset", victim.account.id),
        hours=2,
    )
    db.session.commit()
    relay()
    [(_to, message)] = smtp_server.messages
    assert "/password/reset/" not in message.get_body(("plain",)).get_content()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordResetToken)) == 0
