"""The progress log page through HTTP: who sees it, the employee's forms, the rater's verification,
refusals that keep what was typed, and files served only to those who may see the evaluation."""

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db as _db
from app.models import AuditEvent, ProgressEntry
from app.workflow.monitoring import progress
from tests.conftest import csrf_token, login, post_form
from tests.test_progress_log import PDF, Log, ev_of
from tests.workflow_helpers import START

HTML = re.compile(r"<[^>]+>")


@pytest.fixture
def log(make, db):
    return Log(make)


def url(log, tail: str = "") -> str:
    return f"/evaluations/{log.ev.id}/progres{tail}"


def entries() -> list[ProgressEntry]:
    return list(_db.session.scalars(sa.select(ProgressEntry).order_by(ProgressEntry.id)))


def versions(html: str, key: str) -> str:
    """The version the form `key` was rendered with."""
    form = html[html.index(f'id="{key}"') :]
    return re.search(r'name="version"(?: type="hidden")? value="(\d+)"', form).group(1)


def post(client, log, tail: str, data: dict, key: str, **kwargs):
    """POST a form of the log page as the page renders it (its token and version)."""
    html = client.get(url(log)).get_data(as_text=True)
    return client.post(
        url(log, tail),
        data={"csrf_token": csrf_token(client, url(log)), "version": versions(html, key), **data},
        **kwargs,
    )


def new_entry(log, **data) -> dict:
    return {"indicator": str(log.wait.id), "entry_date": "2027-03-02", "value": "25", "note": "", **data}


def test_the_employee_logs_progress_with_a_file_and_sees_it_in_her_log(client, log):
    login(client, log.org["nurse"].nip)
    page = client.get(url(log)).get_data(as_text=True)
    assert "Catat progres" in page and "Belum ada entri pada bulan atau periode ini." in page
    data = new_entry(log, note="Rata-rata antrean", file=(io.BytesIO(PDF), "antrean.pdf"))
    response = post(client, log, "", data, "entry-new", content_type="multipart/form-data")
    assert response.status_code == 302
    [entry] = entries()
    assert response.headers["Location"].endswith(f"/progres#entry-{entry.id}")
    page = client.get(url(log)).get_data(as_text=True)
    assert "Progres dicatat." in page and "Rata-rata antrean" in page and "Menunggu verifikasi" in page
    download = client.get(url(log, f"/{entry.id}/berkas/{entry.evidence[0].id}"))
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_a_refused_entry_keeps_what_was_typed_and_says_why(client, log):
    login(client, log.org["nurse"].nip)
    data = new_entry(log, entry_date="2027-04-01", value="dua lima", note="Antrean panjang hari Senin")
    response = post(client, log, "", data, "entry-new")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Tanggal tidak boleh setelah hari ini" in page and "Nilai harus berupa angka." in page
    assert (
        'value="dua lima"' in page and "Antrean panjang hari Senin" in page and 'value="2027-04-01"' in page
    )
    assert entries() == []
    response = post(client, log, "", new_entry(log, entry_date="31-02-2027"), "entry-new")
    assert response.status_code == 400 and "Isi tanggal yang valid." in response.get_data(as_text=True)
    response = post(client, log, "", new_entry(log, indicator=""), "entry-new")
    assert response.status_code == 400 and "Pilih indikator." in response.get_data(as_text=True)
    assert entries() == []


def test_the_author_edits_and_the_history_shows_the_old_values(client, log):
    entry = log.add(value="25", note="Senin")
    login(client, log.org["nurse"].nip)
    data = {"entry_date": "2027-03-02", "value": "23,5", "note": "Senin, dihitung ulang"}
    assert post(client, log, f"/{entry.id}", data, f"entry-{entry.id}").status_code == 302
    page = client.get(url(log)).get_data(as_text=True)
    assert "Riwayat perubahan (1)" in page and "23,5 menit" in page and "25 menit · Senin" in page
    # a form rendered before the change loses and keeps its input
    stale = client.post(
        url(log, f"/{entry.id}"),
        data={"csrf_token": csrf_token(client, url(log)), "version": "1", **data, "value": "99"},
    )
    assert stale.status_code == 409 and 'value="99"' in stale.get_data(as_text=True)


def test_the_rater_verifies_and_then_the_employee_can_no_longer_edit(client, log):
    entry = log.add()
    login(client, log.org["head"].nip)
    page = client.get(url(log)).get_data(as_text=True)
    assert "Catat progres" not in page and "Verifikasi" in page
    response = post(
        client, log, f"/{entry.id}/tinjau", {"step": "comment", "comment": ""}, f"entry-{entry.id}-review"
    )
    assert response.status_code == 400 and "Komentar wajib diisi." in response.get_data(as_text=True)
    response = post(
        client, log, f"/{entry.id}/tinjau", {"step": "verify", "comment": "Cocok"}, f"entry-{entry.id}-review"
    )
    assert response.status_code == 302
    _db.session.refresh(entry)
    assert entry.verified_by_id == log.head.id and entry.rater_comment == "Cocok"
    post_form(client, "/logout", {}, token_from="/")
    login(client, log.org["nurse"].nip)
    page = client.get(url(log)).get_data(as_text=True)
    assert "Terverifikasi" in page and "Ubah, tambah bukti, atau hapus" not in page
    response = client.post(
        url(log, f"/{entry.id}"),
        data={
            "csrf_token": csrf_token(client, url(log)),
            "version": str(entry.version),
            "entry_date": "2027-03-02",
            "value": "1",
        },
    )
    assert response.status_code == 400 and "sudah diverifikasi" in response.get_data(as_text=True)


