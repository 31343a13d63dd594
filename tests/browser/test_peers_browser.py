"""In Chromium: the head asks a colleague for input on the nurse's behaviour from her review, the
colleague answers from her home page, the head reads it beside the review form, and the nurse sees
nothing of it."""

import pytest
from playwright.sync_api import expect

from app.domain import CoreValue
from tests.conftest import PASSWORD
from tests.test_workflow_services import World

pytestmark = pytest.mark.browser


def person(browser, live_server, identifier: str):
    context = browser.new_context(base_url=live_server, locale="id-ID")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(identifier)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Masuk").click()
    return context, page


def test_the_head_asks_a_colleague_who_answers_and_the_nurse_sees_nothing(browser, live_server, db, make):
    w = World(make)
    ev = w.submitted_assessment()

    _head_context, head = person(browser, live_server, w.org["head"].nip)
    head.goto(f"/evaluations/{ev.id}")
    expect(head.locator("#peer-note")).to_contain_text("tidak menentukan rating perilaku kerja")
    head.get_by_role("link", name="Minta masukan rekan kerja").click()
    head.get_by_label("Cari nama atau NIP").fill("rabiat")
    head.get_by_role("button", name="Cari").click()
    head.get_by_label("Perawat Rabiatul").check()
    with head.expect_navigation():
        head.get_by_role("button", name="Kirim permintaan").click()
    expect(head.get_by_text("Permintaan masukan dikirim kepada 1 rekan kerja.")).to_be_visible()
    expect(head.locator("#asked")).to_contain_text("menunggu")

    _colleague_context, colleague = person(browser, live_server, w.org["colleague"].nip)
    colleague.get_by_role("link", name="Beri masukan perilaku kerja untuk Perawat Debora").click()
    # leaving one value unanswered is refused, with what was typed kept
    colleague.locator("#value-service").get_by_label("Komentar (opsional)").fill("Sigap dan ramah di poli.")
    with colleague.expect_navigation():
        colleague.get_by_role("button", name="Kirim masukan").click()
    expect(colleague.locator("#value-service")).to_contain_text("Pilih salah satu")
    expect(colleague.locator("#value-service").get_by_label("Komentar (opsional)")).to_have_value(
        "Sigap dan ramah di poli."
    )
    for value in CoreValue:
        choice = "Di atas ekspektasi" if value is CoreValue.SERVICE else "Sesuai ekspektasi"
        colleague.locator(f"#value-{value.value}").get_by_label(choice).check()
    with colleague.expect_navigation():
        colleague.get_by_role("button", name="Kirim masukan").click()
    expect(colleague.get_by_text("Terima kasih, masukan Anda tersimpan.")).to_be_visible()

    head.goto(f"/evaluations/{ev.id}")
    summary = head.locator("#peer-input")
    expect(summary).to_contain_text("1 dari 1 rekan kerja sudah memberi masukan")
    expect(summary).to_contain_text("Sigap dan ramah di poli.")
    expect(summary).to_contain_text("1 di atas ekspektasi")

    _nurse_context, nurse = person(browser, live_server, w.org["nurse"].nip)
    nurse.goto(f"/evaluations/{ev.id}")
    expect(nurse.locator("#timeline")).to_be_visible()
    expect(nurse.get_by_text("Perawat Rabiatul")).to_have_count(0)
    expect(nurse.get_by_text("Sigap dan ramah")).to_have_count(0)
    assert nurse.goto(f"/evaluations/{ev.id}/rekan").status == 403
