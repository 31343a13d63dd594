"""In Chromium: HR hands a Kasi's whole team to a Plt.; the Plt. approves an SKP the same minute and
the Kasi, whose page was still open, no longer can."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.models import Evaluation, EvaluationState
from tests.conftest import PASSWORD
from tests.test_workflow_services import World

pytestmark = pytest.mark.browser


def sign_in(page, identifier: str) -> None:
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(identifier)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Masuk").click()


def accept_dialogs(page) -> list[str]:
    """Answer every confirmation with OK; the questions asked, in order."""
    asked: list[str] = []

    def reply(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", reply)
    return asked


def test_hr_moves_a_kasis_team_to_a_plt_who_approves_at_once_and_the_kasi_no_longer_can(
    browser, live_server, db, make
):
    w = World(make)
    kasi, nurse = w.org["head"], w.org["nurse"]
    plt = make.employee("Plt. Kepala Puskesmas", supervisor=w.org["camat"], unit=w.org["kecamatan"])
    evaluation = w.submitted_targets("nurse")

    def person(identifier: str):
        context = browser.new_context(base_url=live_server, locale="id-ID")
        context.set_default_timeout(10_000)
        page = context.new_page()
        sign_in(page, identifier)
        return context, page

    kasi_context, kasi_page = person(kasi.nip)
    kasi_page.goto(f"/evaluations/{evaluation.id}")
    approve_as_kasi = kasi_page.get_by_role("button", name="Tetapkan SKP")
    expect(approve_as_kasi).to_be_visible()  # the Kasi's page is open, ready to approve

    hr_context, hr_page = person(w.org["hr"].nip)
    asked = accept_dialogs(hr_page)
    hr_page.goto(f"/people/{kasi.id}")
    hr_page.get_by_role("link", name="Pindahkan semua yang dinilainya kepada pejabat lain").click()
    expect(hr_page.get_by_label("NIP pejabat sekarang")).to_have_value(kasi.nip)
    hr_page.get_by_label("NIP pejabat pengganti (Plt./Plh. atau pejabat baru)").fill(plt.nip)
    hr_page.get_by_label("Alasan").fill("Plt. selama Kepala Puskesmas menjalani cuti besar")
    hr_page.get_by_role("button", name="Pratinjau").click()
    expect(hr_page.get_by_text("2 penilaian akan dipindahkan kepada Plt. Kepala Puskesmas")).to_be_visible()
    assert db.session.scalar(sa.select(Evaluation.rater_id).where(Evaluation.id == evaluation.id)) == kasi.id
    with hr_page.expect_navigation():
        hr_page.get_by_role("button", name="Pindahkan 2 penilaian").click()
    assert asked[-1].startswith("Pindahkan 2 penilaian dari Kepala Puskesmas kepada Plt. Kepala Puskesmas?")
    expect(hr_page.get_by_text("2 penilaian dipindahkan dari Kepala Puskesmas")).to_be_visible()

    plt_context, plt_page = person(plt.nip)
    accept_dialogs(plt_page)
    plt_page.goto(f"/evaluations/{evaluation.id}")
    expect(plt_page.get_by_text(nurse.name).first).to_be_visible()
    with plt_page.expect_navigation():
        plt_page.get_by_role("button", name="Tetapkan SKP").click()
    db.session.expire_all()
    assert db.session.get(Evaluation, evaluation.id).state == EvaluationState.TARGETS_APPROVED
    expect(plt_page.locator("#timeline")).to_contain_text("Pejabat dipindahkan oleh admin kepegawaian")

    # The Kasi's page was open all along: approving from it now is refused.
    accept_dialogs(kasi_page)
    with kasi_page.expect_navigation():
        approve_as_kasi.click()
    expect(kasi_page.get_by_role("button", name="Tetapkan SKP")).to_have_count(0)
    kasi_page.goto(f"/evaluations/{w.ev('colleague').id}")
    expect(kasi_page.get_by_role("button", name="Tetapkan SKP")).to_have_count(0)
    for context in (kasi_context, hr_context, plt_context):
        context.close()
