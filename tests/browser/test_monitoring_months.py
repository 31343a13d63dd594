"""The monitoring stage in Chromium over three monthly cycles of one year.

Each month the nurse logs the puskesmas' waiting times from her monthly SKP, her head verifies
the entries from his home task, and her monthly self-assessment suggests the latest waiting time
of that month (the log holds the whole year; each month reads its own). In the first month the
head records a dialog kinerja with a follow-up she acknowledges and completes; in the second a
colleague gives input on the nurse's behaviour during the review, which the nurse never sees.
The annual SKP and the steps no page is asserted for go through the workflow services; the app
clock, shared with the live server in this process, moves through the months.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import clock
from app.domain import CoreValue
from app.models import Evaluation
from app.workflow import cycles, evaluations
from tests.browser.homes import follow, home, signed_in, submit
from tests.workflow_helpers import START, agency, cycle_data, write_skp

pytestmark = pytest.mark.browser

# The nurse's waiting times (menit) logged each month: two entries, the later one stands.
MONTHS = {2: ("41", "35"), 3: ("33", "28"), 4: ("27", "24")}


def evaluation_of(db, cycle, employee) -> Evaluation:
    """The employee's evaluation in the cycle."""
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


def monthly_cycle(org, annual, month: int):
    """HR opens the monthly cycle of `month` on the 20th, on the annual targets."""
    clock.travel_to(START.replace(month=month, day=20))
    now = clock.now()
    data = cycle_data(
        [org["kecamatan"]],
        start=now,
        kind="monthly",
        period=month,
        name=f"SKP Bulanan {month}/2027",
        annual_cycle_id=annual.id,
        target_deadline=None,
        assessment_deadline=now + timedelta(days=10),
        review_deadline=now + timedelta(days=20),
        appeal_deadline=now + timedelta(days=40),
    )
    cycle = cycles.save_cycle(None, data, org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    return cycle


def log_entry(page, month: int, day: int, value: str, note: str) -> None:
    """The nurse adds one waiting time to the log from the log page's form."""
    form = page.locator("#new")
    form.get_by_label("Indikator").select_option(label="Waktu tunggu pasien")
    form.get_by_label("Tanggal").fill(f"2027-{month:02d}-{day:02d}")
    form.get_by_label("Nilai").fill(value)
    form.get_by_label("Catatan").fill(note)
    submit(page, form.get_by_role("button", name="Simpan entri"))
    expect(page.locator(".alert-success")).to_be_visible()


def test_three_months_of_logs_dialogue_and_peer_input(app, browser, live_server, make, db):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    org = agency(make)
    clock.travel_to(START)
    annual = cycles.save_cycle(None, cycle_data([org["kecamatan"]], START), org["hr"].account)
    cycles.open_cycle(annual, org["hr"].account)
    skp = evaluation_of(db, annual, org["nurse"])
    write_skp(skp, org["nurse"])
    evaluations.submit_targets(skp, org["nurse"].account)
    evaluations.approve_targets(skp, org["head"].account)
    clock.travel_to(annual.target_deadline + timedelta(days=1))
    cycles.advance(annual, org["hr"].account)  # the year's self-assessment phase: logging goes on

    dialogs: list[str] = []
    nurse = signed_in(browser, live_server, org["nurse"].nip, dialogs)
    head = signed_in(browser, live_server, org["head"].nip, dialogs)
    colleague = signed_in(browser, live_server, org["colleague"].nip, dialogs)

    for month, (first, second) in MONTHS.items():
        cycle = monthly_cycle(org, annual, month)
        ev = evaluation_of(db, cycle, org["nurse"])
        wait = next(i for i in ev.indicators if i.text == "Waktu tunggu pasien")
        satisfaction = next(i for i in ev.indicators if i.text != "Waktu tunggu pasien")

        # The nurse logs two waiting times of the month from her monthly SKP.
        nurse.goto(f"/evaluations/{ev.id}")
        with nurse.expect_navigation():
            nurse.locator("#progress").get_by_role("link", name="Catat progres").click()
        log_entry(nurse, month, 8, first, "Rata-rata minggu pertama, dari buku antrean")
        log_entry(nurse, month, 18, second, "Rata-rata minggu ketiga, setelah loket kedua dibuka")

        # Her head verifies them from his home task.
        tasks = home(head)
        follow(head, tasks, "Verifikasi log progres")
        for _entry in range(2):
            pending = head.locator("li[id^=entry-]", has=head.get_by_role("button", name="Verifikasi")).first
            submit(head, pending.get_by_role("button", name="Verifikasi"))
        expect(head.locator("li[id^=entry-]", has_text="Menunggu verifikasi")).to_have_count(0)
        expect(home(head).get_by_role("link", name="Verifikasi log progres")).to_have_count(0)

        if month == 2:
            # A dialog kinerja with a follow-up for the nurse, recorded from the evaluation page.
            head.goto(f"/evaluations/{ev.id}")
            with head.expect_navigation():
                head.locator("#dialog-open").click()
            form = head.locator("#new-record")
            form.get_by_label("Jenis catatan").select_option(label="Dialog kinerja")
            form.get_by_label("Tanggal pelaksanaan").fill("2027-02-20")
            form.get_by_label("Catatan", exact=True).fill(
                "Waktu tunggu turun dari 41 ke 35 menit setelah loket kedua dibuka; target 30 menit."
            )
            form.get_by_label("Tindak lanjut 1", exact=True).fill(
                "Susun jadwal jaga loket kedua pada jam sibuk"
            )
            form.get_by_label("Tenggat tindak lanjut 1").fill("2027-02-25")
            form.get_by_label("Penanggung jawab tindak lanjut 1").select_option(label="Pegawai")
            submit(head, form.get_by_role("button", name="Simpan catatan"))
            expect(head.locator("#records")).to_contain_text("Dialog kinerja")

            # The nurse reads it from her home, confirms it, and does the follow-up.
            tasks = home(nurse)
            expect(tasks).to_contain_text("Tindak lanjut: Susun jadwal jaga loket kedua")
            follow(nurse, tasks, "Baca dan konfirmasi 1 catatan dialog kinerja dari atasan")
            submit(nurse, nurse.get_by_role("button", name="Saya sudah membaca catatan ini"))
            submit(nurse, nurse.get_by_role("button", name="Tandai selesai"))
            tasks = home(nurse)
            expect(tasks).not_to_contain_text("catatan dialog kinerja dari atasan")
            expect(tasks).not_to_contain_text("Susun jadwal jaga loket kedua")

        # Her monthly self-assessment suggests this month's latest waiting time, not the year's.
        nurse.goto(f"/evaluations/{ev.id}")
        suggestion = nurse.locator(f"#suggestion-{wait.id}")
        expect(suggestion).to_contain_text(f"Saran dari log progres: {second} menit")
        expect(suggestion).to_contain_text("Hanya saran")
        submit(nurse, suggestion.get_by_role("button", name="Pakai saran sebagai realisasi"))
        db.session.expire_all()
        assert str(db.session.get(type(wait), wait.id).realisation.normalize()) == second
        evaluations.save_realisation(ev, org["nurse"].account, satisfaction, "88", "Survei bulanan")
        nurse.goto(f"/evaluations/{ev.id}")
        submit(nurse, nurse.get_by_role("button", name="Ajukan penilaian mandiri"))
        assert dialogs[-1].startswith("Ajukan penilaian mandiri?")

        if month == 3:
            # During the review the head asks the colleague, who answers from her home.
            head.goto(f"/evaluations/{ev.id}")
            with head.expect_navigation():
                head.get_by_role("link", name="Minta masukan rekan kerja").click()
            head.get_by_label("Cari nama atau NIP").fill("rabiat")
            head.get_by_role("button", name="Cari").click()
            head.get_by_label("Perawat Rabiatul").check()
            submit(head, head.get_by_role("button", name="Kirim permintaan"))
            tasks = home(colleague)
            follow(colleague, tasks, "Beri masukan perilaku kerja untuk Perawat Debora")
            for value in CoreValue:
                choice = "Di atas ekspektasi" if value is CoreValue.SERVICE else "Sesuai ekspektasi"
                colleague.locator(f"#value-{value.value}").get_by_label(choice).check()
            colleague.locator("#value-service").get_by_label("Komentar (opsional)").fill(
                "Mengatur antrean dengan sabar saat pasien menumpuk."
            )
            submit(colleague, colleague.get_by_role("button", name="Kirim masukan"))
            head.goto(f"/evaluations/{ev.id}")
            expect(head.locator("#peer-input")).to_contain_text("Mengatur antrean dengan sabar")
            nurse.goto(f"/evaluations/{ev.id}")
            expect(nurse.get_by_text("Mengatur antrean dengan sabar")).to_have_count(0)
            expect(nurse.get_by_text("Perawat Rabiatul")).to_have_count(0)

        db.session.refresh(ev)
        evaluations.review(ev, org["head"].account, {"results_rating": "meets", "behaviour_rating": "meets"})

    # The annual log holds the whole year: six entries, all verified.
    annual_ev = evaluation_of(db, annual, org["nurse"])
    nurse.goto(f"/evaluations/{annual_ev.id}/progres?bulan=semua")
    expect(nurse.locator("li[id^=entry-]")).to_have_count(6)
    expect(nurse.locator("li[id^=entry-]", has_text="Terverifikasi")).to_have_count(6)
