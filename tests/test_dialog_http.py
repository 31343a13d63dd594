"""The dialog kinerja pages as their users meet them: the rater records a dialogue with follow-ups,
the employee reads and acknowledges it and marks her follow-up done, a refused form keeps what
was typed, the appeal handler reads along in a keberatan, and HR or a colleague see nothing.
"""

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock, storage
from app.extensions import db as _db
from app.models import Evaluation
from app.models.monitoring import FeedbackAttachment, FeedbackRecord, FollowUp
from app.workflow.monitoring import dialog
from tests.conftest import csrf_token, login, post_form
from tests.workflow_helpers import START, agency, open_annual

TODAY = START.date()
PDF = b"%PDF-1.4\n% notulen dialog\n"


@pytest.fixture
def world(make, client):
    org = agency(make)
    cycle = open_annual(org)
    ev = _db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    return org, cycle, ev


def post(client, url: str, data: dict, page: str, **kwargs):
    """POST a form of the dialog page with the token the page carries."""
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data}, **kwargs)


def new_record(**extra) -> dict:
    data = {
        "kind": "dialog",
        "held_on": TODAY.isoformat(),
        "notes": "Waktu tunggu poli umum 45 menit; disepakati uji coba antrean daring.",
        "follow_ups-0-action": "Uji coba antrean daring di poli umum",
        "follow_ups-0-due_on": (TODAY + timedelta(days=5)).isoformat(),
        "follow_ups-0-owner": "employee",
        "follow_ups-1-action": "",
        "follow_ups-1-due_on": "",
        "follow_ups-1-owner": "employee",
        "follow_ups-2-action": "",
        "follow_ups-2-due_on": "",
        "follow_ups-2-owner": "rater",
        "url": "",
    }
    data.update(extra)
    return data


def test_a_dialogue_from_recording_to_acknowledgement_and_follow_up_done(app, client, world):
    org, _cycle, ev = world
    page = f"/evaluations/{ev.id}/dialog"
    login(client, org["head"].nip)
    form_page = client.get(page)
    assert form_page.status_code == 200
    assert "Catat dialog kinerja, umpan balik, bimbingan, atau konseling" in form_page.get_data(as_text=True)
    data = new_record(file=(io.BytesIO(PDF), "notulen.pdf"))
    saved = post(client, page, data, page, content_type="multipart/form-data")
    record = _db.session.scalar(sa.select(FeedbackRecord))
    assert saved.status_code == 302 and saved.location.endswith(f"{page}#record-{record.id}")
    (attachment,) = _db.session.scalars(sa.select(FeedbackAttachment)).all()
    download = client.get(f"{page}/{record.id}/berkas/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]

    post_form(client, "/logout", {}, token_from="/")
    login(client, org["nurse"].nip)
    home = client.get("/").get_data(as_text=True)
    assert "Baca dan konfirmasi 1 catatan dialog kinerja dari atasan" in home
    assert "Tindak lanjut: Uji coba antrean daring di poli umum" in home
    evaluation_page = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
    assert "Waktu tunggu poli umum 45 menit" in evaluation_page
    assert "1 catatan menunggu konfirmasi Anda" in evaluation_page
    html = client.get(page).get_data(as_text=True)
    version = re.search(
        rf'action="{page}/{record.id}/acknowledge".*?name="version"[^>]*value="(\d+)"', html, re.S
    )
    acknowledged = post(client, f"{page}/{record.id}/acknowledge", {"version": version.group(1)}, page)
    assert acknowledged.status_code == 302
    follow_up = _db.session.scalar(sa.select(FollowUp))
    done = post(client, f"{page}/follow-ups/{follow_up.id}/done", {"note": "Berjalan sejak Senin."}, page)
    assert done.status_code == 302 and done.location.endswith(f"#follow-up-{follow_up.id}")
    _db.session.expire_all()
    assert _db.session.get(FeedbackRecord, record.id).acknowledged_at is not None
    assert _db.session.get(FollowUp, follow_up.id).done_at is not None
    html = client.get(page).get_data(as_text=True)
    assert "Dikonfirmasi pegawai" in html and "Berjalan sejak Senin." in html
    assert "Baca dan konfirmasi" not in client.get("/").get_data(as_text=True)


def test_a_refused_record_keeps_what_was_typed(client, world):
    org, _cycle, ev = world
    page = f"/evaluations/{ev.id}/dialog"
    login(client, org["head"].nip)
    typed = new_record(
        notes="Catatan yang panjang dan penting",
        **{"follow_ups-0-due_on": (TODAY - timedelta(days=3)).isoformat()},
    )
    response = post(client, page, typed, page)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Tenggat tidak boleh sebelum tanggal pelaksanaan." in html
    assert "Catatan yang panjang dan penting" in html
    assert 'value="Uji coba antrean daring di poli umum"' in html
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRecord)) == 0
    empty = post(client, page, new_record(notes="  ", held_on=""), page)
    html = empty.get_data(as_text=True)
    assert empty.status_code == 400
    assert "Catatan wajib diisi." in html and "Isi tanggal pelaksanaan." in html
    future = post(client, page, new_record(held_on=(TODAY + timedelta(days=2)).isoformat()), page)
    assert "Tanggal pelaksanaan tidak boleh setelah hari ini." in future.get_data(as_text=True)


