"""The nurse's and her head's home pages in Chromium through one SKP's target setting: written and
submitted, seen by the head, returned, fixed, approved. Each home says what waits, and its link
leads straight to the form."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.models import Evaluation
from tests.browser.homes import follow, home, signed_in
from tests.workflow_helpers import agency, open_annual, write_skp

pytestmark = pytest.mark.browser


def test_nurse_and_head_homes_through_target_setting(app, browser, live_server, make, db):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # Bootstrap is not revalidated on every page
    org = agency(make)
    cycle = open_annual(org)
    ev = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    nurse = signed_in(browser, live_server, org["nurse"].nip)
    head = signed_in(browser, live_server, org["head"].nip)

    # The nurse is told to write her SKP, by when (WIB), and the link opens it.
    tasks = home(nurse)
    expect(tasks.get_by_role("link", name="Susun dan ajukan SKP")).to_be_visible()
    expect(tasks).to_contain_text("WIB")
    expect(tasks).to_contain_text("25 hari lagi")
    expect(nurse.locator("#my-cycle [aria-current='step']")).to_contain_text("Penyusunan SKP")
    write_skp(ev, org["nurse"])
    follow(nurse, tasks, "Susun dan ajukan SKP")
    assert nurse.url.endswith(f"/evaluations/{ev.id}#skp")
    with nurse.expect_navigation():
        nurse.get_by_role("button", name="Ajukan SKP kepada pejabat penilai").click()

    # Submitted: nothing waits for her; her head has it first in his list and in his team queue.
    expect(home(nurse)).to_contain_text("Tidak ada yang perlu Anda kerjakan saat ini.")
    expect(nurse.locator("#my-cycle")).to_contain_text("Menunggu Kepala Puskesmas menetapkan SKP Anda")
    tasks = home(head)
    first = tasks.locator("li.task").first
    expect(first).to_contain_text("Tetapkan atau kembalikan SKP")
    expect(first).to_contain_text("Perawat Debora")
    expect(head.locator("#team-counts")).to_contain_text("1 menunggu tindakan Anda")
    expect(head.locator("#team-list li").first).to_contain_text("Perawat Debora")

    # He returns it with a comment; she sees the fix task, and it opens on his comment.
    follow(head, tasks, "Tetapkan atau kembalikan SKP")
    head.get_by_label("Komentar untuk pegawai").fill("Indikator kepuasan perlu sumber data.")
    with head.expect_navigation():
        head.get_by_role("button", name="Kembalikan SKP").click()
    expect(home(head).get_by_role("link", name="Tetapkan atau kembalikan SKP")).to_have_count(0)
    tasks = home(nurse)
    follow(nurse, tasks, "Perbaiki SKP yang dikembalikan, lalu ajukan lagi")
    expect(nurse.locator("#returned")).to_contain_text("Indikator kepuasan perlu sumber data.")
    with nurse.expect_navigation():
        nurse.get_by_role("button", name="Ajukan SKP kepada pejabat penilai").click()

    # He approves it; her first step is done and the next one is ahead of her.
    follow(head, home(head), "Tetapkan atau kembalikan SKP")
    with head.expect_navigation():
        head.get_by_role("button", name="Tetapkan SKP").click()
    expect(home(head).get_by_role("link", name="Tetapkan atau kembalikan SKP")).to_have_count(0)
    expect(head.locator("#team-counts")).to_contain_text("0 menunggu tindakan Anda")
    expect(home(nurse)).to_contain_text("Tidak ada yang perlu Anda kerjakan saat ini.")
    steps = nurse.locator("#my-cycle ol li")
    expect(steps.nth(0)).to_contain_text("Selesai")
    expect(steps.nth(1)).to_contain_text("Berikutnya, dibuka saat tahap ini dimulai")

    # At phone width the head's home fits the screen.
    head.set_viewport_size({"width": 390, "height": 800})
    home(head)
    assert head.evaluate("document.documentElement.scrollWidth") <= 390
    for page in (nurse, head):
        page.context.close()
