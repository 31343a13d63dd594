"""Input hygiene: characters no field may hold are refused with 400 (a form keeps what was typed),
and every integer from a request is read by one parser (ASCII digits, a database-sized range).

Each test is one of the inputs that once gave a server error (issue 9).
"""

import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import clock
from app.inputs import INT_MAX, OutOfRange, int_or_none, parse_int
from app.models import Cycle, Employee, Evaluation, Evidence, UnitPredikat
from app.workflow import cycles, evaluations
from tests.conftest import csrf_token, login, post_form
from tests.workflow_helpers import START, agency, cycle_data, open_annual, write_skp

REFUSED = "karakter yang tidak diizinkan"


@pytest.mark.parametrize(
    "raw, number",
    [("7", 7), (" 42 ", 42), ("-3", -3), ("0007", 7), (str(INT_MAX), INT_MAX), (12, 12)],
)
def test_the_integer_parser_reads_ascii_digits(raw, number):
    assert parse_int(raw) == number


@pytest.mark.parametrize("raw", ["²", "٣", "１２", "+5", "1_000", "1e3", "", " ", "x", None, True, 1.0])
def test_the_integer_parser_refuses_anything_else(raw):
    with pytest.raises(ValueError):
        parse_int(raw)
    assert int_or_none(raw) is None


@pytest.mark.parametrize("raw", [str(INT_MAX + 1), "-2147483649", "99999999999", "9" * 5000])
def test_the_integer_parser_refuses_what_the_database_cannot_hold(raw):
    with pytest.raises(ValueError):
        parse_int(raw)
    assert int_or_none(raw) is None


def test_bounds_can_be_narrowed():
    with pytest.raises(OutOfRange):
        parse_int("0", minimum=1)
    assert int_or_none("61", maximum=60) is None