def test_the_author_changes_a_record_and_the_page_shows_its_history(client, world):
    org, _cycle, ev = world
    record = dialog.add_record(ev, org["head"].account, "feedback", TODAY, "Umpan balik pertama.")
    page = f"/evaluations/{ev.id}/dialog"
    login(client, org["head"].nip)
    changed = post(
        client,
        f"{page}/{record.id}",
        {
            "kind": "coaching",
            "held_on": TODAY.isoformat(),
            "notes": "Bimbingan: antrean daring.",
            "version": "1",
        },
        page,
    )
    assert changed.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "diubah" in html and "Umpan balik pertama." in html and "Bimbingan: antrean daring." in html
    stale = post(
        client,
        f"{page}/{record.id}",
        {"kind": "coaching", "held_on": TODAY.isoformat(), "notes": "Tulisan yang kalah.", "version": "1"},
        page,
    )
    assert stale.status_code == 409 and "Tulisan yang kalah." in stale.get_data(as_text=True)


def test_the_employee_writes_a_note_and_cannot_record_for_the_rater(client, world):
    org, _cycle, ev = world
    page = f"/evaluations/{ev.id}/dialog"
    login(client, org["nurse"].nip)
    html = client.get(page).get_data(as_text=True)
    assert "Tulis catatan atau permintaan dialog" in html
    saved = post(client, page, {"kind": "note", "held_on": TODAY.isoformat(), "notes": "Mohon dialog."}, page)
    assert saved.status_code == 302
    forged = post(client, page, {"kind": "coaching", "held_on": TODAY.isoformat(), "notes": "Palsu"}, page)
    assert forged.status_code == 400
    assert [r.kind.value for r in _db.session.scalars(sa.select(FeedbackRecord))] == ["note"]


@pytest.mark.parametrize("who", ["hr", "colleague"])
def test_hr_and_colleagues_get_403_and_see_nothing(client, world, who):
    org, _cycle, ev = world
    record = dialog.add_record(
        ev,
        org["head"].account,
        "counselling",
        TODAY,
        "Konseling rahasia tentang kedisiplinan.",
        [dialog.FollowUpInput("Datang tepat waktu", TODAY + timedelta(days=3), "employee", 0)],
        url="https://drive.example.go.id/x",
    )
    follow_up = record.follow_ups[0]
    page = f"/evaluations/{ev.id}/dialog"
    login(client, org[who].nip)
    assert client.get(page).status_code == 403
    assert client.get(f"{page}/{record.id}/berkas/{record.attachments[0].id}").status_code == 403
    token = csrf_token(client, "/")
    for url in (
        page,
        f"{page}/{record.id}",
        f"{page}/{record.id}/acknowledge",
        f"{page}/{record.id}/attachments",
        f"{page}/follow-ups/{follow_up.id}/done",
        f"{page}/follow-ups/{follow_up.id}/reopen",
    ):
        assert client.post(url, data={"csrf_token": token, "version": "1"}).status_code == 403, url
    if who == "hr":  # HR reads the evaluation page, without the records
        html = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
        assert "Konseling rahasia" not in html and "Datang tepat waktu" not in html
    assert "Konseling rahasia" not in client.get("/").get_data(as_text=True)


def test_the_appeal_handler_reads_the_records_but_writes_none(client, world):
    org, _cycle, ev = world
    dialog.add_record(ev, org["head"].account, "coaching", TODAY, "Bimbingan tentang pelaporan SIMPUS.")
    page = f"/evaluations/{ev.id}/dialog"
    login(client, org["camat"].nip)
    html = client.get(page).get_data(as_text=True)
    assert "Bimbingan tentang pelaporan SIMPUS." in html
    assert "dapat membaca catatan ini tetapi tidak menulisnya" in html
    assert 'action="' + page + '"' not in html
    refused = post(client, page, new_record(), page)
    assert refused.status_code == 400
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRecord)) == 1