def test_a_colleague_and_another_team_get_403(client, log, make):
    log.add()
    outsider = make.employee("Staf Kelurahan", unit=make.unit("Kelurahan Petuk Bukit"))
    for person in (log.org["colleague"], outsider):
        login(client, person.nip)
        assert client.get(url(log)).status_code == 403
        response = client.post(url(log), data={"csrf_token": csrf_token(client, "/"), **new_entry(log)})
        assert response.status_code == 403
        post_form(client, "/logout", {}, token_from="/")
    assert len(entries()) == 1


def test_the_appeal_handler_and_hr_read_the_log_without_forms(client, log):
    log.add(note="Catatan")
    for person in (log.org["camat"], log.org["hr"]):
        login(client, person.nip)
        page = client.get(url(log)).get_data(as_text=True)
        assert "Catatan" in page and "Catat progres" not in page and 'name="step"' not in page
        post_form(client, "/logout", {}, token_from="/")


def test_another_evaluations_entry_and_file_are_not_found_here(client, log):
    colleague_ev = ev_of(log.cycle, log.org["colleague"])
    entry = log.add(filename="a.pdf", data=PDF)
    login(client, log.org["colleague"].nip)
    assert (
        client.get(
            f"/evaluations/{colleague_ev.id}/progres/{entry.id}/berkas/{entry.evidence[0].id}"
        ).status_code
        == 404
    )
    response = client.post(
        f"/evaluations/{colleague_ev.id}/progres/{entry.id}/hapus",
        data={"csrf_token": csrf_token(client, "/"), "version": "1"},
    )
    assert response.status_code == 404
    assert len(entries()) == 1


def test_the_log_shows_the_current_month_another_month_the_year_or_what_waits(client, log):
    log.add(day=date(2027, 1, 12), note="Catatan Januari")
    entry = log.add(day=date(2027, 3, 2), note="Catatan Maret")
    progress.verify_entry(log.ev, log.head, entry)
    login(client, log.org["nurse"].nip)
    page = client.get(url(log)).get_data(as_text=True)  # today is in March
    assert "Catatan Maret" in page and "Catatan Januari" not in page
    page = client.get(url(log, "?bulan=1")).get_data(as_text=True)
    assert "Catatan Januari" in page and "Catatan Maret" not in page
    page = client.get(url(log, "?bulan=semua")).get_data(as_text=True)
    assert "Catatan Januari" in page and "Catatan Maret" in page
    page = client.get(url(log, "?bulan=belum")).get_data(as_text=True)
    assert "Catatan Januari" in page and "Catatan Maret" not in page


def test_every_step_is_audited_once(client, log):
    login(client, log.org["nurse"].nip)
    post(client, log, "", new_entry(log), "entry-new")
    [entry] = entries()
    post(client, log, f"/{entry.id}/hapus", {}, f"entry-{entry.id}-delete")
    assert entries() == []
    actions = _db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "progress_entry")
    )
    assert sorted(actions) == ["progress.added", "progress.deleted"]


def test_the_evaluation_page_summarises_the_log_and_suggests_in_the_self_assessment(client, log):
    from app.workflow import cycles

    clock.travel_to(START.replace(month=2, day=5))  # the self-assessment runs until 6 March
    log.add(day=date(2027, 1, 20), value="40")
    log.add(day=date(2027, 2, 1), value="28")
    login(client, log.org["nurse"].nip)
    page = client.get(f"/evaluations/{log.ev.id}").get_data(as_text=True)
    assert f'href="/evaluations/{log.ev.id}/progres' in page and "Log progres" in page
    cycles.advance(log.cycle, log.org["hr"].account)
    _db.session.refresh(log.ev)
    page = client.get(f"/evaluations/{log.ev.id}").get_data(as_text=True)
    assert "Saran dari log progres" in page and "<strong>28 menit</strong>" in page
    html = page[page.index(f'id="suggestion-{log.wait.id}"') :]
    version = re.search(r'name="version"(?: type="hidden")? value="(\d+)"', html).group(1)
    response = client.post(
        f"/evaluations/{log.ev.id}/indicators/{log.wait.id}/realisation",
        data={
            "csrf_token": csrf_token(client, "/"),
            "version": version,
            "realisation": "28",
            "note": "Sesuai log progres",
        },
    )
    assert response.status_code == 302
    _db.session.refresh(log.wait)
    assert log.wait.realisation == progress.suggested_realisation(log.wait, log.cycle) == 28
    page = client.get(f"/evaluations/{log.ev.id}").get_data(as_text=True)
    assert "sama dengan realisasi" in page


