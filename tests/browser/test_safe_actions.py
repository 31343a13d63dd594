"""In Chromium: an irreversible action says what it will do, with the real count, before it is
done; typed input is never thrown away by another form of the page without a warning."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import clock
from app.domain import Predikat
from app.models import Cycle, CycleState, Evaluation, EvaluationState, Evidence
from tests.conftest import PASSWORD
from tests.test_workflow_services import PAST_TARGETS, World

pytestmark = pytest.mark.browser


def sign_in(page, identifier: str) -> None:
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(identifier)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Masuk").click()


def answer_dialogs(page, answers: list[bool]) -> list[tuple[str, str]]:
    """Answer the page's dialogs in turn (True: OK, False: Batal); returns (type, message) of each."""
    seen: list[tuple[str, str]] = []
    replies = iter(answers)

    def reply(dialog) -> None:
        seen.append((dialog.type, dialog.message))
        dialog.accept() if next(replies) else dialog.dismiss()

    page.on("dialog", reply)
    return seen


def test_publishing_names_how_many_people_get_the_email(page, db, make):
    w = World(make)
    for evaluation in db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == w.cycle.id)):
        evaluation.state, evaluation.predikat = EvaluationState.FINAL, Predikat.BAIK
    cycle = db.session.get(Cycle, w.cycle.id)
    cycle.state = CycleState.APPEAL
    db.session.commit()
    dialogs = answer_dialogs(page, [False, True])

    sign_in(page, w.org["hr"].email)
    page.goto(f"/cycles/{cycle.id}/distribution")
    page.get_by_label("Jumlah per unit saja").check()
    page.get_by_role("button", name="Umumkan").click()  # "Batal": nothing happens
    expected = "Umumkan hasil? 4 pegawai akan menerima email; hasil tidak dapat diubah lagi."
    assert dialogs == [("confirm", expected)]
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).state == CycleState.APPEAL
    with page.expect_navigation():
        page.get_by_role("button", name="Umumkan").click()  # "OK"
    expect(page.get_by_role("heading", name="Hasil penilaian kinerja: SKP Tahunan 2027")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).state == CycleState.PUBLISHED


def test_adding_evidence_warns_before_a_typed_realisation_is_lost(page, db, make):
    w = World(make)
    evaluation = w.in_assessment("nurse")
    indicator = evaluation.indicators[0]
    dialogs = answer_dialogs(page, [False, False, True])

    sign_in(page, w.org["nurse"].email)
    page.goto(f"/evaluations/{evaluation.id}")
    realisation = page.get_by_label(f"Realisasi {indicator.text}", exact=True)
    realisation.fill("25")
    page.get_by_label(f"Catatan realisasi {indicator.text}", exact=True).fill("Rekap SIMPUS")
    link = page.get_by_label(f"Tautan bukti {indicator.text}", exact=True)
    link.fill("https://simpus.palangkaraya.go.id/rekap")
    page.locator("form").filter(has=link).get_by_role("button", name="Tambah bukti").click()

    # "Batal": nothing sent, the typed realisation is still there and has the focus
    assert len(dialogs) == 1 and dialogs[0][0] == "confirm"
    assert dialogs[0][1].startswith("Isian yang belum disimpan di formulir lain akan hilang")
    expect(realisation).to_have_value("25")
    expect(realisation).to_be_focused()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0

    # leaving by a link asks too ("Batal": the page stays, with what was typed)
    page.get_by_role("link", name="Lihat diagram status").click()
    assert len(dialogs) == 2 and dialogs[1][0] == "beforeunload"
    expect(realisation).to_have_value("25")

    # saving the realisation itself asks nothing about its own input
    with page.expect_navigation():
        page.locator("form").filter(has=realisation).get_by_role("button", name="Simpan realisasi").click()
    assert [kind for kind, _message in dialogs] == ["confirm", "beforeunload", "confirm"]
    assert "Tautan" in dialogs[2][1] or "bukti" in dialogs[2][1].lower()
    expect(page.get_by_text("Realisasi disimpan.")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(type(indicator), indicator.id).realisation == 25


def test_a_refused_extension_shows_why_beside_the_field_in_view_with_the_typed_date(page, db, make):
    w = World(make)
    clock.travel_to(PAST_TARGETS)  # everyone's SKP is late
    page.set_viewport_size({"width": 390, "height": 600})
    sign_in(page, w.org["hr"].email)
    page.goto(f"/cycles/{w.cycle.id}/overdue")
    last = w.org["colleague"].name
    date = page.get_by_label(f"Tenggat baru untuk {last}", exact=True)
    date.fill("2027-02-20T10:00")  # no reason: refused
    with page.expect_navigation():
        page.get_by_label(f"Alasan perpanjangan untuk {last}", exact=True).press("Enter")
    date = page.get_by_label(f"Tenggat baru untuk {last}", exact=True)
    expect(date).to_have_value("2027-02-20T10:00")
    message = page.get_by_role("alert").filter(has_text="Tuliskan alasan perpanjangan.")
    expect(message).to_be_in_viewport()
    expect(page.get_by_label(f"Alasan perpanjangan untuk {last}", exact=True)).to_be_focused()
