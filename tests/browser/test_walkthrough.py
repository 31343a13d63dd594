"""ACCEPTANCE.md steps 2 to 7 (and an access check of step 8) in real Chromium, on the demo agency.

One story, as the people of Kecamatan Rakumpit would live it: HR opens next year's cycle (the
demo has this year's in target setting and last year's closed); the nurse writes her SKP, has
it returned, fixes and resubmits it; her head approves it; HR moves on, unlocks a colleague who
missed the deadline; the nurse reports with evidence; the head reviews; the nurse objects; the
camat decides; HR publishes and closes. The app clock (shared with the
live server, which runs in this process) moves through the year as the story needs.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import clock
from app.demo import load_demo
from app.models import AuditEvent, Cycle, Employee, Evaluation, EvaluationState, OutboxMessage

pytestmark = pytest.mark.browser

WIB = ZoneInfo("Asia/Jakarta")

# The predikat table of DOMAIN.md (results rating, behaviour rating) -> predikat, as users read it.
PREDIKAT = {
    ("Di Atas Ekspektasi", "Di Bawah Ekspektasi"): "Kurang/Misconduct",
    ("Di Atas Ekspektasi", "Sesuai Ekspektasi"): "Baik",
    ("Di Atas Ekspektasi", "Di Atas Ekspektasi"): "Sangat Baik",
    ("Sesuai Ekspektasi", "Di Bawah Ekspektasi"): "Kurang/Misconduct",
    ("Sesuai Ekspektasi", "Sesuai Ekspektasi"): "Baik",
    ("Sesuai Ekspektasi", "Di Atas Ekspektasi"): "Baik",
    ("Di Bawah Ekspektasi", "Di Bawah Ekspektasi"): "Sangat Kurang",
    ("Di Bawah Ekspektasi", "Sesuai Ekspektasi"): "Butuh Perbaikan",
    ("Di Bawah Ekspektasi", "Di Atas Ekspektasi"): "Butuh Perbaikan",
}

RHK_TIME = "Waktu layanan rawat jalan dipersingkat"
RHK_SATISFACTION = "Kepuasan masyarakat atas layanan puskesmas meningkat"
WAITING = "Waktu tunggu pasien rawat jalan"
SATISFACTION = "Indeks kepuasan masyarakat"
PATIENTS = "Pasien rawat jalan terlayani"


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=WIB)


def typed(moment: datetime) -> str:
    """What a datetime-local input takes."""
    return moment.astimezone(WIB).strftime("%Y-%m-%dT%H:%M")


def submit(page, button) -> None:
    """Click a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        button.click()


def sign_in(page, login: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(login)
    page.get_by_label("Kata sandi").fill(password)
    submit(page, page.get_by_role("button", name="Masuk"))
    expect(page.get_by_role("heading", name="Selamat datang")).to_be_visible()


@pytest.fixture
def desks(page):
    """Switch the browser to a person's own session (signing in on first use), as if each had a
    device of their own; one page keeps the browser light."""
    sessions: dict[str, list] = {}  # login -> that person's cookies when they last left the browser
    current: list[str] = []
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))

    def desk(login):
        if current:
            sessions[current.pop()] = page.context.cookies()
        page.context.clear_cookies()
        current.append(login.login)
        if login.login in sessions:
            page.context.add_cookies(sessions[login.login])
        else:
            sign_in(page, login.login, login.password)
        return page

    desk.dialogs = dialogs
    return desk


def rhk_box(page, text: str):
    """The block of one RHK on the SKP page."""
    return page.locator("div[id^='rhk-']").filter(has_text=text)


def add_rhk(page, kind: str, text: str) -> None:
    form = page.locator("#rhk-new")
    form.get_by_label("Jenis").select_option(label=kind)
    form.get_by_label("Rencana hasil kerja").fill(text)
    submit(page, form.get_by_role("button", name="Tambah", exact=True))
    expect(page.get_by_text("RHK disimpan.")).to_be_visible()


