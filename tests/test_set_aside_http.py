"""HR's pages for evaluations without a result: withdraw one, mark one or all the rest "tidak
dinilai", take it back; refusals keep what was typed; only HR sees them."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import Evaluation
from app.models import EvaluationState as E
from app.workflow import cycles
from tests.conftest import login, post_form
from tests.test_workflow_services import World


@pytest.fixture
def w(make) -> World:
    return World(make)


def version_on(page: str) -> str:
    return re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)


def post(client, url: str, page_url: str, data: dict):
    """POST a form of `page_url` with its CSRF token and the version it shows."""
    page = client.get(page_url).get_data(as_text=True)
    return post_form(client, url, {"version": version_on(page), **data}, token_from=page_url)


def test_hr_withdraws_and_takes_back_an_evaluation(client, w):
    colleague = w.ev("colleague")
    login(client, w.org["hr"].nip)
    page_url = f"/evaluations/{colleague.id}/pengecualian"
    skp = client.get(f"/evaluations/{colleague.id}").get_data(as_text=True)
    assert "Kecualikan dari periode atau tandai tidak dinilai" in skp
    page = client.get(page_url).get_data(as_text=True)
    assert "Dapat dilakukan setelah tahap penilaian atasan dimulai." in page  # no "tidak dinilai" yet

    refused = post(client, page_url + "/kecualikan", page_url, {"reason": "", "note": "SK Wali Kota 821/45"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Pilih alasan pengecualian." in text and "SK Wali Kota 821/45" in text
    assert 'id="reason-fout"' in text
    assert _db.session.get(Evaluation, colleague.id).state == E.TARGETS_DRAFT

    done = post(
        client, page_url + "/kecualikan", page_url, {"reason": "mutasi", "note": "SK Wali Kota 821/45"}
    )
    assert done.status_code == 302
    skp = client.get(f"/evaluations/{colleague.id}").get_data(as_text=True)
    assert (
        "Dikecualikan dari periode" in skp
        and "Mutasi keluar instansi" in skp
        and "SK Wali Kota 821/45" in skp
    )

    back = post(client, page_url + "/kembalikan", page_url, {})
    assert back.status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Evaluation, colleague.id).state == E.TARGETS_DRAFT


def test_a_decision_on_a_page_left_open_meanwhile_is_refused(client, w):
    colleague = w.ev("colleague")
    login(client, w.org["hr"].nip)
    page_url = f"/evaluations/{colleague.id}/pengecualian"
    stale = version_on(client.get(page_url).get_data(as_text=True))
    assert post(client, page_url + "/kecualikan", page_url, {"reason": "pensiun"}).status_code == 302
    post(client, page_url + "/kembalikan", page_url, {})
    again = post_form(
        client, page_url + "/kecualikan", {"version": stale, "reason": "meninggal"}, token_from=page_url
    )
    assert again.status_code == 409
    _db.session.expire_all()
    assert _db.session.get(Evaluation, colleague.id).state == E.TARGETS_DRAFT


def test_the_rest_are_listed_and_marked_tidak_dinilai_with_a_reason(client, w):
    w.submitted_assessment()
    cycles.advance(w.cycle, w.acc("hr"))  # supervisor review
    login(client, w.org["hr"].nip)
    url = f"/cycles/{w.cycle.id}/tidak-dinilai"
    page = client.get(url).get_data(as_text=True)
    for name in ("Perawat Rabiatul", "Kepala Puskesmas", "Petugas HR", "Perawat Debora"):
        assert name in page
    assert "Tandai semua yang tersisa tidak dinilai (4)" in page
    publication = client.get(f"/cycles/{w.cycle.id}/distribution").get_data(as_text=True)
    assert "4 penilaian belum dinilai atasan" in publication

    refused = post(client, url, url, {"note": "singkat"})
    assert refused.status_code == 400
    assert "paling sedikit 10 karakter" in refused.get_data(as_text=True) and "singkat" in refused.get_data(
        as_text=True
    )

    done = post(client, url, url, {"note": "Tidak dinilai sampai batas tahap penilaian atasan."})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cycles/{w.cycle.id}/distribution")
    states = _db.session.scalars(sa.select(Evaluation.state).where(Evaluation.cycle_id == w.cycle.id)).all()
    assert set(states) == {E.NOT_RATED}
    publication = client.get(f"/cycles/{w.cycle.id}/distribution").get_data(as_text=True)
    assert "Sudah diputuskan: 4 tidak dinilai, 0 dikecualikan." in publication


def test_only_hr_decides(client, w):
    colleague = w.ev("colleague")
    login(client, w.org["head"].nip)
    assert client.get(f"/evaluations/{colleague.id}/pengecualian").status_code == 403
    assert client.get(f"/cycles/{w.cycle.id}/tidak-dinilai").status_code == 403
    skp = client.get(f"/evaluations/{colleague.id}").get_data(as_text=True)
    assert "Kecualikan dari periode" not in skp
