"""Reassignment through HR's pages: preview then confirm, one employee's evaluations, the people hooks."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import Evaluation, Reassignment
from tests.conftest import csrf_token, login
from tests.test_workflow_services import World

REASON = "Plh. selama Kepala Puskesmas cuti besar"


@pytest.fixture
def w(make) -> World:
    return World(make)


@pytest.fixture
def plt(make, w):
    return make.employee("Plt. Kepala Puskesmas", supervisor=w.org["camat"], unit=w.org["kecamatan"])


@pytest.fixture
def hr_client(client, w):
    login(client, w.org["hr"].nip)
    return client


def rater_of(w, who: str) -> int:
    return _db.session.scalar(sa.select(Evaluation.rater_id).where(Evaluation.employee_id == w.org[who].id))


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def bulk(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/reassign/"),
        "role": "rater",
        "reason": REASON,
        "until": "",
        **fields,
    }
    return client.post("/reassign/", data=data)


def test_only_hr_opens_the_reassignment_pages(client, w):
    login(client, w.org["head"].nip)
    assert client.get("/reassign/").status_code == 403
    assert client.get(f"/reassign/employee/{w.org['nurse'].id}").status_code == 403


def test_the_preview_counts_and_moves_nothing_then_the_confirmation_moves_them(hr_client, w, plt):
    head = w.org["head"]
    preview = bulk(hr_client, from_nip=head.nip, to_nip=plt.nip)
    assert preview.status_code == 200
    page = text_of(preview)
    assert "2 penilaian akan dipindahkan kepada Plt. Kepala Puskesmas" in page
    html = preview.get_data(as_text=True)
    assert 'data-confirm="Pindahkan 2 penilaian dari Kepala Puskesmas kepada Plt. Kepala Puskesmas?' in html
    assert rater_of(w, "nurse") == head.id
    done = bulk(hr_client, from_nip=head.nip, to_nip=plt.nip, expected="2")
    assert done.status_code == 302
    assert rater_of(w, "nurse") == rater_of(w, "colleague") == plt.id
    assert "2 penilaian dipindahkan dari Kepala Puskesmas" in text_of(hr_client.get("/reassign/"))


def test_a_plh_with_an_end_date_is_listed_as_running(hr_client, w, plt):
    head = w.org["head"]
    assert (
        bulk(hr_client, from_nip=head.nip, to_nip=plt.nip, until="2027-02-14", expected="2").status_code
        == 302
    )
    page = text_of(hr_client.get("/reassign/"))
    assert (
        "Plt. Kepala Puskesmas menggantikan Kepala Puskesmas sebagai pejabat penilai untuk 2 penilaian"
        in page
    )
    assert "14 Februari 2027" in page
    row = _db.session.scalars(sa.select(Reassignment)).first()
    assert row.until.isoformat() == "2027-02-14T17:00:00+00:00"  # midnight WIB after the last day


def test_a_stale_preview_is_refused_with_the_new_count_and_the_input_kept(hr_client, w, plt):
    head = w.org["head"]
    response = bulk(hr_client, from_nip=head.nip, to_nip=plt.nip, expected="5")
    assert response.status_code == 409
    page = text_of(response)
    assert "Jumlah penilaian berubah sejak pratinjau (sekarang 2)" in page
    assert plt.nip in response.get_data(as_text=True)
    assert rater_of(w, "nurse") == head.id


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"to_nip": "199001012020011001"}, "Tidak ada pegawai dengan NIP 199001012020011001"),
        ({"reason": ""}, "Tuliskan alasan pemindahan"),
        ({"until": "2020-01-01"}, "Tanggal berakhir harus hari ini atau sesudahnya"),
        ({"until": "kemarin"}, "Isi tanggal yang valid"),
    ],
)
def test_refused_input_says_why_next_to_the_field_and_keeps_what_was_typed(
    hr_client, w, plt, fields, message
):
    response = bulk(hr_client, **{"from_nip": w.org["head"].nip, "to_nip": plt.nip, **fields})
    assert response.status_code == 400
    assert message in text_of(response)
    assert REASON in response.get_data(as_text=True) or fields.get("reason") == ""
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Reassignment)) == 0


def test_one_employees_evaluation_gets_a_new_rater_from_the_employee_page(hr_client, w, plt):
    nurse = w.org["nurse"]
    ev = w.ev("nurse")
    page = hr_client.get(f"/reassign/employee/{nurse.id}?evaluation={ev.id}&rater={plt.nip}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'value="{plt.nip}"' in html
    data = {
        "csrf_token": csrf_token(hr_client, "/reassign/"),
        "evaluation_ids": [str(ev.id)],
        "versions": f"{ev.id}:{ev.version}",
        "rater_nip": plt.nip,
        "handler_nip": "",
        "reason": REASON,
        "until": "",
    }
    stale = hr_client.post(
        f"/reassign/employee/{nurse.id}", data={**data, "versions": f"{ev.id}:{ev.version + 1}"}
    )
    assert stale.status_code == 409 and "baru saja diubah" in text_of(stale)
    response = hr_client.post(f"/reassign/employee/{nurse.id}", data=data)
    assert response.status_code == 302
    assert rater_of(w, "nurse") == plt.id and rater_of(w, "colleague") == w.org["head"].id
    history = text_of(hr_client.get(f"/reassign/employee/{nurse.id}"))
    assert "Pejabat penilai: Kepala Puskesmas → Plt. Kepala Puskesmas" in history
    timeline = text_of(hr_client.get(f"/evaluations/{ev.id}"))
    assert "Pejabat dipindahkan oleh admin kepegawaian" in timeline
    assert "Kepala Puskesmas → Plt. Kepala Puskesmas" in timeline


def test_the_rater_cannot_be_the_employee(hr_client, w):
    nurse = w.org["nurse"]
    ev = w.ev("nurse")
    data = {
        "csrf_token": csrf_token(hr_client, "/reassign/"),
        "evaluation_ids": [str(ev.id)],
        "versions": f"{ev.id}:{ev.version}",
        "rater_nip": nurse.nip,
        "reason": REASON,
    }
    response = hr_client.post(f"/reassign/employee/{nurse.id}", data=data)
    assert response.status_code == 400
    assert "tidak dapat menilai dirinya sendiri" in text_of(response)


def test_changing_a_supervisor_offers_to_move_the_evaluations_too(hr_client, w, plt):
    nurse = w.org["nurse"]
    page = hr_client.get(f"/people/{nurse.id}/edit").get_data(as_text=True)
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page))
    data = {
        "csrf_token": fields["csrf_token"],
        "version": fields["version"],
        "nip": nurse.nip,
        "name": nurse.name,
        "email": nurse.email,
        "employment_type": "PNS",
        "unit_id": str(nurse.unit_id),
        "position_id": str(nurse.position_id),
        "supervisor_nip": plt.nip,
    }
    response = hr_client.post(f"/people/{nurse.id}/edit", data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert (
        "1 penilaian Perawat Debora yang sedang berjalan masih dinilai pejabat penilai sebelumnya"
        in text_of(response)
    )
    link = re.search(
        r'href="(/reassign/employee/\d+\?[^"]+)">Pindahkan juga kepada Plt. Kepala Puskesmas', html
    )
    assert link
    prefilled = hr_client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'value="{plt.nip}"' in prefilled
    assert rater_of(w, "nurse") == w.org["head"].id  # nothing moves until HR confirms


def test_deactivating_someone_who_still_rates_is_refused_with_a_link_to_move_them(hr_client, w, plt):
    head = w.org["head"]
    for member in ("nurse", "colleague"):
        w.org[member].supervisor = plt
    _db.session.commit()
    response = hr_client.post(
        f"/people/{head.id}/active",
        data={"csrf_token": csrf_token(hr_client, f"/people/{head.id}"), "active": "0"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "tidak dapat dinonaktifkan" in text_of(response)
    assert (
        f'href="/reassign/?from={head.nip}&amp;role=rater"' in html
        or f'href="/reassign/?role=rater&amp;from={head.nip}"' in html
    )
    _db.session.refresh(head)
    assert head.active


def test_an_escalated_keberatan_page_says_to_name_a_new_appeal_handler(hr_client, w, plt):
    from datetime import timedelta

    from app import clock
    from app.jobs import DueReport, escalate_appeals

    ev = w.appealed()
    clock.advance(timedelta(days=15))
    escalate_appeals(DueReport())
    page = text_of(hr_client.get(f"/reassign/employee/{w.org['nurse'].id}?evaluation={ev.id}"))
    assert "belum diputus oleh Camat sampai batas waktu" in page
    assert "isi NIP atasan pejabat penilai baru (misalnya Plt.)" in page


def test_the_plts_home_lists_the_moved_team_and_the_old_heads_no_longer_does(client, w, plt):
    from app.workflow import reassign

    w.submitted_targets("nurse")
    login(client, w.org["head"].nip)
    assert "Perawat Debora" in text_of(client.get("/"))
    reassign.reassign_all("rater", w.org["head"], plt, REASON, None, w.acc("hr"))
    assert "Perawat Debora" not in text_of(client.get("/"))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, plt.nip)
    assert "Perawat Debora" in text_of(client.get("/"))
    assert "Perawat Debora" in text_of(client.get("/evaluations/"))
