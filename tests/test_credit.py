"""Angka kredit of functional posts: the jenjang coefficients HR keeps, a position's jenjang, and the
credit points a result earns."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain import Predikat, credit_points
from app.models import AuditEvent, CreditJenjang, CycleKind, Position, PositionKind
from app.services import Refused, credit, org
from tests.conftest import login, post_form
from tests.test_workflow_services import World


@pytest.mark.parametrize(
    ("coefficient", "result", "months", "points"),
    [
        ("12.5", Predikat.SANGAT_BAIK, 12, "18.750"),
        ("12.5", Predikat.BAIK, 12, "12.500"),
        ("25", Predikat.BUTUH_PERBAIKAN, 12, "18.750"),
        ("37.5", Predikat.KURANG, 12, "18.750"),
        ("50", Predikat.SANGAT_KURANG, 12, "12.500"),
        ("12.5", Predikat.BUTUH_PERBAIKAN, 3, "2.344"),  # a quarter: 12.5 × 75 % × 3/12 = 2.34375
        ("3.75", Predikat.BAIK, 1, "0.313"),  # a month: 0.3125, half up
    ],
)
def test_a_result_earns_the_coefficient_times_the_predikat_share_times_its_months(
    coefficient, result, months, points
):
    assert credit_points(Decimal(coefficient), result, months) == Decimal(points)


def test_the_eight_jenjang_are_seeded_with_their_coefficients(app):
    assert [(j.name, j.coefficient) for j in credit.jenjang_list()] == [
        ("Pemula", Decimal("3.75")),
        ("Terampil", Decimal("5")),
        ("Mahir", Decimal("12.5")),
        ("Penyelia", Decimal("25")),
        ("Ahli Pertama", Decimal("12.5")),
        ("Ahli Muda", Decimal("25")),
        ("Ahli Madya", Decimal("37.5")),
        ("Ahli Utama", Decimal("50")),
    ]


def test_a_reviewed_functional_post_earns_credit_points_and_other_posts_none(app, db, make):
    w = World(make)
    nurse = w.org["nurse"]
    ev = w.reviewed("above", "above")  # Sangat Baik
    assert credit.credit_of(ev) is None  # a Pelaksana post
    nurse.position.kind = PositionKind.FUNGSIONAL
    db.session.commit()
    assert credit.credit_of(ev) is None  # functional, but no jenjang yet
    nurse.position.jenjang_code = "ahli_pertama"
    db.session.commit()
    assert credit.credit_of(ev) == credit.Credit("Ahli Pertama", Decimal("12.50"), 150, 12, Decimal("18.750"))
    ev.cycle.kind = CycleKind.QUARTERLY
    assert credit.credit_of(ev).points == Decimal("4.688")  # 12.5 × 150 % × 3/12 = 4.6875


def test_only_a_functional_post_has_a_jenjang(app, db):
    with pytest.raises(Refused) as refused:
        org.save_position(None, "Pengolah Data", "Pelaksana", "terampil")
    assert "hanya untuk jabatan fungsional" in refused.value.errors["jenjang_code"]
    position = org.save_position(None, "Perawat Terampil", "Fungsional", "terampil")
    assert position.jenjang.coefficient == Decimal("5")


def test_hr_adds_a_functional_position_with_its_jenjang_and_changes_it(client, db, hr):
    login(client, hr.nip)
    page = client.get("/org/").get_data(as_text=True)
    assert "Ahli Pertama (keahlian, 12,5)" in page
    response = post_form(
        client,
        "/org/positions",
        {"name": "Bidan Ahli Pertama", "kind": "Fungsional", "jenjang_code": "ahli_pertama"},
        token_from="/org/",
    )
    assert response.status_code == 302
    position = db.session.scalar(sa.select(Position).where(Position.name == "Bidan Ahli Pertama"))
    assert position.jenjang_code == "ahli_pertama"
    assert "Ahli Pertama (12,5)" in client.get("/org/").get_data(as_text=True)
    url = f"/org/positions/{position.id}"
    response = post_form(
        client,
        url,
        {"name": "Bidan Ahli Muda", "kind": "Fungsional", "jenjang_code": "ahli_muda"},
        token_from=url,
    )
    assert response.status_code == 302
    db.session.refresh(position)
    assert (position.name, position.jenjang_code) == ("Bidan Ahli Muda", "ahli_muda")
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "position.updated")).all()
    assert event.data["before"]["jenjang"] == "ahli_pertama" and event.data["after"]["jenjang"] == "ahli_muda"


def test_a_jenjang_on_a_structural_post_is_refused_beside_the_field_with_the_input_kept(client, db, hr):
    login(client, hr.nip)
    response = post_form(
        client,
        "/org/positions",
        {"name": "Kepala Seksi Pemerintahan", "kind": "Pengawas", "jenjang_code": "ahli_muda"},
        token_from="/org/",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "hanya untuk jabatan fungsional" in page and 'value="Kepala Seksi Pemerintahan"' in page
    assert 'id="jenjang_code-fout"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Position)) == 1  # hr's own


def test_hr_sets_a_coefficient_with_a_decimal_comma_and_the_change_is_audited(client, db, hr):
    login(client, hr.nip)
    page = client.get("/org/angka-kredit").get_data(as_text=True)
    assert 'value="3,75"' in page
    data = {
        f"coefficients-{i}": value
        for i, value in enumerate(["3,75", "5", "12,5", "25", "12,5", "25", "37,5", "50"])
    }
    data.update({"coefficients-2": "13,25", "reason": "Peraturan baru tentang angka kredit"})
    response = post_form(client, "/org/angka-kredit", data, token_from="/org/angka-kredit")
    assert response.status_code == 302
    assert db.session.get(CreditJenjang, "mahir").coefficient == Decimal("13.25")
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "credit.coefficients_changed")
    ).all()
    assert event.data == {"before": {"Mahir": "12.50"}, "after": {"Mahir": "13.25"}}
    assert event.comment == "Peraturan baru tentang angka kredit"


def test_a_refused_coefficient_keeps_every_typed_value_and_says_why(client, db, hr):
    login(client, hr.nip)
    data = {
        f"coefficients-{i}": value
        for i, value in enumerate(["3,75", "5", "12,5", "25", "12,5", "25", "37,5", "50"])
    }
    data.update({"coefficients-0": "nol", "coefficients-3": "0", "coefficients-5": "26", "reason": "Uji"})
    response = post_form(client, "/org/angka-kredit", data, token_from="/org/angka-kredit")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="nol"' in page and 'value="26"' in page
    assert "Isi dengan angka" in page and "lebih dari 0" in page and "paling sedikit 10 karakter" in page
    assert db.session.get(CreditJenjang, "ahli_muda").coefficient == Decimal("25")


def test_only_hr_keeps_the_coefficients(client, make):
    staff = make.employee("Staf Biasa")
    login(client, staff.nip)
    assert client.get("/org/angka-kredit").status_code == 403


def test_the_result_shows_the_credit_points_of_a_functional_post(client, db, make):
    w = World(make)
    nurse = w.org["nurse"]
    nurse.position.kind, nurse.position.jenjang_code = PositionKind.FUNGSIONAL, "ahli_pertama"
    db.session.commit()
    ev = w.reviewed("meets", "meets")  # Baik: 100 % of 12,5
    login(client, nurse.nip)
    page = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
    assert re.search(r'id="credit"><strong>12,5</strong>.*koefisien Ahli Pertama 12,5 × 100%', page)
    login(client, w.org["colleague"].nip)
    colleague = client.get(f"/evaluations/{w.ev('colleague').id}").get_data(as_text=True)
    assert 'id="credit"' not in colleague  # no result yet