def add_indicator(page, rhk: str, aspect: str, text: str, comparator: str, target: str, unit: str):
    box = rhk_box(page, rhk)
    form = box.locator("form[id^='iki-new-']")
    if not form.get_by_label("Indikator", exact=True).is_visible():
        box.get_by_text("Tambah indikator").click()
    form.get_by_label("Aspek").select_option(label=aspect)
    form.get_by_label("Indikator", exact=True).fill(text)
    form.get_by_label("Pembanding").select_option(label=comparator)
    form.get_by_label("Target", exact=True).fill(target)
    form.get_by_label("Satuan").fill(unit)
    submit(page, form.get_by_role("button", name="Tambah", exact=True))


def state_of(db, evaluation_id: int) -> str:
    db.session.rollback()  # a fresh read of what the server committed
    return db.session.get(Evaluation, evaluation_id).state


def outbox(db, kind: str, recipient: Employee | None = None, *, about: int) -> list[OutboxMessage]:
    """The messages of a kind about one cycle or evaluation (its id follows the kind in the key):
    the demo's own cycles sent theirs before the story starts."""
    db.session.rollback()
    query = sa.select(OutboxMessage).where(
        OutboxMessage.kind == kind,
        sa.or_(OutboxMessage.key == f"{kind}:{about}", OutboxMessage.key.startswith(f"{kind}:{about}:")),
    )
    if recipient is not None:
        query = query.where(OutboxMessage.recipient_id == recipient.id)
    return db.session.scalars(query).all()


