"""HR manages people through the web: list, create, edit, supervisor, deactivate, passwords, roles."""

import sqlalchemy as sa

from app.models import Account, AuditEvent, Employee, PositionKind, Role
from tests.conftest import PASSWORD, login, post_form


def employee_form(make, **overrides) -> dict:
    """A valid create form."""
    unit = overrides.pop("unit", None) or make.unit()
    position = overrides.pop("position", None) or make.position()
    data = {
        "nip": "199001012015031001",
        "name": "Andreas Ricky",
        "email": "andreas.ricky@contoh.go.id",
        "employment_type": "PNS",
        "unit_id": str(unit.id),
        "position_id": str(position.id),
        "supervisor_nip": "",
    }
    data.update(overrides)
    return data


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_hr_lists_and_searches_employees(client, make, hr):
    make.employee("Maria Ulfah")
    make.employee("Rina Anggraini")
    login(client, hr.nip)
    page = client.get("/people/").get_data(as_text=True)
    assert "Maria Ulfah" in page and "Rina Anggraini" in page
    page = client.get("/people/?q=ulfah").get_data(as_text=True)
    assert "Maria Ulfah" in page and "Rina Anggraini" not in page


def test_search_by_nip_prefix(client, make, hr):
    target = make.employee("Maria Ulfah")
    make.employee("Rina Anggraini")
    login(client, hr.nip)
    page = client.get(f"/people/?q={target.nip[:14]}").get_data(as_text=True)
    assert "Maria Ulfah" in page


def test_list_is_paginated(app, client, make, hr):
    app.config["PAGE_SIZE"] = 5
    unit = make.unit()
    for n in range(12):
        make.employee(f"Anggota {n:02d}", unit=unit)
    login(client, hr.nip)
    first = client.get("/people/").get_data(as_text=True)
    third = client.get("/people/?page=3").get_data(as_text=True)
    assert "Anggota 00" in first and "Anggota 05" not in first
    assert "Anggota 10" in third and "Anggota 00" not in third


def test_hr_creates_an_employee_and_it_is_audited(client, make, hr, db):
    login(client, hr.nip)
    supervisor = make.employee("Kepala Seksi")
    data = employee_form(make, supervisor_nip=f"{supervisor.nip[:8]} {supervisor.nip[8:]}")
    response = post_form(client, "/people/new", data, token_from="/people/new")
    assert response.status_code == 302
    created = db.session.scalar(sa.select(Employee).where(Employee.nip == "199001012015031001"))
    assert created.supervisor_id == supervisor.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "employee.created"))
    assert event.object_id == str(created.id) and event.actor_id == hr.account.id


def test_bad_employee_input_is_refused_keeping_what_was_typed(client, make, hr, db):
    login(client, hr.nip)
    existing = make.employee("Sudah Ada")
    before = count(db, Employee)
    valid = employee_form(make)
    cases = [
        ({"nip": "12345"}, "NIP harus 18 digit"),
        ({"nip": "198502302010012003"}, "bukan tanggal yang ada"),
        ({"nip": existing.nip}, "sudah dipakai oleh Sudah Ada"),
        ({"email": existing.email}, "Email ini sudah dipakai oleh Sudah Ada"),
        ({"email": "bukan-email"}, "Alamat email tidak valid"),
        ({"name": ""}, "Nama wajib diisi"),
        ({"name": "x" * 10_000}, "Nama paling banyak 200 karakter"),
        ({"supervisor_nip": "199901012020011999"}, "Tidak ada pegawai dengan NIP"),
        ({"unit_id": "99999"}, "Pilihan tidak valid"),
        ({"unit_id": "abc"}, "Pilihan tidak valid"),
        ({"employment_type": "HONORER"}, "Pilihan tidak valid"),
    ]
    for override, message in cases:
        data = {**valid, **override}
        response = post_form(client, "/people/new", data, token_from="/people/new")
        page = response.get_data(as_text=True)
        assert response.status_code == 200, override
        assert message in page, (override, __import__("re").findall(r"invalid-feedback[^<]*>([^<]*)<", page))
        if data["name"] and len(data["name"]) < 300:
            assert f'value="{data["name"]}"' in page, override
    assert count(db, Employee) == before