def test_unknown_or_foreign_rows_are_404(client, world, make):
    org, cycle, ev = world
    other = _db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["colleague"].id
        )
    )
    record = dialog.add_record(other, org["head"].account, "feedback", TODAY, "Untuk rekan.")
    login(client, org["head"].nip)
    assert client.get(f"/evaluations/{ev.id}/dialog/{record.id}/berkas/1").status_code == 404
    assert client.get("/evaluations/999999/dialog").status_code == 404
    token = csrf_token(client, "/")
    assert (
        client.post(
            f"/evaluations/{ev.id}/dialog/{record.id}/acknowledge", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_the_author_attaches_later_and_a_fake_file_is_refused_leaving_nothing(app, client, world):
    org, _cycle, ev = world
    record = dialog.add_record(ev, org["head"].account, "feedback", TODAY, "Umpan balik laporan bulanan.")
    page = f"/evaluations/{ev.id}/dialog"
    url = f"{page}/{record.id}/attachments"
    login(client, org["head"].nip)
    fake = post(
        client,
        url,
        {"version": "1", "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "laporan.pdf"), "url": ""},
        page,
        content_type="multipart/form-data",
    )
    assert fake.status_code == 400 and "Berkas harus PDF, JPG atau PNG" in fake.get_data(as_text=True)
    empty = post(client, url, {"version": "1", "url": ""}, page)
    assert empty.status_code == 400 and "Pilih berkas atau isi tautan." in empty.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackAttachment)) == 0
    evidence = storage.evidence_store().root
    assert not evidence.exists() or list(evidence.iterdir()) == []
    link = post(client, url, {"version": "1", "url": "https://drive.example.go.id/laporan"}, page)
    assert link.status_code == 302
    assert "https://drive.example.go.id/laporan" in client.get(page).get_data(as_text=True)


def test_the_owner_reopens_a_follow_up_marked_done_by_mistake(client, world):
    org, _cycle, ev = world
    record = dialog.add_record(
        ev,
        org["head"].account,
        "dialog",
        TODAY,
        "Dialog triwulan.",
        [dialog.FollowUpInput("Ajukan tambahan petugas", TODAY + timedelta(days=9), "rater", 0)],
    )
    follow_up = record.follow_ups[0]
    dialog.complete_follow_up(follow_up, org["head"].account)
    page = f"/evaluations/{ev.id}/dialog"
    login(client, org["head"].nip)
    assert "Buka kembali" in client.get(page).get_data(as_text=True)
    reopened = post(client, f"{page}/follow-ups/{follow_up.id}/reopen", {}, page)
    assert reopened.status_code == 302
    _db.session.expire_all()
    assert _db.session.get(FollowUp, follow_up.id).done_at is None
    again = post(client, f"{page}/follow-ups/{follow_up.id}/reopen", {}, page)
    assert again.status_code == 400 and "belum ditandai selesai" in again.get_data(as_text=True)


def test_the_evaluation_document_lists_the_records(client, world):
    from pypdf import PdfReader

    from app.workflow import cycles, evaluations
    from tests.workflow_helpers import write_skp

    org, cycle, ev = world
    nurse, head = org["nurse"].account, org["head"].account
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, nurse)
    evaluations.approve_targets(ev, head)
    record = dialog.add_record(
        ev,
        head,
        "counselling",
        TODAY,
        "Konseling tentang keterlambatan laporan.",
        [dialog.FollowUpInput("Kirim laporan tiap Jumat", TODAY + timedelta(days=7), "employee", 0)],
    )
    dialog.acknowledge(record, nurse)
    clock.travel_to(cycle.target_deadline + timedelta(days=1))
    cycles.advance(cycle, org["hr"].account)
    _db.session.refresh(ev)
    for indicator, value in zip(ev.indicators, ("25", "90"), strict=True):
        evaluations.save_realisation(ev, nurse, indicator, value, "Data SIMPUS")
    evaluations.submit_assessment(ev, nurse)
    evaluations.review(ev, head, {"results_rating": "meets", "behaviour_rating": "meets"})
    login(client, org["nurse"].nip)
    response = client.get(f"/evaluations/{ev.id}/evaluasi.pdf")
    assert response.status_code == 200
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "CATATAN DIALOG KINERJA DAN PEMBINAAN" in text
    assert "Konseling tentang keterlambatan laporan." in text
    assert "Kirim laporan tiap Jumat" in text
