"""HR manages the org-unit tree and positions."""

import sqlalchemy as sa

from app.models import AuditEvent, OrgUnit, Position
from tests.conftest import login, post_form


def test_tree_shows_units_nested_with_staff_counts(client, make, hr):
    city = make.unit("Pemerintah Kota")
    kecamatan = make.unit("Kecamatan Rakumpit", parent=city)
    make.employee("Perawat", unit=make.unit("Puskesmas Rakumpit", parent=kecamatan))
    login(client, hr.nip)
    page = client.get("/org/").get_data(as_text=True)
    assert page.index("Pemerintah Kota") < page.index("Kecamatan Rakumpit") < page.index("Puskesmas Rakumpit")


def test_hr_creates_a_unit_under_a_parent(client, make, hr, db):
    parent = make.unit("Kecamatan Rakumpit")
    login(client, hr.nip)
    response = post_form(
        client,
        "/org/new",
        {"code": "SEKSI-PEM", "name": "Seksi Pemerintahan", "parent_id": str(parent.id)},
        token_from="/org/new",
    )
    assert response.status_code == 302
    unit = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "SEKSI-PEM"))
    assert unit.parent_id == parent.id
    assert (
        db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(unit.id)))
        == "org_unit.created"
    )


def test_duplicate_code_and_bad_code_are_refused(client, make, hr, db):
    make.unit("Ada", code="RKP")
    login(client, hr.nip)
    page = post_form(
        client, "/org/new", {"code": "RKP", "name": "Lain", "parent_id": "0"}, token_from="/org/new"
    ).get_data(as_text=True)
    assert "Kode RKP sudah dipakai oleh Ada" in page and 'value="Lain"' in page
    page = post_form(
        client, "/org/new", {"code": "a b", "name": "Lain", "parent_id": "0"}, token_from="/org/new"
    ).get_data(as_text=True)
    assert "Kode unit hanya huruf" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrgUnit)) == 2  # "Ada" and hr's unit


def test_moving_a_unit_under_its_own_descendant_is_refused(client, make, hr, db):
    top = make.unit("Atas")
    middle = make.unit("Tengah", parent=top)
    bottom = make.unit("Bawah", parent=middle)
    login(client, hr.nip)
    page = post_form(
        client,
        f"/org/{top.id}/edit",
        {"code": top.code, "name": "Atas", "parent_id": str(bottom.id)},
        token_from="/",
    ).get_data(as_text=True)
    assert "tidak boleh unit ini sendiri atau salah satu sub-unitnya" in page
    db.session.expire_all()
    assert db.session.get(OrgUnit, top.id).parent_id is None


def test_a_unit_with_staff_cannot_be_deactivated(client, make, hr, db):
    unit = make.unit("Berisi")
    make.employee(unit=unit)
    login(client, hr.nip)
    page = post_form(
        client, f"/org/{unit.id}/active", {"active": "0"}, token_from="/", follow_redirects=True
    ).get_data(as_text=True)
    assert "masih memiliki 1 pegawai aktif" in page
    db.session.expire_all()
    assert db.session.get(OrgUnit, unit.id).active


def test_an_empty_unit_can_be_deactivated(client, make, hr, db):
    unit = make.unit("Kosong")
    login(client, hr.nip)
    post_form(client, f"/org/{unit.id}/active", {"active": "0"}, token_from="/")
    db.session.expire_all()
    assert not db.session.get(OrgUnit, unit.id).active


def test_positions_are_added_once(client, make, hr, db):
    login(client, hr.nip)
    post_form(client, "/org/positions", {"name": "Bidan Terampil", "kind": "Fungsional"}, token_from="/org/")
    response = post_form(
        client, "/org/positions", {"name": "bidan terampil", "kind": "Fungsional"}, token_from="/org/"
    )
    assert response.status_code == 400
    assert "Jabatan bidan terampil sudah ada" in response.get_data(as_text=True)
    response = post_form(client, "/org/positions", {"name": "Honorer", "kind": "Honorer"}, token_from="/org/")
    assert "Pilihan tidak valid" in response.get_data(as_text=True)
    names = db.session.scalars(sa.select(Position.name).where(Position.name.ilike("bidan%"))).all()
    assert names == ["Bidan Terampil"]


def test_unit_export_lists_codes(client, make, hr):
    make.unit("Kecamatan Rakumpit", code="RKP")
    login(client, hr.nip)
    body = client.get("/org/export.csv").get_data(as_text=True)
    assert "RKP" in body and "Kecamatan Rakumpit" in body