def test_html_in_a_name_is_shown_escaped(client, make, hr, db):
    login(client, hr.nip)
    data = employee_form(make, name="<script>alert(1)</script>")
    post_form(client, "/people/new", data, token_from="/people/new")
    created = db.session.scalar(sa.select(Employee).where(Employee.nip == data["nip"]))
    page = client.get(f"/people/{created.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_supervisor_loop_is_refused(client, make, hr, db):
    top = make.employee("Camat")
    middle = make.employee("Kasi", supervisor=top)
    bottom = make.employee("Staf", supervisor=middle)
    login(client, hr.nip)
    data = employee_form(
        make,
        nip=top.nip,
        name=top.name,
        email=top.email,
        unit=top.unit,
        position=top.position,
        supervisor_nip=bottom.nip,
    )
    data["version"] = str(top.version)
    page = post_form(client, f"/people/{top.id}/edit", data, token_from="/").get_data(as_text=True)
    assert "membuat lingkaran" in page
    db.session.expire_all()
    assert db.session.get(Employee, top.id).supervisor_id is None


def test_nobody_supervises_themselves(client, make, hr, db):
    someone = make.employee("Mandiri")
    login(client, hr.nip)
    data = employee_form(
        make,
        nip=someone.nip,
        name=someone.name,
        email=someone.email,
        unit=someone.unit,
        position=someone.position,
        supervisor_nip=someone.nip,
    )
    page = post_form(client, f"/people/{someone.id}/edit", data, token_from="/").get_data(as_text=True)
    assert "tidak dapat menjadi atasan dirinya sendiri" in page


def test_concurrent_edit_is_refused_and_the_form_kept(client, make, hr, db):
    someone = make.employee("Nama Lama")
    login(client, hr.nip)
    stale_version = someone.version
    someone.name = "Diubah Orang Lain"
    db.session.commit()
    data = employee_form(
        make,
        nip=someone.nip,
        name="Nama Baru Saya",
        email=someone.email,
        unit=someone.unit,
        position=someone.position,
    )
    data["version"] = str(stale_version)
    page = post_form(client, f"/people/{someone.id}/edit", data, token_from="/").get_data(as_text=True)
    assert "baru saja diubah oleh orang lain" in page
    assert 'value="Nama Baru Saya"' in page
    db.session.expire_all()
    assert db.session.get(Employee, someone.id).name == "Diubah Orang Lain"


def test_edit_saves_and_audits_the_changed_fields(client, make, hr, db):
    someone = make.employee("Nama Lama")
    login(client, hr.nip)
    data = employee_form(
        make,
        nip=someone.nip,
        name="Nama Baru",
        email=someone.email,
        unit=someone.unit,
        position=someone.position,
    )
    data["version"] = str(someone.version)
    assert post_form(client, f"/people/{someone.id}/edit", data, token_from="/").status_code == 302
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "employee.updated"))
    assert event.data["name"] == ["Nama Lama", "Nama Baru"]


def test_deactivating_a_supervisor_with_a_team_is_refused(client, make, hr, db):
    boss = make.employee("Atasan")
    make.employee("Bawahan", supervisor=boss)
    login(client, hr.nip)
    page = post_form(
        client, f"/people/{boss.id}/active", {"active": "0"}, token_from="/", follow_redirects=True
    ).get_data(as_text=True)
    assert "masih menjadi atasan 1 pegawai aktif" in page
    db.session.expire_all()
    assert db.session.get(Employee, boss.id).active


def test_deactivate_and_reactivate(client, make, hr, db):
    someone = make.employee("Pensiun")
    login(client, hr.nip)
    post_form(client, f"/people/{someone.id}/active", {"active": "0"}, token_from="/")
    db.session.expire_all()
    assert not db.session.get(Employee, someone.id).active
    link = f'href="/people/{someone.id}">Pensiun</a>'
    assert link not in client.get("/people/").get_data(as_text=True)
    assert link in client.get("/people/?status=inactive").get_data(as_text=True)
    post_form(client, f"/people/{someone.id}/active", {"active": "1"}, token_from="/")
    db.session.expire_all()
    assert db.session.get(Employee, someone.id).active


def test_hr_sets_an_initial_password_that_must_be_changed(app, client, make, hr, db):
    newcomer = make.employee("Pegawai Baru", account=False)
    login(client, hr.nip)
    refused = post_form(client, f"/people/{newcomer.id}/password", {"password": "pendek"}, token_from="/")
    assert refused.status_code == 400 and "minimal 8 karakter" in refused.get_data(as_text=True)
    post_form(client, f"/people/{newcomer.id}/password", {"password": "awal-rahasia-9"}, token_from="/")
    other = app.test_client()
    assert login(other, newcomer.nip, "awal-rahasia-9").headers["Location"] == "/account/password"
    account = db.session.scalar(sa.select(Account).where(Account.employee_id == newcomer.id))
    assert account.must_change_password and account.roles == {Role.EMPLOYEE}


def test_only_an_administrator_grants_roles(client, make, hr, db):
    admin = make.employee("Admin", roles={Role.EMPLOYEE, Role.ADMIN})
    someone = make.employee("Calon HR")
    login(client, hr.nip)
    assert post_form(client, f"/people/{someone.id}/roles", {"hr": "y"}, token_from="/").status_code == 403
    post_form(client, "/logout", {}, token_from="/")
    login(client, admin.nip)
    post_form(client, f"/people/{someone.id}/roles", {"hr": "y"}, token_from="/")
    db.session.expire_all()
    assert db.session.get(Employee, someone.id).account.roles == {Role.EMPLOYEE, Role.HR}


def test_team_page_lists_direct_subordinates_only(client, make):
    boss = make.employee("Kepala Puskesmas")
    nurse = make.employee("Perawat Satu", supervisor=boss)
    make.employee("Perawat Dua", supervisor=boss)
    make.employee("Cucu Bawahan", supervisor=nurse)
    login(client, boss.nip)
    page = client.get("/people/team").get_data(as_text=True)
    assert "Perawat Satu" in page and "Perawat Dua" in page and "Cucu Bawahan" not in page


def test_employee_export_is_csv(client, make, hr):
    make.employee("Maria Ulfah", position=make.position("Perawat Ahli Pertama", PositionKind.FUNGSIONAL))
    login(client, hr.nip)
    response = client.get("/people/export.csv")
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "nip" in body.splitlines()[0] and "Maria Ulfah" in body


def test_new_employee_can_then_sign_in(app, client, make, hr, db):
    login(client, hr.nip)
    data = employee_form(make)
    post_form(client, "/people/new", data, token_from="/people/new")
    created = db.session.scalar(sa.select(Employee).where(Employee.nip == data["nip"]))
    post_form(client, f"/people/{created.id}/password", {"password": "awal-rahasia-9"}, token_from="/")
    assert login(app.test_client(), data["email"], "awal-rahasia-9").status_code == 302
    assert PASSWORD != "awal-rahasia-9"