def test_the_raters_home_page_lists_the_log_to_verify(client, log):
    log.add()
    login(client, log.org["head"].nip)
    page = client.get("/").get_data(as_text=True)
    assert "Verifikasi log progres" in page and f"/evaluations/{log.ev.id}/progres?bulan=belum#log" in page
    assert "1 entri menunggu verifikasi" in page


def test_a_monthly_evaluation_shows_its_own_month_and_suggests_from_it(client, log):
    from tests.test_progress_log import periodic

    _monthly, ev = periodic(log, "monthly", 2)
    clock.travel_to(START.replace(month=3, day=1))  # its self-assessment runs until 1 April
    log.add(day=date(2027, 1, 28), value="40", note="Catatan Januari")
    log.add(day=date(2027, 2, 20), value="29", note="Catatan Februari")
    login(client, log.org["nurse"].nip)
    page = client.get(f"/evaluations/{ev.id}/progres").get_data(as_text=True)
    assert "Catatan Februari" in page and "Catatan Januari" not in page
    page = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
    assert "Saran dari log progres:" in page and "<strong>29 menit</strong>" in page


def test_evidence_is_added_and_removed_and_a_verification_taken_back_over_http(client, log):
    entry = log.add()
    login(client, log.org["nurse"].nip)
    response = post(
        client,
        log,
        f"/{entry.id}/berkas",
        {"file": (io.BytesIO(b"MZ bukan pdf"), "bukti.pdf")},
        f"entry-{entry.id}-evidence",
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "PDF, JPG atau PNG" in response.get_data(as_text=True)
    response = post(
        client, log, f"/{entry.id}/berkas", {"url": "https://contoh.id/rekap"}, f"entry-{entry.id}-evidence"
    )
    assert response.status_code == 302
    _db.session.refresh(entry)
    [link] = entry.evidence
    response = post(client, log, f"/{entry.id}/berkas/{link.id}/hapus", {}, f"entry-file-{link.id}-delete")
    assert response.status_code == 302
    _db.session.refresh(entry)
    assert entry.evidence == []
    post_form(client, "/logout", {}, token_from="/")
    login(client, log.org["head"].nip)
    post(client, log, f"/{entry.id}/tinjau", {"step": "verify"}, f"entry-{entry.id}-review")
    response = post(client, log, f"/{entry.id}/batal-verifikasi", {}, f"entry-{entry.id}-unverify")
    assert response.status_code == 302
    _db.session.refresh(entry)
    assert entry.verified_at is None


ROUTES = [
    ("", lambda log, entry: new_entry(log)),
    ("/{entry}", lambda log, entry: {"entry_date": "2027-03-02", "value": "1"}),
    ("/{entry}/hapus", lambda log, entry: {}),
    ("/{entry}/berkas", lambda log, entry: {"url": "https://contoh.id/x"}),
    ("/{entry}/berkas/{file}/hapus", lambda log, entry: {}),
    ("/{entry}/tinjau", lambda log, entry: {"step": "verify"}),
    ("/{entry}/batal-verifikasi", lambda log, entry: {}),
]


@pytest.mark.parametrize(("tail", "data"), ROUTES)
def test_every_route_refuses_whoever_may_not_act(client, log, make, tail, data):
    """A colleague or someone of another team: 403 on every route. The rater may not write the
    employee's entries, the employee may not verify her own: refused, nothing changes."""
    entry = log.add(url="https://contoh.id/awal")
    if "batal" in tail:
        progress.verify_entry(log.ev, log.head, entry)
    path = tail.format(entry=entry.id, file=entry.evidence[0].id)
    before = (entry.version, len(entries()), entry.verified_at)
    outsider = make.employee("Staf Kelurahan", unit=make.unit("Kelurahan Petuk Bukit"))
    for person in (log.org["colleague"], outsider):
        login(client, person.nip)
        form = {"csrf_token": csrf_token(client, "/"), "version": str(entry.version), **data(log, entry)}
        assert client.post(url(log, path), data=form).status_code == 403
        assert client.get(url(log, f"/{entry.id}/berkas/{entry.evidence[0].id}")).status_code == 403
        post_form(client, "/logout", {}, token_from="/")
    writer = "employee" if tail in ("/{entry}/tinjau", "/{entry}/batal-verifikasi") else "rater"
    person = log.org["nurse"] if writer == "employee" else log.org["head"]
    login(client, person.nip)
    form = {"csrf_token": csrf_token(client, "/"), "version": str(entry.version), **data(log, entry)}
    response = client.post(url(log, path), data=form)
    assert response.status_code == 400, (path, writer)
    assert "Hanya" in response.get_data(as_text=True)
    _db.session.expire_all()
    entry = _db.session.get(ProgressEntry, entry.id)
    assert (entry.version, len(entries()), entry.verified_at) == before