def test_walkthrough_in_the_browser(app, db, desks, tmp_path):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # no revalidation of Bootstrap on every page: faster
    clock.travel_to(at(2026, 12, 1), frozen=False)
    logins = {login.role: login for login in load_demo()}
    hr, nurse, head, camat, colleague = (
        logins[role]
        for role in (
            "Admin kepegawaian (HR)",
            "Perawat",
            "Kepala Puskesmas",
            "Camat",
            "Perawat (rekan kerja)",
        )
    )
    people = {e.nip: e for e in db.session.scalars(sa.select(Employee))}
    with_rater = sum(1 for e in people.values() if e.supervisor_id is not None)
    dialogs = desks.dialogs

    # 2. HR creates next year's annual cycle through the form, sees its coverage and opens it.
    page = desks(hr)
    page.get_by_role("link", name="Periode", exact=True).click()
    page.get_by_role("link", name="Buat periode").click()
    page.get_by_label("Nama periode").fill("SKP Tahunan 2027")
    page.get_by_label("Jenis").select_option(label="Tahunan")
    expect(page.get_by_label("Tahun", exact=True)).to_have_value("2027")
    units = page.get_by_label("Unit kerja yang dinilai")
    kecamatan = units.evaluate(
        "(select, name) => [...select.options].find(o => o.text.trim() === name).value", "Kecamatan Rakumpit"
    )
    units.select_option(kecamatan)
    page.get_by_label("Tenggat penyusunan SKP").fill(typed(at(2027, 1, 29, 16)))
    page.get_by_label("Tenggat penilaian mandiri").fill(typed(at(2027, 12, 20, 16)))
    page.get_by_label("Tenggat penilaian atasan").fill(typed(at(2028, 1, 15, 16)))
    page.get_by_label("Tenggat masa keberatan").fill(typed(at(2028, 2, 15, 16)))
    submit(page, page.get_by_role("button", name="Simpan"))
    expect(page.get_by_role("heading", name=f"Cakupan: {with_rater} pegawai akan dinilai")).to_be_visible()
    expect(page.locator("#left-out")).to_contain_text("Berto Tuah Nahan")  # the camat: no rater inside
    cycle_url = page.url
    submit(page, page.get_by_role("button", name=f"Buka periode ({with_rater} pegawai)"))
    assert dialogs[-1].startswith("Buka periode")
    expect(page.locator("#cycle-state")).to_have_text("Penyusunan SKP")
    expect(page.get_by_text(f"Periode dibuka untuk {with_rater} pegawai")).to_be_visible()
    cycle = db.session.scalar(sa.select(Cycle).where(Cycle.name == "SKP Tahunan 2027"))
    opened = outbox(db, "cycle_opened", about=cycle.id)
    assert len(opened) == with_rater
    assert len({message.recipient_id for message in opened}) == with_rater

    evaluation_of = {
        people_nip: db.session.scalar(
            sa.select(Evaluation.id).where(
                Evaluation.cycle_id == cycle.id, Evaluation.employee_id == people[people_nip].id
            )
        )
        for people_nip in (nurse.login, colleague.login)
    }
    nurse_ev, colleague_ev = evaluation_of[nurse.login], evaluation_of[colleague.login]

    # 3. The nurse writes her SKP; a target in words is refused and what she typed stays.
    page = desks(nurse)
    page.get_by_role("link", name="SKP", exact=True).click()
    page.locator("#my-evaluations").get_by_role("link", name="SKP Tahunan 2027").click()
    nurse_url = page.url
    assert nurse_url.endswith(f"/evaluations/{nurse_ev}")
    expect(page.locator("#state")).to_have_text("SKP disusun")
    add_rhk(page, "Utama", RHK_TIME)
    add_indicator(page, RHK_TIME, "Waktu", WAITING, "≤ paling banyak", "tiga puluh", "menit")
    box = rhk_box(page, RHK_TIME)
    expect(box.get_by_text("Target harus berupa angka")).to_be_visible()
    expect(box.get_by_label("Indikator", exact=True)).to_have_value(WAITING)
    expect(box.get_by_label("Target", exact=True)).to_have_value("tiga puluh")
    box.get_by_label("Target", exact=True).fill("30")
    submit(page, box.get_by_role("button", name="Tambah", exact=True))
    expect(box.get_by_role("cell", name=WAITING)).to_be_visible()
    add_rhk(page, "Utama", RHK_SATISFACTION)
    add_indicator(page, RHK_SATISFACTION, "Kualitas", SATISFACTION, "≥ paling sedikit", "85", "%")
    expect(rhk_box(page, RHK_SATISFACTION).get_by_role("cell", name="≥ 85 %")).to_be_visible()
    submit(page, page.get_by_role("button", name="Ajukan SKP kepada pejabat penilai"))
    expect(page.locator("#state")).to_have_text("SKP diajukan")
    assert outbox(db, "targets_submitted", people[head.login], about=nurse_ev)

    # The head of the puskesmas returns it with a comment.
    page = desks(head)
    page.get_by_role("link", name="SKP", exact=True).click()
    team = page.locator("#team-evaluations")
    row = team.get_by_role("row").filter(has_text=nurse.name).filter(has_text="SKP Tahunan 2027")
    expect(row).to_contain_text("perlu tindakan Anda")
    row.get_by_role("link", name=nurse.name).click()
    comment = "Tambahkan indikator kuantitas: jumlah pasien rawat jalan yang dilayani."
    page.get_by_label("Komentar untuk pegawai").fill(comment)
    submit(page, page.get_by_role("button", name="Kembalikan SKP"))
    expect(page.locator("#state")).to_have_text("SKP disusun")

    # She sees the comment, adds the indicator and resubmits; he approves.
    page = desks(nurse)
    page.goto(nurse_url)
    expect(page.locator("#returned")).to_contain_text(comment)  # the return, above her SKP
    add_indicator(page, RHK_TIME, "Kuantitas", PATIENTS, "≥ paling sedikit", "1200", "pasien")
    expect(rhk_box(page, RHK_TIME).get_by_role("cell", name=PATIENTS)).to_be_visible()
    submit(page, page.get_by_role("button", name="Ajukan SKP kepada pejabat penilai"))
    expect(page.locator("#state")).to_have_text("SKP diajukan")
    page = desks(head)
    page.goto(nurse_url)
    submit(page, page.get_by_role("button", name="Tetapkan SKP"))
    expect(page.locator("#state")).to_have_text("SKP ditetapkan")
    assert len(outbox(db, "targets_submitted", people[head.login], about=nurse_ev)) == 2  # and resubmitted

    # 4. After the SKP deadline HR moves to self-assessment; the colleague who never submitted locks.
    clock.travel_to(at(2027, 2, 1), frozen=False)
    page = desks(hr)
    page.goto(cycle_url)
    submit(page, page.get_by_role("button", name="Lanjut ke tahap berikutnya"))
    assert dialogs[-1].startswith("Pindah ke tahap berikutnya")
    expect(page.locator("#cycle-state")).to_have_text("Penilaian mandiri")
    assert state_of(db, colleague_ev) == EvaluationState.TARGETS_LOCKED
    # She is found by name among everyone late (the dashboard shows only the first of them).
    page.get_by_label("Cari pegawai yang lewat tenggat").fill(colleague.name.split(",")[0])
    submit(page, page.locator("#overdue").get_by_role("button", name="Cari"))
    row = page.locator("#overdue tr").filter(has_text=colleague.name)
    expect(row).to_contain_text("SKP terkunci")
    expect(page.locator("#overdue tbody tr")).to_have_count(1)
    # HR gives her alone three more days, with the reason.
    until = clock.now() + timedelta(days=3)
    reason = "Cuti melahirkan sampai akhir Januari; diberi tiga hari untuk menyusun SKP."
    row.get_by_label(f"Tenggat baru untuk {colleague.name}").fill(typed(until))
    row.get_by_label(f"Alasan perpanjangan untuk {colleague.name}").fill(reason)
    submit(page, row.get_by_role("button", name="Perpanjang"))
    expect(page.get_by_text(f"Tenggat {colleague.name} diperpanjang.")).to_be_visible()
    assert state_of(db, colleague_ev) == EvaluationState.TARGETS_DRAFT
    extended = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "evaluation.deadline_extended", AuditEvent.object_id == str(colleague_ev)
        )
    )
    assert extended is not None and extended.comment == reason
    assert outbox(db, "deadline_extended", people[colleague.login], about=colleague_ev)

    # She can write her SKP again; 8. she cannot open the nurse's evaluation.
    page = desks(colleague)
    page.get_by_role("link", name="SKP", exact=True).click()
    page.locator("#my-evaluations").get_by_role("link", name="SKP Tahunan 2027").click()
    expect(page.locator("#state")).to_have_text("SKP disusun")
    expect(page.get_by_role("button", name="Ajukan SKP kepada pejabat penilai")).to_be_visible()
    response = page.goto(nurse_url)
    assert response.status == 403
    expect(page.get_by_role("heading", name="Akses ditolak")).to_be_visible()
    expect(page.get_by_text(RHK_TIME)).to_have_count(0)

    # The nurse reports her realisations with evidence: a PDF and a link.
    clock.travel_to(at(2027, 12, 10), frozen=False)
    page = desks(nurse)
    page.goto(nurse_url)
    expect(page.locator("#state")).to_have_text("Penilaian mandiri disusun")
    for indicator, value in ((WAITING, "25"), (SATISFACTION, "90,5"), (PATIENTS, "1350")):
        field = page.get_by_label(f"Realisasi {indicator}", exact=True)
        field.fill(value)
        page.get_by_label(f"Catatan realisasi {indicator}", exact=True).fill("Rekap SIMPUS Desember")
        submit(page, page.locator("form").filter(has=field).get_by_role("button", name="Simpan realisasi"))
        expect(page.get_by_text("Realisasi disimpan.")).to_be_visible()
    pdf = tmp_path / "rekap-waktu-tunggu.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    upload = page.get_by_label(f"Berkas bukti {WAITING}", exact=True)
    upload.set_input_files(pdf)
    submit(page, page.locator("form").filter(has=upload).get_by_role("button", name="Tambah bukti"))
    expect(page.get_by_role("link", name="rekap-waktu-tunggu.pdf")).to_be_visible()
    link = page.get_by_label(f"Tautan bukti {SATISFACTION}", exact=True)
    link.fill("https://survei.palangkaraya.go.id/ikm/puskesmas-rakumpit")
    submit(page, page.locator("form").filter(has=link).get_by_role("button", name="Tambah bukti"))
    expect(page.get_by_role("link", name="https://survei.palangkaraya.go.id")).to_be_visible()
    submit(page, page.get_by_role("button", name="Ajukan penilaian mandiri"))
    expect(page.locator("#state")).to_have_text("Penilaian mandiri diajukan")

    # 5. The head reviews: below expectation without written feedback is refused, keeping the choice.
    clock.travel_to(at(2027, 12, 28), frozen=False)
    page = desks(head)
    page.goto(nurse_url)
    review = page.locator("#review")
    results = review.get_by_role("group", name="Rating hasil kerja")
    behaviour = review.get_by_role("group", name="Rating perilaku kerja")
    results.get_by_label("Di Bawah Ekspektasi").check()
    behaviour.get_by_label("Sesuai Ekspektasi").check()
    submit(page, review.get_by_role("button", name="Simpan penilaian dan kirim hasil"))
    expect(page.locator("#review [role=alert]")).to_contain_text(
        "Rating hasil kerja Di Bawah Ekspektasi wajib disertai umpan balik tertulis"
    )
    expect(page.locator("#refused")).to_contain_text("Belum tersimpan.")  # the page opens at its top
    expect(results.get_by_label("Di Bawah Ekspektasi")).to_be_checked()
    expect(behaviour.get_by_label("Sesuai Ekspektasi")).to_be_checked()
    expect(page.locator("#state")).to_have_text("Penilaian mandiri diajukan")
    # Feedback per indicator and per BerAKHLAK value, then both ratings.
    review.get_by_label(f"{WAITING} —").fill("Turun dari 45 menit; pertahankan alur triase.")
    review.get_by_label(f"{SATISFACTION} —").fill("Melampaui target; survei didukung data.")
    review.get_by_label(f"{PATIENTS} —").fill("Tercapai.")
    for value in (
        "Berorientasi Pelayanan",
        "Akuntabel",
        "Kompeten",
        "Harmonis",
        "Loyal",
        "Adaptif",
        "Kolaboratif",
    ):
        review.get_by_label(value, exact=True).fill(f"{value}: sesuai ekspektasi.")
    chosen = ("Di Atas Ekspektasi", "Sesuai Ekspektasi")
    results.get_by_label(chosen[0]).check()
    behaviour.get_by_label(chosen[1]).check()
    submit(page, review.get_by_role("button", name="Simpan penilaian dan kirim hasil"))
    expect(page.locator("#state")).to_have_text("Dinilai atasan")
    expect(page.locator("#predikat")).to_have_text(PREDIKAT[chosen])

    # 6. The nurse gets her result by email, sees it and files a keberatan.
    clock.travel_to(at(2027, 12, 30), frozen=False)
    assert outbox(db, "result_delivered", people[nurse.login], about=nurse_ev)
    page = desks(nurse)
    page.goto(nurse_url)
    expect(page.locator("#predikat")).to_have_text("Baik")
    expect(page.locator("#result")).to_contain_text("Kolaboratif: sesuai ekspektasi.")
    objection = (
        "Saya memimpin kolaborasi lintas program skrining PTM di tiga kelurahan; "
        "perilaku kerja saya di atas ekspektasi."
    )
    page.get_by_label("Keberatan kepada atasan pejabat penilai").fill(objection)
    submit(page, page.get_by_role("button", name="Ajukan keberatan"))
    expect(page.locator("#state")).to_have_text("Keberatan diajukan")

    # The camat finds it in his inbox, reads both sides, asks the head, changes the behaviour rating.
    page = desks(camat)
    page.get_by_role("link", name="SKP", exact=True).click()
    page.locator("#appeal-inbox").get_by_role("link", name=nurse.name).click()
    appeal = page.locator("#keberatan")
    expect(appeal).to_contain_text(objection)
    expect(appeal).to_contain_text("Hasil kerja: Di Atas Ekspektasi")
    expect(appeal).to_contain_text("Perilaku kerja: Sesuai Ekspektasi")
    appeal.get_by_label("Minta penjelasan kepada").select_option(value="rater")
    appeal.get_by_label("Pesan").fill("Mohon penjelasan penilaian perilaku Kolaboratif.")
    submit(page, appeal.get_by_role("button", name="Kirim"))
    expect(page.locator("#appeal-thread")).to_contain_text("Mohon penjelasan penilaian perilaku Kolaboratif.")
    decision = page.locator("#decision")
    expect(decision.get_by_role("group", name="Rating hasil kerja").get_by_label(chosen[0])).to_be_checked()
    decision.get_by_role("group", name="Rating perilaku kerja").get_by_label("Di Atas Ekspektasi").check()
    decision.get_by_label("Alasan keputusan").fill("Bukti kolaborasi lintas program kuat.")
    submit(page, decision.get_by_role("button", name="Putuskan keberatan"))
    expect(page.locator("#state")).to_have_text("Keberatan diputus")
    expect(page.locator("#predikat")).to_have_text(PREDIKAT[(chosen[0], "Di Atas Ekspektasi")])
    expect(page.locator("#keberatan")).to_contain_text("Keputusan ini final")

    # 7. When every window is closed HR moves to the appeal phase, sets the org predikat, publishes.
    clock.travel_to(at(2028, 2, 20), frozen=False)
    page = desks(hr)
    page.goto(cycle_url)
    for _ in range(3):
        if page.locator("#cycle-state").inner_text() == "Keberatan":
            break
        submit(page, page.get_by_role("button", name="Lanjut ke tahap berikutnya"))
    expect(page.locator("#cycle-state")).to_have_text("Keberatan")
    page.get_by_role("link", name="Distribusi & pengumuman").click()
    row = page.locator("#distribution tr").filter(has_text="Puskesmas Rakumpit")
    row.get_by_label("Predikat organisasi Puskesmas Rakumpit").select_option(label="Istimewa")
    submit(page, row.get_by_role("button", name="Simpan"))
    expect(row.get_by_label("Predikat organisasi Puskesmas Rakumpit")).to_have_value("istimewa")
    expect(row).to_contain_text("Sangat Baik 100%, maksimal 70%")  # one rated nurse breaks the curve
    # The others were never rated: publication waits until HR marks them "tidak dinilai".
    expect(page.locator("#settled")).to_contain_text("penilaian belum dinilai atasan")
    page.locator("#settled").get_by_role("link", name="Lihat daftarnya dan putuskan").click()
    page.get_by_label("Alasan tidak dinilai").fill("Tidak dinilai sampai batas tahap penilaian atasan.")
    submit(page, page.locator("#mark-rest").get_by_role("button", name="Tandai tidak dinilai"))
    assert "akan ditandai tidak dinilai dan menerima email" in dialogs[-1]
    expect(page.locator("#settled")).to_contain_text("Sudah diputuskan:")
    publish = page.locator("#publish")
    publish.get_by_label("Nama pegawai dengan predikatnya").check()
    submit(page, publish.get_by_role("button", name="Umumkan"))
    expect(page.get_by_text("tidak sesuai kurva; tuliskan alasan")).to_be_visible()
    expect(page.locator("#publish").get_by_label("Nama pegawai dengan predikatnya")).to_be_checked()
    page.locator("#publish").get_by_label("Alasan").fill("Baru satu pegawai puskesmas yang dinilai.")
    submit(page, page.locator("#publish").get_by_role("button", name="Umumkan"))
    expect(page.get_by_role("heading", name="Hasil penilaian kinerja: SKP Tahunan 2027")).to_be_visible()
    expect(page.locator("#names").get_by_role("row").filter(has_text=nurse.name)).to_contain_text(
        "Sangat Baik"
    )
    assert len(outbox(db, "results_published", about=cycle.id)) == with_rater
    page.goto(cycle_url)
    submit(page, page.get_by_role("button", name="Tutup periode"))
    assert dialogs[-1].startswith("Tutup periode")
    expect(page.locator("#cycle-state")).to_have_text("Ditutup")

    # Nothing can change any more: no forms on her page, and a POST is refused.
    page = desks(nurse)
    page.goto(nurse_url)
    expect(page.locator("#state")).to_have_text("Diumumkan")
    expect(page.locator("#predikat")).to_have_text("Sangat Baik")
    expect(page.locator("main form")).to_have_count(0)
    expect(page.locator("main textarea, main input, main select")).to_have_count(0)
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    state_of(db, nurse_ev)
    version = str(db.session.get(Evaluation, nurse_ev).version)  # as if her page still had the form
    refused = page.request.post(
        f"{nurse_url}/appeal",
        form={
            "csrf_token": token,
            "version": version,
            "reasons": "Saya ingin mengajukan keberatan sekali lagi atas hasil ini.",
        },
        max_redirects=0,
    )
    assert refused.status == 400
    assert "Periode ini sudah diumumkan atau ditutup" in refused.text()
    assert state_of(db, nurse_ev) == EvaluationState.PUBLISHED