def test_a_nul_byte_in_a_form_field_re_renders_the_form_with_what_was_typed(client, make, hr, db):
    unit, position = make.unit(), make.position()
    login(client, hr.nip)
    response = post_form(
        client,
        "/people/new",
        {
            "nip": "199001012015031001",
            "name": "Andreas\x00 Ricky",
            "email": "andreas.ricky@contoh.go.id",
            "employment_type": "PNS",
            "unit_id": str(unit.id),
            "position_id": str(position.id),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and REFUSED in page
    assert 'value="Andreas Ricky"' in page and 'value="andreas.ricky@contoh.go.id"' in page
    assert db.session.scalar(sa.select(Employee).where(Employee.nip == "199001012015031001")) is None


@pytest.mark.parametrize("path", ["/login", "/password/forgot"])
def test_a_nul_byte_in_a_sign_in_identifier_is_refused(client, path):
    response = post_form(
        client, path, {"identifier": "admin\x00@contoh.go.id", "password": "x"}, token_from=path
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and REFUSED in page and 'value="admin@contoh.go.id"' in page


def test_control_characters_in_a_search_get_the_400_page(client, make, hr, db):
    org = agency(make)
    cycle = open_annual(org)
    login(client, hr.nip)
    for url in (
        "/people/?q=a%00b",
        f"/cycles/{cycle.id}/overdue?q=a%00b",
        "/audit/?who=%00",
        "/audit/?action=a%01",
        "/audit/?object_id=1%1F",
        "/people/?q=%ED%A0%80",  # a surrogate written as UTF-8: not UTF-8
        "/people/?q=%FF",
        "/people/a%00b",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert REFUSED in response.get_data(as_text=True), url
    assert client.get("/people/?q=a%09b").status_code == 200  # a tab is allowed


def test_a_post_that_is_not_a_form_page_gets_the_400_page(client, make, hr, db):
    employee = make.employee("Maria Ulfah")
    login(client, hr.nip)
    response = post_form(client, f"/people/{employee.id}/active", {"active": "0\x00"}, token_from="/people/")
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    assert db.session.get(Employee, employee.id).active


def test_invalid_utf8_in_a_form_body_is_refused(client, make, hr, db):
    login(client, hr.nip)
    body = f"csrf_token={csrf_token(client, '/people/new')}&code=X1&name=Seksi%ED%A0%80&parent_id=0"
    response = client.post("/org/new", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    raw = b'--b\r\nContent-Disposition: form-data; name="na\xffme"\r\n\r\nx\r\n--b--\r\n'
    response = client.post("/org/new", data=raw, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400


def evaluation_of(db, cycle, employee) -> Evaluation:
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


@pytest.mark.parametrize("version", ["²", "١", "", "2147483648", None])
def test_an_evaluation_form_without_a_readable_version_changes_nothing(client, make, db, version):
    org = agency(make)
    cycle = open_annual(org)
    ev = evaluation_of(db, cycle, org["nurse"])
    write_skp(ev, org["nurse"])
    before = (ev.state, ev.version)
    login(client, org["nurse"].nip)
    data = {} if version is None else {"version": version}
    response = post_form(client, f"/evaluations/{ev.id}/submit-targets", data, token_from="/")
    assert response.status_code == 400 and "versi data" in response.get_data(as_text=True)
    db.session.expire_all()
    ev = db.session.get(Evaluation, ev.id)
    assert (ev.state, ev.version) == before


def test_a_feedback_field_without_a_readable_id_is_ignored(client, make, db):
    org = agency(make)
    cycle = open_annual(org)
    ev = evaluation_of(db, cycle, org["nurse"])
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, org["nurse"].account)
    evaluations.approve_targets(ev, org["head"].account)
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    cycles.advance(cycle, org["hr"].account)
    for indicator in ev.indicators:
        evaluations.save_realisation(ev, org["nurse"].account, indicator, "40", None)
    evaluations.submit_assessment(ev, org["nurse"].account)
    login(client, org["head"].nip)
    response = post_form(
        client,
        f"/evaluations/{ev.id}/review",
        {
            "version": str(ev.version),
            "results_rating": "meets",
            "behaviour_rating": "meets",
            "feedback_²": "umpan balik",
            "feedback_2147483648": "umpan balik",
            f"feedback_{ev.indicators[0].id}": "Baik",
        },
        token_from="/",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Evaluation, ev.id).indicators[0].feedback == "Baik"


def test_a_nul_byte_in_an_evidence_file_name_leaves_no_row_and_no_file(app, client, make, db):
    org = agency(make)
    cycle = open_annual(org)
    ev = evaluation_of(db, cycle, org["nurse"])
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, org["nurse"].account)
    evaluations.approve_targets(ev, org["head"].account)
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    cycles.advance(cycle, org["hr"].account)
    login(client, org["nurse"].nip)
    url = f"/evaluations/{ev.id}"
    response = client.post(
        f"{url}/indicators/{ev.indicators[0].id}/evidence",
        data={
            "csrf_token": csrf_token(client, url),
            "version": str(db.session.get(Evaluation, ev.id).version),
            "file": (io.BytesIO(b"%PDF-1.4 bukti"), "laporan\x00.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert [p for p in Path(app.instance_path).rglob("*") if p.is_file() and "evidence" in p.parts] == []


def test_reminder_days_in_unicode_digits_are_refused_next_to_the_field(client, make, db):
    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    login(client, org["hr"].nip)

    def local(days):
        return (START + timedelta(days=days)).astimezone(clock.tz()).strftime("%Y-%m-%dT%H:%M")

    data = {
        "csrf_token": csrf_token(client, f"/cycles/{cycle.id}/edit"),
        "name": "SKP Tahunan 2027",
        "kind": "annual",
        "year": "2027",
        "annual_cycle_id": "0",
        "unit_ids": str(org["kecamatan"].id),
        "target_deadline": local(25),
        "assessment_deadline": local(60),
        "review_deadline": local(80),
        "appeal_deadline": local(110),
        "appeal_window_days": "14",
        "appeal_decision_days": "14",
        "reminder_days": "7,²,1",
    }
    response = client.post(f"/cycles/{cycle.id}/edit", data=data)
    page = response.get_data(as_text=True)
    assert "Isi hari pengingat sebagai angka" in page and 'value="7,²,1"' in page
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).reminder_days == "7,3,1"
    data.update(reminder_days="14, 7,07")
    assert client.post(f"/cycles/{cycle.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).reminder_days == "14,7"


@pytest.mark.parametrize("year, message", [("²", "bilangan bulat"), ("99999999999", "di luar batas")])
def test_typed_integers_are_refused_in_bahasa_indonesia(client, make, hr, year, message):
    unit = make.unit()
    login(client, hr.nip)
    response = post_form(
        client, "/cycles/new", {"name": "SKP", "kind": "annual", "year": year, "unit_ids": str(unit.id)}
    )
    assert message in response.get_data(as_text=True)
    response = post_form(client, "/cycles/new", {"name": "SKP", "kind": "annual", "unit_ids": "2147483648"})
    assert "Pilihan tidak valid" in response.get_data(as_text=True)


def test_a_unit_id_beyond_the_database_range_is_refused(client, make, db):
    org = agency(make)
    cycle = open_annual(org)
    login(client, org["hr"].nip)
    url = f"/cycles/{cycle.id}/distribution"
    response = post_form(client, url, {"unit_id": "2147483648", "org_predikat": "baik"}, token_from=url)
    assert response.status_code == 400 and "Pilihan tidak valid" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitPredikat)) == 0


def test_ids_and_page_numbers_beyond_the_database_range(client, make, hr):
    login(client, hr.nip)
    assert client.get("/people/2147483648").status_code == 404
    assert client.get("/evaluations/99999999999999999999").status_code == 404
    assert client.get("/people/٣").status_code == 404
    assert client.get("/people/?page=99999999999999999999").status_code == 200
    assert client.get("/people/?page=2147483647").status_code == 200
    assert client.get("/people/?unit=2147483648").status_code == 200
    assert client.get("/audit/?before=99999999999999999999").status_code == 200


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_a_deadline_beyond_the_years_a_cycle_can_have_is_refused_next_to_the_field(client, make, db, value):
    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    login(client, org["hr"].nip)
    response = post_form(
        client,
        f"/cycles/{cycle.id}/edit",
        {"name": "SKP", "kind": "annual", "year": "2027", "target_deadline": value},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Isi tanggal antara tahun 2000 dan 2100" in page
    assert f'value="{value}"' in page
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).target_deadline.year == 2027


def test_an_audit_date_filter_far_in_the_past_or_future_is_ignored(client, hr):
    login(client, hr.nip)
    for query in ("since=0001-01-01", "until=9999-12-31", "since=9999-12-31&until=0001-01-01"):
        assert client.get(f"/audit/?{query}").status_code == 200, query
