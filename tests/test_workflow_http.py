"""The evaluation cycle through HTTP, as the pages post it: every page renders, refusals keep input."""

import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.models import Cycle, CycleState, Evaluation, EvaluationState, OutboxMessage
from app.workflow import evaluations
from tests.conftest import csrf_token, login, post_form
from tests.test_workflow_services import World
from tests.workflow_helpers import START, agency


def version_of(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="version"(?: type="hidden")? value="(\d+)"', html).group(1)


def post(client, url: str, data: dict, page: str):
    """POST as the page would: its CSRF token and the version it was rendered with."""
    token = csrf_token(client, page)
    version = version_of(client, page)
    return client.post(url, data={"csrf_token": token, "version": version, **data})


def local(dt) -> str:
    return dt.astimezone(clock.tz()).strftime("%Y-%m-%dT%H:%M")


def hr_creates_and_opens(client, org):
    login(client, org["hr"].nip)
    assert client.get("/cycles/new").status_code == 200
    response = post_form(
        client,
        "/cycles/new",
        {
            "name": "SKP Tahunan 2027",
            "kind": "annual",
            "year": "2027",
            "annual_cycle_id": "0",
            "unit_ids": [str(org["kecamatan"].id)],
            "target_deadline": local(START + timedelta(days=25)),
            "assessment_deadline": local(START + timedelta(days=60)),
            "review_deadline": local(START + timedelta(days=80)),
            "appeal_deadline": local(START + timedelta(days=110)),
            "appeal_window_days": "14",
            "appeal_decision_days": "14",
        },
        token_from="/cycles/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    cycle_url = response.headers["Location"]
    page = client.get(cycle_url).get_data(as_text=True)
    assert "Cakupan: 4 pegawai akan dinilai" in page
    assert "Camat" in page and "tidak memiliki atasan langsung" in page
    response = post(client, cycle_url + "/open", {}, cycle_url)
    assert response.status_code == 302
    post_form(client, "/logout", {}, token_from="/")
    return cycle_url


def test_walkthrough_over_http(app, client, make, db):
    clock.travel_to(START)
    org = agency(make)
    cycle_url = hr_creates_and_opens(client, org)
    cycle = db.session.scalar(sa.select(Cycle))
    assert cycle.state == CycleState.TARGET_SETTING
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 4
    ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == org["nurse"].id))
    url = f"/evaluations/{ev.id}"

    # the nurse writes her SKP; a bad indicator keeps what she typed
    login(client, org["nurse"].nip)
    assert "SKP Tahunan 2027" in client.get("/evaluations/").get_data(as_text=True)
    assert (
        post(client, f"{url}/rhk", {"kind": "main", "text": "Pelayanan pasien cepat"}, url).status_code == 302
    )
    ev = db.session.get(Evaluation, ev.id)
    db.session.refresh(ev)
    rhk_id = ev.rhks[0].id
    refused = post(
        client,
        f"{url}/rhk/{rhk_id}/indicators",
        {
            "aspect": "time",
            "text": "Waktu tunggu pasien",
            "comparator": "at_most",
            "target": "tiga puluh",
            "unit": "menit",
        },
        url,
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Target harus berupa angka" in page
    assert 'value="Waktu tunggu pasien"' in page and 'value="tiga puluh"' in page
    post(
        client,
        f"{url}/rhk/{rhk_id}/indicators",
        {
            "aspect": "time",
            "text": "Waktu tunggu pasien",
            "comparator": "at_most",
            "target": "30",
            "unit": "menit",
        },
        url,
    )
    assert post(client, f"{url}/submit-targets", {}, url).status_code == 302
    # a resubmission from the stale page (back button) is refused
    stale = client.post(f"{url}/submit-targets", data={"csrf_token": csrf_token(client, url), "version": "1"})
    assert stale.status_code == 409 and "baru saja diubah" in stale.get_data(as_text=True)
    post_form(client, "/logout", {}, token_from="/")

    # the head of the puskesmas returns it, then approves the fixed one
    login(client, org["head"].nip)
    assert "perlu tindakan Anda" in client.get("/evaluations/").get_data(as_text=True)
    empty = post(client, f"{url}/return-targets", {"comment": ""}, url)
    assert empty.status_code == 400 and "Tulis komentar" in empty.get_data(as_text=True)
    post(client, f"{url}/return-targets", {"comment": "Tambahkan indikator kepuasan."}, url)
    post_form(client, "/logout", {}, token_from="/")
    login(client, org["nurse"].nip)
    assert "Tambahkan indikator kepuasan." in client.get(url).get_data(as_text=True)
    post(
        client,
        f"{url}/rhk/{rhk_id}/indicators",
        {
            "aspect": "quality",
            "text": "Kepuasan pasien",
            "comparator": "at_least",
            "target": "85",
            "unit": "%",
        },
        url,
    )
    post(client, f"{url}/submit-targets", {}, url)
    post_form(client, "/logout", {}, token_from="/")
    login(client, org["head"].nip)
    assert post(client, f"{url}/approve-targets", {}, url).status_code == 302
    post_form(client, "/logout", {}, token_from="/")

    # HR advances; the colleague who never submitted is locked and overdue
    clock.advance(timedelta(days=26))
    login(client, org["hr"].nip)
    post(client, cycle_url + "/advance", {}, cycle_url)
    dashboard = client.get(cycle_url).get_data(as_text=True)
    assert "Perawat Rabiatul" in dashboard and "SKP terkunci" in dashboard
    post_form(client, "/logout", {}, token_from="/")

    # self-assessment with evidence
    login(client, org["nurse"].nip)
    db.session.expire_all()
    ev = db.session.get(Evaluation, ev.id)
    assert ev.state == EvaluationState.ASSESSMENT_DRAFT
    for indicator, value in zip(ev.indicators, ["25", "90"], strict=True):
        assert (
            post(
                client,
                f"{url}/indicators/{indicator.id}/realisation",
                {"realisation": value, "note": "SIMPUS"},
                url,
            ).status_code
            == 302
        )
    lying = client.post(
        f"{url}/indicators/{ev.indicators[0].id}/evidence",
        data={
            "csrf_token": csrf_token(client, url),
            "version": version_of(client, url),
            "file": (__import__("io").BytesIO(b"MZ not a pdf"), "laporan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert lying.status_code == 400 and "PDF, JPG atau PNG" in lying.get_data(as_text=True)
    ok = client.post(
        f"{url}/indicators/{ev.indicators[0].id}/evidence",
        data={
            "csrf_token": csrf_token(client, url),
            "version": version_of(client, url),
            "file": (__import__("io").BytesIO(b"%PDF-1.4 bukti"), "laporan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    post(
        client, f"{url}/indicators/{ev.indicators[1].id}/evidence", {"url": "https://survei.example/ikm"}, url
    )
    page = client.get(url).get_data(as_text=True)
    evidence_link = re.search(r'href="(/evaluations/\d+/evidence/\d+)"', page).group(1)
    assert client.get(evidence_link).data.startswith(b"%PDF")
    post(client, f"{url}/submit-assessment", {}, url)
    post_form(client, "/logout", {}, token_from="/")

    # another employee cannot open the nurse's evaluation or its evidence
    login(client, org["colleague"].nip)
    assert client.get(url).status_code == 403
    assert client.get(evidence_link).status_code == 403
    post_form(client, "/logout", {}, token_from="/")

    # the review: below expectation without feedback is refused, keeping the choices
    login(client, org["head"].nip)
    refused = post(client, f"{url}/review", {"results_rating": "below", "behaviour_rating": "meets"}, url)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "wajib disertai umpan balik tertulis" in page
    assert re.search(r'<input checked[^>]*value="below"', page)
    post(
        client,
        f"{url}/review",
        {
            "results_rating": "above",
            "behaviour_rating": "meets",
            "behaviour_collaborative": "Kolaborasi baik",
        },
        url,
    )
    post_form(client, "/logout", {}, token_from="/")

    # the nurse files a keberatan; the camat decides
    login(client, org["nurse"].nip)
    page = client.get(url).get_data(as_text=True)
    assert 'id="predikat">Baik<' in page
    post(client, f"{url}/appeal", {"reasons": "Semua target terlampaui dan kolaborasi lintas program."}, url)
    post_form(client, "/logout", {}, token_from="/")
    login(client, org["camat"].nip)
    assert "Perawat Debora" in client.get("/evaluations/").get_data(as_text=True)
    post(client, f"{url}/appeal/comment", {"addressed_to": "rater", "body": "Mohon penjelasan."}, url)
    post(
        client,
        f"{url}/appeal/decide",
        {"results_rating": "above", "behaviour_rating": "above", "reasons": "Bukti kolaborasi kuat."},
        url,
    )
    page = client.get(url).get_data(as_text=True)
    assert 'id="predikat">Sangat Baik<' in page and "Keputusan ini final" in page
    post_form(client, "/logout", {}, token_from="/")

    # HR publishes with names; the board shows them; the cycle closes
    clock.advance(timedelta(days=40))
    login(client, org["hr"].nip)
    post(client, cycle_url + "/advance", {}, cycle_url)
    post(client, cycle_url + "/advance", {}, cycle_url)
    distribution = client.get(cycle_url + "/distribution").get_data(as_text=True)
    assert "penilaian belum dinilai atasan" in distribution  # the others never wrote their SKP
    refused = post(client, cycle_url + "/distribution", {"mode": "names"}, cycle_url + "/distribution")
    assert refused.status_code == 400 and "belum dinilai atasan" in refused.get_data(as_text=True)
    rest = cycle_url + "/tidak-dinilai"
    marked = post(client, rest, {"note": "Tidak menyusun SKP sampai batas tahap."}, rest)
    assert marked.status_code == 302
    published = post(client, cycle_url + "/distribution", {"mode": "names"}, cycle_url + "/distribution")
    assert published.status_code == 302
    board = client.get(published.headers["Location"]).get_data(as_text=True)
    assert "Perawat Debora" in board and "Sangat Baik" in board
    post(client, cycle_url + "/close", {}, cycle_url)
    assert "Ditutup" in client.get(cycle_url).get_data(as_text=True)
    audit = client.get("/audit/?action=evaluation.decide_appeal").get_data(as_text=True)
    assert "Putuskan keberatan" in audit and "Camat" in audit
    assert client.get("/workflow/evaluation?state=reviewed").status_code == 200


def test_the_employee_edits_an_rhk_and_an_indicator_in_place(app, client, make, db):
    from tests.workflow_helpers import open_annual, write_skp

    org = agency(make)
    cycle = open_annual(org)
    ev = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    write_skp(ev, org["nurse"])
    rhk, indicator = ev.rhks[0], ev.rhks[0].indicators[0]
    url = f"/evaluations/{ev.id}"
    login(client, org["nurse"].nip)
    page = client.get(url).get_data(as_text=True)
    assert 'value="Waktu tunggu pasien"' in page  # the edit form is filled in
    response = post(
        client,
        f"{url}/rhk/{rhk.id}/indicators/{indicator.id}",
        {
            "aspect": "time",
            "text": "Waktu tunggu pasien rawat jalan",
            "comparator": "range",
            "target": "15",
            "target_max": "30",
            "unit": "menit",
        },
        url,
    )
    assert response.status_code == 302
    post(client, f"{url}/rhk/{rhk.id}", {"kind": "additional", "text": "Pelayanan cepat dan ramah"}, url)
    db.session.expire_all()
    indicator = db.session.get(type(indicator), indicator.id)
    assert (indicator.text, str(indicator.target), str(indicator.target_max)) == (
        "Waktu tunggu pasien rawat jalan",
        "15.00",
        "30.00",
    )
    assert db.session.get(type(rhk), rhk.id).text == "Pelayanan cepat dan ramah"
    refused = post(
        client,
        f"{url}/rhk/{rhk.id}/indicators/{indicator.id}",
        {
            "aspect": "time",
            "text": "X",
            "comparator": "range",
            "target": "30",
            "target_max": "15",
            "unit": "menit",
        },
        url,
    )
    assert refused.status_code == 400 and "Batas atas target" in refused.get_data(as_text=True)


def test_the_keberatan_form_states_the_last_moment_of_the_window(client, make):
    """Reviewed on 3 March at 10.00 WIB: the form says the keberatan may be filed until the end
    of 17 March (the 14th calendar day), 23.59 WIB."""
    w = World(make)
    ev = w.submitted_assessment()
    clock.travel_to(datetime(START.year, 3, 3, 10, 0, tzinfo=clock.tz()))
    evaluations.review(ev, w.acc("head"), {"results_rating": "meets", "behaviour_rating": "meets"})
    login(client, w.org["nurse"].nip)
    page = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
    assert "paling lambat 17 Mar 2027 23.59 WIB" in page
