"""The main pages of every role, over one agency with three cycles in the states users meet.

Shared by the accessibility and phone-width browser tests: `build()` puts the data in place
through the workflow services (no browser needed), `pages_of()` lists what each role opens, and
`signed_in()` gives one browser context per role.

- SKP Tahunan 2025: published with names (results board, distribution);
- SKP Tahunan 2026: in review: the nurse reports late (personal extension), the colleague's
  self-assessment waits for the head's review form, Yohana's result may still be objected to,
  Rizky's keberatan waits for the camat (who asked the rater for an explanation);
- SKP Tahunan 2027: target setting past its deadline: the nurse drafts (personal extension),
  the colleague's SKP waits for approval, twelve more nurses are overdue.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from playwright.sync_api import expect

from app import clock
from app.domain import CoreValue
from app.extensions import db
from app.models import Cycle, Employee, Evaluation, OutboxMessage
from app.output import bundles
from app.workflow import cycles, evaluations, planning
from app.workflow.monitoring import coaching, dialog, peers, progress
from tests.conftest import PASSWORD
from tests.workflow_helpers import agency, cycle_data, settle_the_rest, write_skp

WIB = ZoneInfo("Asia/Jakarta")
# Long real-looking names: they are what overflows a narrow screen.
EXTRA_NURSES = [
    "Yohana Kristina Situmorang, A.Md.Kep.",
    "Muhammad Rizky Ananda Pratama, S.Kep., Ns.",
    "Ni Made Ayu Sri Wahyuningsih",
    "Fransiskus Xaverius Bambang Hadiwijaya",
    "Siti Nurhaliza Rahmawati",
    "Agustinus Kristianto Nahan",
    "Theresia Avila Dwi Lestari",
    "Rabiatul Adawiyah Syahrani",
    "Bernadetha Natalia Simanjuntak",
    "Dewi Kartika Sari Handayani",
    "Yulius Panahan Sinaga",
    "Elisabeth Mariana Tambunan",
]


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    """A moment in WIB."""
    return datetime(year, month, day, hour, tzinfo=WIB)


def _evaluation(cycle: Cycle, employee) -> Evaluation:
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


def _approved_skp(cycle, org, who) -> Evaluation:
    ev = _evaluation(cycle, org[who])
    write_skp(ev, org[who])
    evaluations.submit_targets(ev, org[who].account)
    evaluations.approve_targets(ev, org["head"].account)
    return ev


def _assessed(ev, employee) -> None:
    for indicator, value in zip(ev.indicators, ["25", "90"], strict=True):
        evaluations.save_realisation(ev, employee.account, indicator, value, "Data SIMPUS bulan berjalan")
    evaluations.add_evidence_link(ev, employee.account, ev.indicators[1], "https://survei.example/ikm-2025")
    evaluations.submit_assessment(ev, employee.account)


def _employee(name: str) -> Employee:
    """The extra nurse of that name."""
    return db.session.scalar(sa.select(Employee).where(Employee.name == name))


def _open(org, start: datetime, year: int, **overrides) -> Cycle:
    clock.travel_to(start)
    data = cycle_data([org["kecamatan"]], start, name=f"SKP Tahunan {year}", year=year, **overrides)
    cycle = cycles.save_cycle(None, data, org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    return cycle


def build(make) -> dict:
    """The agency and its three cycles; returns the people and the ids the pages need."""
    org = agency(make)
    for name in EXTRA_NURSES:
        make.employee(name, supervisor=org["head"], unit=org["puskesmas"])
    hr = org["hr"].account

    # 2025: a whole year, published with names.
    past = _open(org, at(2025, 1, 6), 2025)
    nurse_a = _approved_skp(past, org, "nurse")
    colleague_a = _approved_skp(past, org, "colleague")
    clock.advance(timedelta(days=26))
    cycles.advance(past, hr)
    for ev, who in ((nurse_a, "nurse"), (colleague_a, "colleague")):
        db.session.refresh(ev)
        _assessed(ev, org[who])
        evaluations.review(ev, org["head"].account, {"results_rating": "above", "behaviour_rating": "meets"})
    clock.advance(timedelta(days=125))
    cycles.advance(past, hr)
    cycles.advance(past, hr)
    settle_the_rest(past, hr)  # the head, the camat and HR were not rated that year
    cycles.publish(past, hr, "names", "Unit kecil: kurva tidak berlaku.")

    # 2026: in review. The nurse reports late (her assessment unlocked by a personal
    # extension), the colleague waits for the head's review, Yohana may still object and
    # Rizky's keberatan waits for the camat, who asked the rater for an explanation.
    yohana, rizky = (_employee(name) for name in EXTRA_NURSES[:2])
    org["yohana"], org["rizky"] = yohana, rizky
    current = _open(
        org,
        at(2026, 9, 1),
        2026,
        target_deadline=at(2026, 9, 26, 16),
        assessment_deadline=at(2026, 10, 31, 16),
        review_deadline=at(2027, 1, 20, 16),
        appeal_deadline=at(2027, 2, 20, 16),
        appeal_window_days=60,
        appeal_decision_days=60,
    )
    skps = {who: _approved_skp(current, org, who) for who in ("nurse", "colleague", "yohana", "rizky")}
    clock.travel_to(at(2026, 9, 27))
    cycles.advance(current, hr)
    for who, ev in skps.items():
        db.session.refresh(ev)
        if who == "nurse":
            evaluations.save_realisation(ev, org[who].account, ev.indicators[0], "28", "Rekap SIMPUS")
        else:
            _assessed(ev, org[who])
    clock.travel_to(at(2026, 11, 2))
    cycles.advance(current, hr)
    clock.travel_to(at(2026, 11, 20))
    meets = {"results_rating": "meets", "behaviour_rating": "meets"}
    for who in ("yohana", "rizky"):
        evaluations.review(skps[who], org["head"].account, meets)
    appeal = skps["rizky"]
    evaluations.file_appeal(appeal, rizky.account, "Saya melampaui target waktu tunggu sepanjang tahun.")
    evaluations.appeal_comment(appeal, org["camat"].account, "Mohon jelaskan rating hasil kerja.", "rater")
    # The puskesmas rated "Baik" as a unit: the dashboard draws its predikat against that curve.
    cycles.set_unit_predikat(current, hr, org["puskesmas"].id, "baik")
    db.session.refresh(skps["nurse"])
    cycles.extend_one(skps["nurse"], hr, at(2027, 1, 10, 16), "Sakit selama tahap penilaian mandiri.")
    # The nurse's progress log of 2026: waiting times month by month, the older ones verified by
    # the head, and the satisfaction survey with its link; her self-assessment suggests from it.
    nurse_log = skps["nurse"]
    for month, minutes in ((9, "34"), (10, "29"), (11, "26")):
        entry = progress.add_entry(
            nurse_log,
            org["nurse"].account,
            nurse_log.indicators[0],
            date(2026, month, 14),
            minutes,
            "Rata-rata waktu tunggu poli umum (rekap SIMPUS)",
        )
        if month < 11:
            progress.verify_entry(nurse_log, org["head"].account, entry, "Sesuai rekap SIMPUS")
    progress.add_entry(
        nurse_log,
        org["nurse"].account,
        nurse_log.indicators[1],
        date(2026, 10, 30),
        "88",
        "Survei IKM triwulan III",
        url="https://survei.example/ikm-2026-q3",
    )

    # Dialog kinerja of 2026: the head's dialogue with the nurse, with a follow-up each, which
    # she has not acknowledged yet; her own request for a dialogue; a bimbingan for Rizky that
    # the camat reads in his keberatan.
    dialog.add_record(
        skps["nurse"],
        org["head"].account,
        "dialog",
        at(2026, 10, 15).date(),
        "Waktu tunggu poli umum turun dari 34 ke 29 menit. Antrean daring diuji coba pada jam sibuk.",
        [
            dialog.FollowUpInput("Uji coba antrean daring di poli umum", at(2026, 11, 25).date(), "employee"),
            dialog.FollowUpInput("Ajukan tambahan petugas pendaftaran", at(2026, 12, 10).date(), "rater", 1),
        ],
        url="https://drive.example.go.id/notulen-dialog-oktober",
    )
    dialog.add_record(
        skps["nurse"],
        org["nurse"].account,
        "note",
        at(2026, 11, 18).date(),
        "Mohon dialog tentang target IKM.",
    )
    dialog.add_record(
        appeal, org["head"].account, "coaching", at(2026, 10, 20).date(), "Bimbingan pelaporan SIMPUS."
    )

    # Peer input on the colleague's behaviour: the head asked Yohana, who answered, and the nurse,
    # whose answer is still due. The colleague's waiting time logged far above its target asks the
    # head for a bimbingan (the coaching job, run at mid-period).
    asked = peers.request_input(
        skps["colleague"], org["head"].account, [yohana.id, org["nurse"].id], at(2027, 1, 10, 16)
    )
    answer = peers.AnswerData(
        hints={value.value: "meets" for value in CoreValue},
        comments={value.value: "" for value in CoreValue},
    )
    answer.hints["adaptive"], answer.hints["loyal"] = "above", "unknown"
    answer.comments["service"] = "Sabar menjelaskan alur rujukan kepada keluarga pasien."
    peers.answer(asked[0], yohana.account, answer)
    progress.add_entry(
        skps["colleague"],
        org["colleague"].account,
        skps["colleague"].indicators[0],
        date(2026, 11, 14),
        "45",
        "Rata-rata waktu tunggu poli KIA",
    )
    coaching.create_requests()

    # 2027: target setting, past its deadline.
    coming = _open(
        org,
        at(2026, 12, 1),
        2027,
        target_deadline=at(2026, 12, 10, 16),
        assessment_deadline=at(2027, 12, 20, 16),
        review_deadline=at(2028, 1, 15, 16),
        appeal_deadline=at(2028, 2, 15, 16),
    )
    nurse_c = _evaluation(coming, org["nurse"])
    write_skp(nurse_c, org["nurse"])
    colleague_c = _evaluation(coming, org["colleague"])
    write_skp(colleague_c, org["colleague"])
    evaluations.submit_targets(colleague_c, org["colleague"].account)
    # The head published an RHK template for the nurses: the draft offers it beside last year's SKP.
    template = planning.publish_template(
        org["head"].account,
        {
            "position_id": org["nurse"].position_id,
            "kind": "main",
            "text": "Pemeriksaan kesehatan ibu hamil sesuai standar",
            "indicators": [
                {
                    "aspect": "quantity",
                    "text": "Ibu hamil diperiksa",
                    "comparator": "at_least",
                    "target": "120",
                    "unit": "orang",
                },
                {
                    "aspect": "quality",
                    "text": "Pemeriksaan sesuai standar 10T",
                    "comparator": "at_least",
                    "target": "95",
                    "unit": "%",
                },
            ],
        },
    )
    clock.travel_to(at(2026, 12, 15), frozen=False)
    cycles.extend_one(nurse_c, hr, at(2026, 12, 31, 16), "Cuti melahirkan sampai awal Desember.")

    message = db.session.scalar(sa.select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
    # HR asked for the puskesmas's documents of 2025 as one ZIP; the scheduler has not built it yet.
    bundle = bundles.request_bundle(past, org["puskesmas"], hr)
    return dict(
        org=org,
        ids=dict(
            past=past.id,
            current=current.id,
            coming=coming.id,
            nurse_draft=nurse_c.id,
            nurse_assessment=skps["nurse"].id,
            nurse_result=nurse_a.id,
            yohana_reviewed=skps["yohana"].id,
            rizky_appeal=skps["rizky"].id,
            colleague_submitted=colleague_c.id,
            colleague_review=skps["colleague"].id,
            message=message,
            bundle=bundle.id,
            template=template.id,
            peer_asked=asked[1].id,
            peer_answered=asked[0].id,
        ),
    )


def pages_of(scenario: dict) -> dict[str, list[tuple[str, str]]]:
    """Each role's main pages as (what, path); role "anonymous" is the signed-out visitor."""
    i, org = scenario["ids"], scenario["org"]
    return {
        "anonymous": [("Masuk", "/login"), ("Lupa kata sandi", "/password/forgot")],
        "pegawai": [
            ("Beranda", "/"),
            ("Daftar SKP", "/evaluations/"),
            ("SKP draf", f"/evaluations/{i['nurse_draft']}"),
            ("Penilaian mandiri", f"/evaluations/{i['nurse_assessment']}"),
            ("SKP hasil diumumkan", f"/evaluations/{i['nurse_result']}"),
            ("Log progres", f"/evaluations/{i['nurse_assessment']}/progres"),
            ("Dialog kinerja", f"/evaluations/{i['nurse_assessment']}/dialog"),
            ("Hasil", "/results/"),
            ("Papan hasil", f"/results/{i['past']}"),
            ("Ganti kata sandi", "/account/password"),
            ("Masukan rekan kerja", f"/rekan/{i['peer_asked']}"),
        ],
        "pegawai dinilai": [
            ("SKP dinilai (bisa keberatan)", f"/evaluations/{i['yohana_reviewed']}"),
            ("Masukan rekan kerja (terkirim)", f"/rekan/{i['peer_answered']}"),
        ],
        "atasan": [
            ("Beranda", "/"),
            ("Daftar SKP", "/evaluations/"),
            ("Tim saya", "/people/team"),
            ("Tim saya: perlu tindakan saya", "/people/team?perlu=1"),
            ("SKP diajukan", f"/evaluations/{i['colleague_submitted']}"),
            ("SKP draf (ekspektasi pimpinan)", f"/evaluations/{i['nurse_draft']}"),
            ("Formulir penilaian", f"/evaluations/{i['colleague_review']}"),
            ("Minta masukan rekan kerja", f"/evaluations/{i['colleague_review']}/rekan"),
            ("Log progres (verifikasi)", f"/evaluations/{i['nurse_assessment']}/progres"),
            ("Dialog kinerja (catat)", f"/evaluations/{i['nurse_assessment']}/dialog"),
            ("Keberatan (minta penjelasan)", f"/evaluations/{i['rizky_appeal']}"),
            ("Templat RHK unit", "/templat-rhk/"),
            ("Ubah templat RHK", f"/templat-rhk/{i['template']}/ubah"),
        ],
        "camat": [
            ("Beranda", "/"),
            ("Daftar SKP", "/evaluations/"),
            ("Keberatan", f"/evaluations/{i['rizky_appeal']}"),
            ("Dialog kinerja keberatan", f"/evaluations/{i['rizky_appeal']}/dialog"),
        ],
        "hr": [
            ("Beranda", "/"),
            ("Periode", "/cycles/"),
            ("Buat periode", "/cycles/new"),
            ("Dasbor penyusunan", f"/cycles/{i['coming']}"),
            ("Dasbor penilaian", f"/cycles/{i['current']}"),
            ("Dasbor diumumkan", f"/cycles/{i['past']}"),
            ("Periode perlu tindakan", "/cycles/?perlu=1"),
            ("Terlambat", f"/cycles/{i['coming']}/overdue"),
            ("Distribusi", f"/cycles/{i['current']}/distribution"),
            ("Distribusi diumumkan", f"/cycles/{i['past']}/distribution"),
            ("Belum dinilai atasan", f"/cycles/{i['current']}/tidak-dinilai"),
            ("Pengecualian pegawai", f"/evaluations/{i['colleague_review']}/pengecualian"),
            ("Kurva distribusi", "/kurva/"),
            ("Ubah kurva", "/kurva/baik"),
            ("Hasil", "/results/"),
            ("Papan hasil", f"/results/{i['past']}"),
            ("Pegawai", "/people/"),
            ("Profil pegawai", f"/people/{org['nurse'].id}"),
            ("Ubah pegawai", f"/people/{org['nurse'].id}/edit"),
            ("Pindahkan penilai", f"/reassign/?from={org['head'].nip}"),
            ("Pindahkan penilai pegawai", f"/reassign/employee/{org['nurse'].id}"),
            ("Unit kerja", "/org/"),
            ("Koefisien angka kredit", "/org/angka-kredit"),
            ("Ubah jabatan", f"/org/positions/{org['nurse'].position_id}"),
            ("Impor CSV", "/people/import"),
            ("Audit", "/audit/"),
            ("Email", "/admin/outbox"),
            ("Isi email", f"/admin/outbox/{i['message']}"),
            ("Alur periode", "/workflow/cycle"),
            ("Dokumen per unit", f"/cycles/{i['past']}/dokumen"),
            ("Penyusunan ZIP dokumen", f"/dokumen/{i['bundle']}"),
            ("Templat RHK", "/templat-rhk/"),
            ("Terbitkan templat RHK", "/templat-rhk/baru"),
        ],
    }


def login_of(scenario: dict, role: str) -> str | None:
    """The email a role signs in with."""
    people = {"pegawai": "nurse", "pegawai dinilai": "yohana", "atasan": "head", "camat": "camat", "hr": "hr"}
    person = people.get(role)
    return scenario["org"][person].email if person else None


def signed_in(browser, base_url: str, scenario: dict, role: str, **options):
    """A new browser context (own cookies) signed in as `role` through the form; and its page."""
    context = browser.new_context(base_url=base_url, locale="id-ID", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    identifier = login_of(scenario, role)
    if identifier:
        page.goto("/login")
        page.get_by_label("NIP atau email").fill(identifier)
        page.get_by_label("Kata sandi").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Masuk").click()
        expect(page.locator("main")).to_be_visible()
        assert "/login" not in page.url, f"{role} could not sign in"
    return context, page
