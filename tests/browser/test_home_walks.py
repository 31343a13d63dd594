"""Each role's home page in Chromium through a whole cycle (the nurse's and her head's target
setting in detail is test_home_browser.py's): every step is taken from a task link on the home
page, and back home the list says what is left.

HR opens the cycle and follows it (progress, the overdue count that matches the cycle page, one
person's extension, the phases, the announcement); the nurse reports and objects; her head
reviews and explains; the camat decides. The steps no home is asserted for (the other SKPs) are
set up through the workflow services. The app clock, shared with the live server in this
process, moves past the deadlines.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import clock
from app.models import Evaluation
from app.workflow import cycles, evaluations
from tests.browser.homes import follow, home, signed_in, submit
from tests.workflow_helpers import START, agency, cycle_data, write_skp

pytestmark = pytest.mark.browser

COVERED = 4  # the head, both nurses and HR have a rater inside the kecamatan; the camat has not


def typed(moment) -> str:
    """What a datetime-local input takes."""
    return moment.astimezone(clock.tz()).strftime("%Y-%m-%dT%H:%M")


def approved(ev, employee, rater) -> None:
    """An SKP written, submitted and approved through the services."""
    write_skp(ev, employee)
    evaluations.submit_targets(ev, employee.account)
    evaluations.approve_targets(ev, rater.account)


def rated(ev, employee, rater) -> None:
    """A self-assessment reported, submitted and rated through the services."""
    for indicator, value in zip(ev.indicators, ["28", "86"], strict=True):
        evaluations.save_realisation(ev, employee.account, indicator, value, "Rekap bulanan")
    evaluations.submit_assessment(ev, employee.account)
    evaluations.review(ev, rater.account, {"results_rating": "meets", "behaviour_rating": "meets"})


def test_four_homes_through_a_whole_cycle(app, browser, live_server, make, db):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # Bootstrap is not revalidated on every page
    org = agency(make)
    clock.travel_to(START)
    draft = cycles.save_cycle(None, cycle_data([org["kecamatan"]], START), org["hr"].account)
    dialogs: list[str] = []
    hr = signed_in(browser, live_server, org["hr"].nip, dialogs)

    # HR: the draft waits on her home; its link opens the cycle, which she opens for everyone.
    tasks = home(hr)
    follow(hr, tasks, "Periksa cakupan, lalu buka periode")
    submit(hr, hr.get_by_role("button", name=f"Buka periode ({COVERED} pegawai)"))
    assert dialogs[-1].startswith(f"Buka periode? {COVERED} pegawai akan menerima email")
    expect(hr.locator("#cycle-state")).to_have_text("Penyusunan SKP")
    tasks = home(hr)
    expect(tasks.get_by_role("link", name="Periksa cakupan, lalu buka periode")).to_have_count(0)
    running = hr.locator(f"#cycle-{draft.id}")
    expect(running).to_contain_text("Penyusunan SKP")
    expect(running).to_contain_text(f"0 dari {COVERED} pegawai: SKP ditetapkan")

    # Everyone but the colleague has an approved SKP when the SKP deadline passes.
    ev = {
        who: db.session.scalar(
            sa.select(Evaluation).where(
                Evaluation.cycle_id == draft.id, Evaluation.employee_id == org[who].id
            )
        )
        for who in ("nurse", "colleague", "head", "hr")
    }
    for who, rater in (("nurse", "head"), ("head", "camat"), ("hr", "camat")):
        approved(ev[who], org[who], org[rater])
    clock.travel_to(START + timedelta(days=26))

    # HR: one person is late, on her home as on the cycle's page; the task leads to the list.
    tasks = home(hr)
    expect(running).to_contain_text(f"3 dari {COVERED} pegawai: SKP ditetapkan")
    expect(running.get_by_role("link", name="1 lewat tenggat")).to_be_visible()
    overdue = tasks.locator("li.task-overdue")
    expect(overdue).to_contain_text("1 pegawai")
    hr.goto(f"/cycles/{draft.id}")
    expect(hr.locator("#overdue-count")).to_have_text("1")
    tasks = home(hr)
    follow(hr, tasks, "Tindak lanjuti pegawai yang lewat tenggat")
    name = org["colleague"].name
    row = hr.locator("tr").filter(has_text=name)
    row.get_by_label(f"Tenggat baru untuk {name}").fill(typed(clock.now() + timedelta(days=3)))
    row.get_by_label(f"Alasan perpanjangan untuk {name}").fill("Sakit selama tahap penyusunan SKP.")
    submit(hr, row.get_by_role("button", name="Perpanjang"))
    expect(hr.get_by_text(f"Tenggat {name} diperpanjang.")).to_be_visible()
    tasks = home(hr)
    expect(running).to_contain_text("Tidak ada yang lewat tenggat.")
    expect(tasks.locator("li.task-overdue")).to_have_count(0)
    hr.goto(f"/cycles/{draft.id}")
    expect(hr.locator("#overdue-count")).to_have_text("0")

    # She writes it within her new deadline; HR moves the cycle on from her home's task.
    approved(ev["colleague"], org["colleague"], org["head"])
    follow(hr, home(hr), "Tenggat tahap lewat: lanjutkan ke tahap berikutnya")
    submit(hr, hr.get_by_role("button", name="Lanjut ke tahap berikutnya"))
    assert dialogs[-1].startswith("Pindah ke tahap berikutnya")
    expect(hr.locator("#cycle-state")).to_have_text("Penilaian mandiri")
    home(hr)
    expect(running).to_contain_text(f"0 dari {COVERED} pegawai: penilaian mandiri diajukan")
    for who, rater in (("colleague", "head"), ("head", "camat"), ("hr", "camat")):
        db.session.refresh(ev[who])
        rated(ev[who], org[who], org[rater])

    # The nurse: her self-assessment waits on her home; she reports and submits; it is gone.
    nurse = signed_in(browser, live_server, org["nurse"].nip, dialogs)
    tasks = home(nurse)
    follow(nurse, tasks, "Isi realisasi dan ajukan penilaian mandiri")
    for indicator, value in (("Waktu tunggu pasien", "25"), ("Indeks kepuasan masyarakat", "90")):
        field = nurse.get_by_label(f"Realisasi {indicator}", exact=True)
        field.fill(value)
        nurse.get_by_label(f"Catatan realisasi {indicator}", exact=True).fill("Rekap SIMPUS")
        submit(nurse, nurse.locator("form").filter(has=field).get_by_role("button", name="Simpan realisasi"))
        expect(nurse.get_by_text("Realisasi disimpan.")).to_be_visible()
    submit(nurse, nurse.get_by_role("button", name="Ajukan penilaian mandiri"))
    assert dialogs[-1].startswith("Ajukan penilaian mandiri? Realisasi 2 indikator")
    expect(nurse.locator("#state")).to_have_text("Penilaian mandiri diajukan")
    expect(home(nurse)).to_contain_text("Tidak ada yang perlu Anda kerjakan saat ini.")
    expect(nurse.locator("#my-cycle")).to_contain_text(
        "Menunggu Kepala Puskesmas menilai penilaian mandiri Anda"
    )

    # Her head: the review waits on his home, under her name; he rates her; it is gone.
    head = signed_in(browser, live_server, org["head"].nip, dialogs)
    tasks = home(head)
    review = tasks.locator("li.task-review")
    expect(review).to_have_count(1)
    expect(review).to_contain_text(org["nurse"].name)
    follow(head, tasks, "Nilai penilaian mandiri")
    form = head.locator("#review")
    form.get_by_role("group", name="Rating hasil kerja").get_by_label("Sesuai Ekspektasi").check()
    form.get_by_role("group", name="Rating perilaku kerja").get_by_label("Sesuai Ekspektasi").check()
    submit(head, form.get_by_role("button", name="Simpan penilaian dan kirim hasil"))
    assert dialogs[-1].startswith(f"Kirim hasil? Hasil penilaian akan dikirim kepada {org['nurse'].name}")
    expect(head.locator("#state")).to_have_text("Dinilai atasan")
    expect(home(head).get_by_role("link", name="Nilai penilaian mandiri")).to_have_count(0)

    # The nurse: her result (predikat) on her home, and her right to object with its last day.
    tasks = home(nurse)
    result = tasks.locator("li.task-result")
    expect(result).to_contain_text("Baca hasil penilaian; bila tidak setuju, ajukan keberatan")
    last_day = (clock.now() + timedelta(days=14)).strftime("%-d")
    expect(result.locator(".task-due")).to_contain_text(f"{last_day} ")
    expect(result.locator(".task-due")).to_contain_text("14 hari lagi")
    expect(nurse.locator("#my-cycle .journey-result")).to_contain_text("Baik")
    follow(nurse, tasks, "Baca hasil penilaian; bila tidak setuju, ajukan keberatan")
    expect(nurse.locator("#predikat")).to_have_text("Baik")
    nurse.get_by_label("Keberatan kepada atasan pejabat penilai").fill(
        "Waktu tunggu turun jauh di bawah target; hasil kerja saya di atas ekspektasi."
    )
    submit(nurse, nurse.get_by_role("button", name="Ajukan keberatan"))
    expect(nurse.locator("#state")).to_have_text("Keberatan diajukan")
    expect(home(nurse)).to_contain_text("Tidak ada yang perlu Anda kerjakan saat ini.")
    expect(nurse.locator("#my-cycle")).to_contain_text("Menunggu Camat memutus keberatan Anda")

    # The camat: the keberatan waits on his home with its deadline; he asks the head to explain.
    camat = signed_in(browser, live_server, org["camat"].nip, dialogs)
    tasks = home(camat)
    decide = camat.locator("#appeal-list li.task-decide_appeal")
    expect(decide).to_contain_text(org["nurse"].name)
    expect(decide.locator(".task-due")).to_contain_text("14 hari lagi")
    follow(camat, tasks, "Putuskan keberatan")
    appeal = camat.locator("#keberatan")
    appeal.get_by_label("Minta penjelasan kepada").select_option(label=f"Pejabat penilai: {org['head'].name}")
    appeal.get_by_label("Pesan").fill("Mohon jelaskan rating hasil kerja.")
    submit(camat, appeal.get_by_role("button", name="Kirim"))
    expect(camat.locator("#appeal-thread")).to_contain_text("Mohon jelaskan rating hasil kerja.")

    # The head: the request waits on his home; he answers; it is gone.
    tasks = home(head)
    follow(head, tasks, "Beri penjelasan yang diminta atas keberatan")
    expect(head.locator("#appeal-thread")).to_contain_text("Mohon jelaskan rating hasil kerja.")
    head.locator("#appeal-thread-form").get_by_label("Pesan").fill("Dua indikator tercapai, tidak dilampaui.")
    submit(head, head.locator("#appeal-thread-form").get_by_role("button", name="Kirim"))
    expect(head.locator("#appeal-thread")).to_contain_text("Dua indikator tercapai, tidak dilampaui.")
    expect(home(head).get_by_role("link", name="Beri penjelasan yang diminta atas keberatan")).to_have_count(
        0
    )

    # The camat: the answer is on his home; he reads it and decides; nothing is left for him.
    tasks = home(camat)
    answer = tasks.locator("li.task-answer_received")
    expect(answer).to_contain_text(org["nurse"].name)
    follow(camat, tasks, "Baca penjelasan yang masuk atas keberatan")
    expect(camat.locator("#appeal-thread")).to_contain_text("Dua indikator tercapai, tidak dilampaui.")
    decision = camat.locator("#decision")
    decision.get_by_role("group", name="Rating hasil kerja").get_by_label("Di Atas Ekspektasi").check()
    decision.get_by_role("group", name="Rating perilaku kerja").get_by_label("Sesuai Ekspektasi").check()
    decision.get_by_label("Alasan keputusan").fill("Waktu tunggu jauh di bawah target.")
    submit(camat, decision.get_by_role("button", name="Putuskan keberatan"))
    assert dialogs[-1].startswith("Putuskan keberatan? Keputusan ini final")
    expect(camat.locator("#state")).to_have_text("Keberatan diputus")
    expect(home(camat)).to_contain_text("Tidak ada yang perlu Anda kerjakan saat ini.")
    expect(camat.locator("#appeal-queue")).to_have_count(0)

    # HR: once the last deadline passed she moves through the phases and announces the results.
    clock.travel_to(START + timedelta(days=111))
    hr.goto(f"/cycles/{draft.id}")
    for phase in ("Penilaian atasan", "Keberatan"):
        submit(hr, hr.get_by_role("button", name="Lanjut ke tahap berikutnya"))
        expect(hr.locator("#cycle-state")).to_have_text(phase)
    tasks = home(hr)
    follow(hr, tasks, "Masa keberatan berakhir: umumkan hasil")
    hr.get_by_role("link", name="Distribusi & pengumuman").click()
    publish = hr.locator("#publish")
    publish.get_by_label("Jumlah per unit saja").check()
    publish.get_by_label("Alasan").fill("Baru satu pegawai yang dinilai.")
    submit(hr, publish.get_by_role("button", name="Umumkan"))
    assert (
        dialogs[-1] == f"Umumkan hasil? {COVERED} pegawai akan menerima email; hasil tidak dapat diubah lagi."
    )
    expect(hr.get_by_role("heading", name="Hasil penilaian kinerja: SKP Tahunan 2027")).to_be_visible()
    tasks = home(hr)
    expect(tasks.get_by_role("link", name="Masa keberatan berakhir: umumkan hasil")).to_have_count(0)
    expect(hr.locator("#no-running-cycle")).to_contain_text("Belum ada periode penilaian yang berjalan.")
    expect(hr.locator("#my-cycle")).to_contain_text("SKP Tahunan 2027")

    # The nurse: the announced result is what her home shows.
    home(nurse)
    expect(nurse.locator("#my-cycle")).to_contain_text("Hasil penilaian sudah diumumkan.")
    expect(nurse.locator("#my-cycle .journey-result")).to_contain_text("Baik")
    for page in (hr, nurse, head, camat):
        page.context.close()
