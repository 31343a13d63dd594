"""Every transition and guard of the two machines, through the services.

Each refusal is checked twice: the reason the user reads, and a database left exactly as it
was (services roll back on Refused).
"""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import Aspect, Comparator, OrgPredikat, Predikat, Rating
from app.extensions import db as _db
from app.models import (
    Appeal,
    AppealOutcome,
    AuditEvent,
    Comment,
    Cycle,
    CycleState,
    DistributionBand,
    Evaluation,
    EvaluationState,
    Evidence,
    Indicator,
    OutboxMessage,
    Rhk,
    Role,
    UnitPredikat,
)
from app.services import Refused
from app.workflow import cycles, evaluations
from app.workflow.engine import bulk_fire
from tests.workflow_helpers import START, agency, cycle_data, open_annual, settle_the_rest, write_skp

E = EvaluationState
PAST_TARGETS = START + timedelta(days=26)  # after the target deadline, before the assessment deadline
LONG_REASONS = "Saya melampaui semua target dan aktif berkolaborasi lintas program."


# ---- helpers --------------------------------------------------------------------------------------------


def snapshot() -> dict:
    """Every row of every table: what "nothing changed" means."""
    _db.session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in _db.session.execute(sa.select(table))), key=repr)
        for table in _db.metadata.sorted_tables
    }


def refused(call, *args, match: str | None = None, **kwargs) -> Refused:
    """Call a service, expect Refused (with `match` in its message) and an unchanged database."""
    before = snapshot()
    with pytest.raises(Refused) as info:
        call(*args, **kwargs)
    assert snapshot() == before, f"{call.__name__} was refused but changed the database"
    if match is not None:
        assert match in str(info.value), str(info.value)
    return info.value


def audits(action: str, evaluation: Evaluation | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if evaluation is not None:
        query = query.where(
            AuditEvent.object_type == "evaluation", AuditEvent.object_id == str(evaluation.id)
        )
    return list(_db.session.scalars(query))


def count(model, *where) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


class World:
    """The agency of the walkthrough with an annual cycle opened on START."""

    def __init__(self, make):
        self.make = make
        self.org = agency(make)
        self.cycle = open_annual(self.org)

    def acc(self, who: str):
        return self.org[who].account

    def ev(self, who: str, cycle: Cycle | None = None) -> Evaluation:
        return _db.session.scalar(
            sa.select(Evaluation).where(
                Evaluation.cycle_id == (cycle or self.cycle).id, Evaluation.employee_id == self.org[who].id
            )
        )

    def skp(self, who: str = "nurse") -> Evaluation:
        ev = self.ev(who)
        write_skp(ev, self.org[who])
        return ev

    def submitted_targets(self, who: str = "nurse") -> Evaluation:
        ev = self.skp(who)
        evaluations.submit_targets(ev, self.acc(who))
        return ev

    def approved(self, who: str = "nurse") -> Evaluation:
        ev = self.submitted_targets(who)
        evaluations.approve_targets(ev, self.acc("head"))
        return ev

    def to_self_assessment(self) -> None:
        clock.travel_to(PAST_TARGETS)
        cycles.advance(self.cycle, self.acc("hr"))

    def in_assessment(self, who: str = "nurse") -> Evaluation:
        ev = self.approved(who)
        self.to_self_assessment()
        _db.session.refresh(ev)
        assert ev.state == E.ASSESSMENT_DRAFT
        return ev

    def realise(self, ev: Evaluation, who: str = "nurse", values=("25", "90")) -> None:
        for indicator, value in zip(ev.indicators, values, strict=True):
            evaluations.save_realisation(ev, self.acc(who), indicator, value, "Data SIMPUS")

    def submitted_assessment(self, who: str = "nurse") -> Evaluation:
        ev = self.in_assessment(who)
        self.realise(ev, who)
        evaluations.submit_assessment(ev, self.acc(who))
        return ev

    def reviewed(self, results="above", behaviour="meets", summary=None) -> Evaluation:
        ev = self.submitted_assessment()
        evaluations.review(
            ev,
            self.acc("head"),
            {"results_rating": results, "behaviour_rating": behaviour, "summary": summary},
        )
        return ev

    def appealed(self, results="above", behaviour="meets") -> Evaluation:
        ev = self.reviewed(results, behaviour)
        evaluations.file_appeal(ev, self.acc("nurse"), LONG_REASONS)
        return ev


@pytest.fixture
def w(make) -> World:
    return World(make)


INDICATOR = {
    "aspect": Aspect.QUANTITY,
    "text": "Berkas selesai",
    "comparator": Comparator.AT_LEAST,
    "target": "120",
    "unit": "berkas",
}


# ---- target setting --------------------------------------------------------------------------------------


def test_submit_without_any_rhk_is_refused(w):
    ev = w.ev("nurse")
    refused(evaluations.submit_targets, ev, w.acc("nurse"), match="belum memiliki RHK utama")
    assert ev.state == E.TARGETS_DRAFT


def test_submit_with_only_additional_rhk_is_refused(w):
    ev = w.ev("nurse")
    rhk = evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "additional", "text": "Piket posyandu"})
    evaluations.save_indicator(ev, w.acc("nurse"), rhk, INDICATOR)
    refused(evaluations.submit_targets, ev, w.acc("nurse"), match="belum memiliki RHK utama")


def test_submit_with_an_rhk_without_indicator_is_refused(w):
    ev = w.skp()
    evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "additional", "text": "Penyuluhan gizi balita"})
    refused(
        evaluations.submit_targets,
        ev,
        w.acc("nurse"),
        match="belum memiliki indikator: Penyuluhan gizi balita",
    )
    assert ev.state == E.TARGETS_DRAFT


def test_submit_then_approve_audits_and_notifies(w):
    ev = w.submitted_targets()
    assert ev.state == E.TARGETS_SUBMITTED
    [event] = audits("evaluation.submit_targets", ev)
    assert (event.from_state, event.to_state, event.actor_id) == (
        E.TARGETS_DRAFT,
        E.TARGETS_SUBMITTED,
        w.acc("nurse").id,
    )
    evaluations.approve_targets(ev, w.acc("head"))
    assert ev.state == E.TARGETS_APPROVED
    [event] = audits("evaluation.approve_targets", ev)
    assert event.actor_id == w.acc("head").id
    assert count(OutboxMessage, OutboxMessage.kind == "targets_submitted") == 1
    assert count(OutboxMessage, OutboxMessage.kind == "targets_approved") == 1


def test_submit_after_the_target_deadline_is_refused_without_any_lock_job(w):
    ev = w.skp()
    clock.travel_to(w.cycle.target_deadline + timedelta(minutes=1))
    assert w.cycle.state == CycleState.TARGET_SETTING and ev.state == E.TARGETS_DRAFT
    refused(evaluations.submit_targets, ev, w.acc("nurse"), match="Tenggat tahap ini sudah lewat")
    refused(
        evaluations.save_rhk,
        ev,
        w.acc("nurse"),
        {"kind": "main", "text": "Terlambat"},
        match="Tenggat tahap ini sudah lewat",
    )


def test_submit_exactly_at_the_deadline_is_accepted(w):
    ev = w.skp()
    clock.travel_to(w.cycle.target_deadline)
    evaluations.submit_targets(ev, w.acc("nurse"))
    assert ev.state == E.TARGETS_SUBMITTED


def test_a_personal_extension_lets_one_employee_submit_while_a_colleague_is_refused(w):
    nurse, colleague = w.skp("nurse"), w.skp("colleague")
    clock.travel_to(w.cycle.target_deadline + timedelta(days=1))
    until = clock.utcnow() + timedelta(days=3)
    cycles.extend_one(nurse, w.acc("hr"), until, "Cuti melahirkan")
    [event] = audits("evaluation.deadline_extended", nurse)
    assert event.comment == "Cuti melahirkan" and event.actor_id == w.acc("hr").id
    assert count(OutboxMessage, OutboxMessage.kind == "deadline_extended") == 1

    evaluations.submit_targets(nurse, w.acc("nurse"))
    assert nurse.state == E.TARGETS_SUBMITTED
    refused(evaluations.submit_targets, colleague, w.acc("colleague"), match="Tenggat tahap ini sudah lewat")
    assert colleague.state == E.TARGETS_DRAFT
    # the extension ends too
    clock.travel_to(until + timedelta(seconds=1))
    evaluations.return_targets(nurse, w.acc("head"), "Perbaiki target")
    refused(evaluations.submit_targets, nurse, w.acc("nurse"), match="Tenggat tahap ini sudah lewat")


def test_extend_one_needs_hr_a_future_date_and_a_reason(w):
    ev = w.ev("nurse")
    future = clock.utcnow() + timedelta(days=40)
    refused(cycles.extend_one, ev, w.acc("head"), future, "Sakit", match="Hanya admin kepegawaian")
    error = refused(cycles.extend_one, ev, w.acc("hr"), clock.utcnow() - timedelta(days=1), "Sakit")
    assert "until" in error.errors
    error = refused(cycles.extend_one, ev, w.acc("hr"), future, "   ")
    assert "reason" in error.errors


def test_extending_a_locked_evaluation_unlocks_it_and_the_late_skp_can_be_set(w):
    w.approved("nurse")
    colleague = w.ev("colleague")
    w.to_self_assessment()
    _db.session.refresh(colleague)
    assert colleague.state == E.TARGETS_LOCKED
    refused(
        evaluations.save_rhk,
        colleague,
        w.acc("colleague"),
        {"kind": "main", "text": "Terlambat"},
        match="SKP hanya dapat diubah",
    )

    cycles.extend_one(colleague, w.acc("hr"), clock.utcnow() + timedelta(days=5), "Tugas belajar")
    assert colleague.state == E.TARGETS_DRAFT
    [event] = audits("evaluation.unlock_targets", colleague)
    assert (event.from_state, event.to_state) == (E.TARGETS_LOCKED, E.TARGETS_DRAFT)
    assert event.comment == "Tugas belajar" and event.actor_id == w.acc("hr").id

    # the unlocked SKP can now be written, submitted and approved; approval opens the assessment
    write_skp(colleague, w.org["colleague"])
    evaluations.submit_targets(colleague, w.acc("colleague"))
    evaluations.approve_targets(colleague, w.acc("head"))
    assert colleague.state == E.ASSESSMENT_DRAFT
    assert [e.to_state for e in audits("evaluation.open_assessment", colleague)] == [E.ASSESSMENT_DRAFT]


def test_a_personal_extension_survives_the_advance_and_binds_only_its_own_phase(w):
    ev = w.skp()
    hr = w.acc("hr")
    clock.travel_to(w.cycle.target_deadline + timedelta(days=1))
    cycles.extend_one(ev, hr, w.cycle.assessment_deadline + timedelta(days=10), "Tugas luar daerah")
    cycles.advance(w.cycle, hr)
    _db.session.refresh(ev)
    assert ev.state == E.TARGETS_DRAFT  # spared by the lock: her extension runs
    assert w.ev("colleague").state == E.TARGETS_LOCKED
    evaluations.submit_targets(ev, w.acc("nurse"))
    evaluations.approve_targets(ev, w.acc("head"))
    assert ev.state == E.ASSESSMENT_DRAFT
    # her extension was for the SKP; the self-assessment deadline binds her like everyone else
    clock.travel_to(w.cycle.assessment_deadline + timedelta(days=1))
    refused(evaluations.save_realisation, ev, w.acc("nurse"), ev.indicators[0], "20", None, match="Tenggat")
    cycles.advance(w.cycle, hr)
    _db.session.refresh(ev)
    assert ev.state == E.ASSESSMENT_LOCKED


def test_return_without_a_comment_is_refused(w):
    ev = w.submitted_targets()
    refused(evaluations.return_targets, ev, w.acc("head"), "   ", match="Tulis komentar")
    assert ev.state == E.TARGETS_SUBMITTED


def test_return_with_a_comment_goes_back_to_draft_with_the_comment(w):
    ev = w.submitted_targets()
    evaluations.return_targets(ev, w.acc("head"), "Target kepuasan terlalu rendah")
    assert ev.state == E.TARGETS_DRAFT
    [comment] = ev.comments
    assert (comment.topic, comment.body) == ("targets", "Target kepuasan terlalu rendah")
    [event] = audits("evaluation.return_targets", ev)
    assert event.comment == "Target kepuasan terlalu rendah"
    assert count(OutboxMessage, OutboxMessage.kind == "targets_returned") == 1


def test_a_rater_of_another_team_cannot_approve(w, make):
    other_head = make.employee("Kepala Seksi Lain", supervisor=w.org["camat"], unit=w.org["kecamatan"])
    make.employee("Staf Seksi Lain", supervisor=other_head, unit=w.org["kecamatan"])
    ev = w.submitted_targets()
    refused(evaluations.approve_targets, ev, other_head.account, match="tidak berwenang")
    refused(evaluations.return_targets, ev, other_head.account, "Bukan tim saya", match="tidak berwenang")


def test_an_employee_cannot_approve_their_own_skp(w):
    ev = w.submitted_targets()
    refused(evaluations.approve_targets, ev, w.acc("nurse"), match="tidak berwenang")
    refused(evaluations.approve_targets, ev, w.acc("colleague"), match="tidak berwenang")


def test_the_hr_role_grants_no_right_to_rate(w, make):
    admin = make.employee("Admin Sistem", roles={Role.EMPLOYEE, Role.HR, Role.ADMIN}, unit=w.org["kecamatan"])
    ev = w.submitted_targets()
    for officer in (w.acc("hr"), admin.account):
        refused(evaluations.approve_targets, ev, officer, match="tidak berwenang")
        refused(evaluations.return_targets, ev, officer, "Perbaiki", match="tidak berwenang")
    evaluations.approve_targets(ev, w.acc("head"))
    w.to_self_assessment()
    w.realise(ev)
    evaluations.submit_assessment(ev, w.acc("nurse"))
    refused(
        evaluations.review,
        ev,
        w.acc("hr"),
        {"results_rating": "above", "behaviour_rating": "above"},
        match="tidak berwenang",
    )


def test_nobody_but_the_employee_edits_or_submits_the_skp(w):
    ev = w.ev("nurse")
    for who in ("head", "hr", "colleague"):
        refused(
            evaluations.save_rhk,
            ev,
            w.acc(who),
            {"kind": "main", "text": "Bukan milik saya"},
            match="Hanya pegawai",
        )
    w.skp()
    for who in ("head", "hr", "colleague"):
        refused(evaluations.submit_targets, ev, w.acc(who), match="tidak berwenang")


def test_expectations_are_written_by_the_rater_only(w):
    ev = w.ev("nurse")
    evaluations.save_expectations(ev, w.acc("head"), {"service": "Ramah kepada pasien lansia"})
    assert ev.behaviour_note("service").expectation == "Ramah kepada pasien lansia"
    refused(
        evaluations.save_expectations, ev, w.acc("nurse"), {"service": "Saya sendiri"}, match="Hanya pejabat"
    )
    refused(evaluations.save_expectations, ev, w.acc("hr"), {"service": "HR"}, match="Hanya pejabat")


# ---- content validation ------------------------------------------------------------------------------


def test_a_ten_thousand_character_rhk_is_refused(w):
    error = refused(
        evaluations.save_rhk, w.ev("nurse"), w.acc("nurse"), {"kind": "main", "text": "x" * 10_000}
    )
    assert error.errors["text"] == "Rencana hasil kerja paling banyak 2000 karakter."


def test_an_empty_rhk_or_an_unknown_kind_is_refused(w):
    ev = w.ev("nurse")
    error = refused(evaluations.save_rhk, ev, w.acc("nurse"), {"kind": "main", "text": "  "})
    assert error.errors["text"] == "Rencana hasil kerja wajib diisi."
    error = refused(evaluations.save_rhk, ev, w.acc("nurse"), {"kind": "utama-sekali", "text": "Layanan"})
    assert "kind" in error.errors


def test_html_in_text_is_stored_as_written(w):
    ev = w.ev("nurse")
    text = '<script>alert("x")</script> <b>Pelayanan</b> & "cepat"'
    rhk = evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": text})
    _db.session.expire_all()
    assert _db.session.get(Rhk, rhk.id).text == text


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("banyak", "Target harus berupa angka."),
        ("12a", "Target harus berupa angka."),
        ("-5", "Target tidak boleh negatif."),
        ("NaN", "Target harus berupa angka."),
        ("Infinity", "Target harus berupa angka."),
        ("", "Target wajib diisi."),
    ],
)
def test_a_bad_target_is_refused_in_indonesian(w, target, message):
    ev = w.ev("nurse")
    rhk = evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": "Pelayanan"})
    error = refused(evaluations.save_indicator, ev, w.acc("nurse"), rhk, {**INDICATOR, "target": target})
    assert error.errors["target"] == message


def test_a_decimal_comma_target_is_read_as_a_number(w):
    ev = w.ev("nurse")
    rhk = evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": "Pelayanan"})
    indicator = evaluations.save_indicator(ev, w.acc("nurse"), rhk, {**INDICATOR, "target": "98,5"})
    assert str(indicator.target) == "98.50"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("1.000", "1000.00"),  # Indonesian thousands
        ("12.500", "12500.00"),
        ("1.000.000", "1000000.00"),
        ("1.000,5", "1000.50"),
        ("98,5", "98.50"),
        ("98.5", "98.50"),  # a point that groups no thousands is a decimal point
        ("0.75", "0.75"),
        ("1,000.5", "1000.50"),
        (" 30 ", "30.00"),
    ],
)
def test_numbers_are_read_as_written_in_indonesia(w, typed, stored):
    ev = w.ev("nurse")
    rhk = evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": "Pelayanan"})
    indicator = evaluations.save_indicator(ev, w.acc("nurse"), rhk, {**INDICATOR, "target": typed})
    assert str(indicator.target) == stored


@pytest.mark.parametrize("typed", ["1.5.0", "1,5,0", "1.00,5", "12,50.000", "satu"])
def test_numbers_with_marks_in_the_wrong_places_are_refused(w, typed):
    ev = w.ev("nurse")
    rhk = evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": "Pelayanan"})
    error = refused(evaluations.save_indicator, ev, w.acc("nurse"), rhk, {**INDICATOR, "target": typed})
    assert error.errors["target"] == "Target harus berupa angka."


def test_a_range_whose_upper_bound_is_below_its_lower_bound_is_refused(w):
    ev = w.ev("nurse")
    rhk = evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": "Pelayanan"})
    data = {**INDICATOR, "comparator": Comparator.RANGE, "target": "10", "target_max": "5"}
    error = refused(evaluations.save_indicator, ev, w.acc("nurse"), rhk, data)
    assert "target_max" in error.errors


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sembilan puluh", "Realisasi harus berupa angka."),
        ("-1", "Realisasi tidak boleh negatif."),
        (None, "Realisasi wajib diisi."),
    ],
)
def test_a_bad_realisation_is_refused_in_indonesian(w, value, message):
    ev = w.in_assessment()
    error = refused(evaluations.save_realisation, ev, w.acc("nurse"), ev.indicators[0], value, None)
    assert error.errors["realisation"] == message


# ---- optimistic locking --------------------------------------------------------------------------------


def test_a_stale_form_changes_nothing(w):
    clock.travel_to(clock.utcnow(), frozen=False)  # a touch marks the change with the (ticking) time
    ev = w.ev("nurse")
    stale = ev.version
    rhk = evaluations.save_rhk(
        ev, w.acc("nurse"), {"kind": "main", "text": "Pelayanan"}, expected_version=stale
    )
    assert ev.version > stale
    refused(
        evaluations.save_rhk,
        ev,
        w.acc("nurse"),
        {"kind": "main", "text": "Dari tab lama"},
        expected_version=stale,
        match="baru saja diubah",
    )
    evaluations.save_indicator(ev, w.acc("nurse"), rhk, INDICATOR)
    refused(evaluations.submit_targets, ev, w.acc("nurse"), expected_version=stale, match="baru saja diubah")
    current = ev.version
    evaluations.submit_targets(ev, w.acc("nurse"), expected_version=current)
    refused(
        evaluations.approve_targets, ev, w.acc("head"), expected_version=current, match="baru saja diubah"
    )
    refused(
        evaluations.return_targets, ev, w.acc("head"), "Perbaiki", expected_version=current, match="baru saja"
    )
    assert ev.state == E.TARGETS_SUBMITTED


def test_a_stale_review_changes_nothing(w):
    ev = w.submitted_assessment()
    stale = ev.version - 1
    refused(
        evaluations.review,
        ev,
        w.acc("head"),
        {"results_rating": "above", "behaviour_rating": "above"},
        expected_version=stale,
        match="baru saja diubah",
    )
    assert ev.state == E.ASSESSMENT_SUBMITTED and ev.results_rating is None


# ---- self-assessment and evidence ----------------------------------------------------------------------


def test_submit_assessment_needs_every_realisation(w):
    ev = w.in_assessment()
    evaluations.save_realisation(ev, w.acc("nurse"), ev.indicators[0], "25", None)
    refused(
        evaluations.submit_assessment,
        ev,
        w.acc("nurse"),
        match="Realisasi belum diisi untuk: Indeks kepuasan",
    )
    evaluations.save_realisation(ev, w.acc("nurse"), ev.indicators[1], "90", None)
    evaluations.submit_assessment(ev, w.acc("nurse"))
    assert ev.state == E.ASSESSMENT_SUBMITTED
    refused(
        evaluations.save_realisation,
        ev,
        w.acc("nurse"),
        ev.indicators[0],
        "20",
        None,
        match="Realisasi hanya dapat diubah",
    )


def test_submit_assessment_after_its_deadline_is_refused(w):
    ev = w.in_assessment()
    w.realise(ev)
    clock.travel_to(w.cycle.assessment_deadline + timedelta(hours=1))
    refused(evaluations.submit_assessment, ev, w.acc("nurse"), match="Tenggat tahap ini sudah lewat")


def test_return_assessment_needs_a_comment_and_reopens_the_draft(w):
    ev = w.submitted_assessment()
    refused(evaluations.return_assessment, ev, w.acc("head"), "", match="Tulis komentar")
    refused(evaluations.return_assessment, ev, w.acc("colleague"), "Bukan saya", match="tidak berwenang")
    evaluations.return_assessment(ev, w.acc("head"), "Lampirkan bukti survei")
    assert ev.state == E.ASSESSMENT_DRAFT
    assert count(OutboxMessage, OutboxMessage.kind == "assessment_returned") == 1


def test_evidence_whose_bytes_are_not_pdf_png_or_jpg_is_refused_whatever_its_name(w):
    ev = w.in_assessment()
    for name, data in [
        ("laporan.pdf", b"MZ\x90\x00 this is an executable"),
        ("foto.jpg", b"<html><script>alert(1)</script></html>"),
        ("laporan.pdf", b""),
    ]:
        refused(evaluations.add_evidence_file, ev, w.acc("nurse"), ev.indicators[0], name, data)
    assert count(Evidence) == 0


def test_oversized_evidence_is_refused(app, w):
    app.config["EVIDENCE_MAX_MB"] = 1
    ev = w.in_assessment()
    data = b"%PDF-1.4 " + b"0" * (1024 * 1024)
    error = refused(evaluations.add_evidence_file, ev, w.acc("nurse"), ev.indicators[0], "besar.pdf", data)
    assert error.errors["file"] == "Berkas terlalu besar (maksimum 1 MB)."
    evaluations.add_evidence_file(ev, w.acc("nurse"), ev.indicators[0], "pas.pdf", data[: 1024 * 1024])


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://arsip.example/berkas", "file:///etc/passwd", "survei.example", ""]
)
def test_an_evidence_link_that_is_not_http_is_refused(w, url):
    ev = w.in_assessment()
    error = refused(evaluations.add_evidence_link, ev, w.acc("nurse"), ev.indicators[0], url)
    assert "url" in error.errors


def test_evidence_is_stored_in_the_instance_folder_not_under_static(app, w):
    ev = w.in_assessment()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    evidence = evaluations.add_evidence_file(ev, w.acc("nurse"), ev.indicators[0], "../../foto.png", png)
    assert evidence.content_type == "image/png" and evidence.filename == "foto.png"
    stored = Path(app.instance_path) / "evidence" / evidence.stored_name
    assert stored.read_bytes() == png
    assert Path(app.static_folder) not in stored.parents
    assert not list(Path(app.static_folder).rglob(evidence.stored_name))
    link = evaluations.add_evidence_link(ev, w.acc("nurse"), ev.indicators[1], "https://survei.example/ikm")
    assert link.url == "https://survei.example/ikm"
    assert len(audits("evidence.added", ev)) == 2
    evaluations.delete_evidence(ev, w.acc("nurse"), evidence)
    assert not stored.exists()


def test_only_the_employee_adds_evidence(w):
    ev = w.in_assessment()
    refused(
        evaluations.add_evidence_link,
        ev,
        w.acc("head"),
        ev.indicators[0],
        "https://survei.example",
        match="Hanya pegawai",
    )


# ---- review ------------------------------------------------------------------------------------------


def test_the_rater_cannot_review_before_submission(w):
    ev = w.ev("nurse")
    ratings = {"results_rating": "meets", "behaviour_rating": "meets"}
    refused(evaluations.review, ev, w.acc("head"), ratings, match="tidak dapat dilakukan pada status")
    ev = w.in_assessment()
    message = str(refused(evaluations.review, ev, w.acc("head"), ratings))
    assert "Beri penilaian" in message and "Penilaian mandiri disusun" in message


def test_a_review_needs_both_ratings(w):
    ev = w.submitted_assessment()
    error = refused(evaluations.review, ev, w.acc("head"), {"results_rating": "meets"})
    assert "behaviour_rating" in error.errors


def test_a_below_rating_without_written_feedback_is_refused(w):
    ev = w.submitted_assessment()
    refused(
        evaluations.review,
        ev,
        w.acc("head"),
        {"results_rating": "below", "behaviour_rating": "meets", "summary": "  "},
        match="Rating hasil kerja Di Bawah Ekspektasi wajib disertai umpan balik",
    )
    refused(
        evaluations.review,
        ev,
        w.acc("head"),
        {"results_rating": "meets", "behaviour_rating": "below"},
        match="Rating perilaku kerja Di Bawah Ekspektasi wajib disertai umpan balik",
    )
    assert ev.state == E.ASSESSMENT_SUBMITTED


def test_a_below_rating_with_feedback_is_accepted(w):
    ev = w.submitted_assessment()
    evaluations.review(
        ev,
        w.acc("head"),
        {
            "results_rating": "meets",
            "behaviour_rating": "below",
            "behaviour_feedback": {"collaborative": "Jarang hadir rapat lintas program."},
        },
    )
    assert ev.state == E.REVIEWED and ev.predikat is Predikat.KURANG
    assert ev.behaviour_note("collaborative").feedback == "Jarang hadir rapat lintas program."


@pytest.mark.parametrize(
    ("results", "behaviour", "expected"),
    [
        ("above", "above", Predikat.SANGAT_BAIK),
        ("meets", "above", Predikat.BAIK),
        ("below", "above", Predikat.BUTUH_PERBAIKAN),
        ("below", "below", Predikat.SANGAT_KURANG),
        ("above", "below", Predikat.KURANG),
    ],
)
def test_the_predikat_after_review_follows_the_table(w, results, behaviour, expected):
    ev = w.reviewed(results, behaviour, summary="Catatan penilaian tertulis.")
    assert ev.predikat is expected
    assert ev.appeal_until == clock.end_of_day_after(clock.utcnow(), 14)
    [event] = audits("evaluation.review", ev)
    assert (event.from_state, event.to_state, event.comment) == (E.ASSESSMENT_SUBMITTED, E.REVIEWED, expected)
    assert count(OutboxMessage, OutboxMessage.kind == "result_delivered") == 1


# ---- keberatan --------------------------------------------------------------------------------------------


def test_the_appeal_handler_is_the_raters_superior_and_nobody_else_decides(w):
    ev = w.appealed()
    assert ev.appeal_handler_id == w.org["camat"].id and ev.rater_id == w.org["head"].id
    decision = {"results_rating": "above", "behaviour_rating": "meets", "reasons": "Penilaian sudah tepat."}
    for who in ("head", "hr", "nurse", "colleague"):
        refused(evaluations.decide_appeal, ev, w.acc(who), decision, match="Hanya atasan pejabat penilai")
    evaluations.decide_appeal(ev, w.acc("camat"), decision)
    assert ev.state == E.DECIDED
    assert ev.appeal.outcome is AppealOutcome.UPHELD and ev.appeal.decided_by_id == w.org["camat"].id


def test_a_decision_needs_its_reasons(w):
    ev = w.appealed()
    refused(
        evaluations.decide_appeal,
        ev,
        w.acc("camat"),
        {"results_rating": "above", "behaviour_rating": "above", "reasons": " "},
        match="Tuliskan alasan keputusan",
    )


def test_an_appeal_decision_that_changes_a_rating_changes_the_predikat(w):
    ev = w.appealed("above", "meets")
    assert ev.predikat is Predikat.BAIK
    evaluations.decide_appeal(
        ev,
        w.acc("camat"),
        {"results_rating": "above", "behaviour_rating": "above", "reasons": "Bukti kolaborasi kuat."},
    )
    assert ev.state == E.DECIDED and ev.predikat is Predikat.SANGAT_BAIK
    appeal = _db.session.scalar(sa.select(Appeal).where(Appeal.evaluation_id == ev.id))
    assert appeal.outcome is AppealOutcome.CHANGED
    assert (appeal.results_before, appeal.behaviour_before) == (Rating.ABOVE, Rating.MEETS)
    assert "Bukti kolaborasi kuat." in ev.review_summary
    assert {
        m.recipient_id for m in _db.session.scalars(sa.select(OutboxMessage).filter_by(kind="appeal_decided"))
    } == {
        w.org["nurse"].id,
        w.org["head"].id,
    }


def test_an_appeal_decision_to_below_follows_the_table(w):
    ev = w.appealed("meets", "meets")
    evaluations.decide_appeal(
        ev,
        w.acc("camat"),
        {"results_rating": "below", "behaviour_rating": "meets", "reasons": "Target utama tidak tercapai."},
    )
    assert ev.predikat is Predikat.BUTUH_PERBAIKAN


def test_file_appeal_after_the_window_is_refused(w):
    ev = w.reviewed()
    clock.travel_to(ev.appeal_until + timedelta(seconds=1))
    refused(
        evaluations.file_appeal,
        ev,
        w.acc("nurse"),
        LONG_REASONS,
        match="Masa pengajuan keberatan sudah berakhir",
    )
    assert count(Appeal) == 0


def test_the_keberatan_window_counts_calendar_days_to_the_end_of_the_last_one(w):
    """Reviewed on 3 March at 10.00 WIB: a keberatan filed on 17 March at 20.00 WIB (the 14th
    calendar day, later in the day than the review) is accepted; on 18 March at 00.00 it is late."""
    zone = clock.tz()
    ev = w.submitted_assessment()
    clock.travel_to(datetime(START.year, 3, 3, 10, 0, tzinfo=zone))
    evaluations.review(ev, w.acc("head"), {"results_rating": "meets", "behaviour_rating": "meets"})
    assert ev.appeal_until.astimezone(zone).replace(microsecond=0) == datetime(
        START.year, 3, 17, 23, 59, 59, tzinfo=zone
    )
    clock.travel_to(datetime(START.year, 3, 18, 0, 0, tzinfo=zone))
    refused(evaluations.file_appeal, ev, w.acc("nurse"), LONG_REASONS, match="sudah berakhir")
    clock.travel_to(datetime(START.year, 3, 17, 20, 0, tzinfo=zone))
    appeal = evaluations.file_appeal(ev, w.acc("nurse"), LONG_REASONS)
    assert appeal.decide_by.astimezone(zone).replace(microsecond=0) == datetime(
        START.year, 3, 31, 23, 59, 59, tzinfo=zone
    )


def test_file_appeal_with_too_short_reasons_is_refused(w):
    ev = w.reviewed()
    refused(evaluations.file_appeal, ev, w.acc("nurse"), "Tidak setuju.", match="minimal 20 karakter")


def test_only_the_employee_files_an_appeal(w):
    ev = w.reviewed()
    refused(evaluations.file_appeal, ev, w.acc("colleague"), LONG_REASONS, match="tidak berwenang")
    refused(evaluations.file_appeal, ev, w.acc("head"), LONG_REASONS, match="tidak berwenang")


def test_filing_an_appeal_tells_the_handler_and_hr(w):
    ev = w.appealed()
    assert ev.state == E.APPEALED
    assert (
        count(
            OutboxMessage,
            OutboxMessage.kind == "appeal_filed",
            OutboxMessage.recipient_id == w.org["camat"].id,
        )
        == 1
    )
    assert (
        count(
            OutboxMessage,
            OutboxMessage.kind == "appeal_filed_hr",
            OutboxMessage.recipient_id == w.org["hr"].id,
        )
        == 1
    )


def test_appeal_comments_only_from_the_parties_while_undecided(w):
    ev = w.appealed()
    refused(evaluations.appeal_comment, ev, w.acc("camat"), "Jelaskan", None, match="Pilih kepada siapa")
    refused(evaluations.appeal_comment, ev, w.acc("colleague"), "Ikut campur", match="tidak berwenang")
    evaluations.appeal_comment(ev, w.acc("camat"), "Mohon penjelasan perilaku.", "rater")
    evaluations.appeal_comment(ev, w.acc("head"), "Sesuai catatan harian.")
    assert count(Comment, Comment.topic == "appeal") == 2


# ---- cycle services --------------------------------------------------------------------------------------


def test_save_cycle_refuses_deadlines_out_of_order(make, hr):
    unit = make.unit()
    data = cycle_data([unit])
    data["review_deadline"] = data["assessment_deadline"] - timedelta(days=1)
    error = refused(cycles.save_cycle, None, data, hr.account)
    assert error.errors["review_deadline"] == "Tenggat ini harus sesudah tenggat tahap sebelumnya."
    assert count(Cycle) == 0


def test_save_cycle_refuses_a_missing_deadline_and_missing_units(make, hr):
    data = cycle_data([], appeal_deadline=None)
    error = refused(cycles.save_cycle, None, data, hr.account)
    assert error.errors["unit_ids"] == "Pilih minimal satu unit kerja."
    assert error.errors["appeal_deadline"] == "Tenggat wajib diisi."


def test_save_cycle_refuses_a_periodic_cycle_without_its_annual_cycle(make, hr):
    unit = make.unit()
    data = cycle_data([unit], kind="quarterly", period=1, name="Triwulan I")
    error = refused(cycles.save_cycle, None, data, hr.account)
    assert "annual_cycle_id" in error.errors
    error = refused(cycles.save_cycle, None, {**data, "period": 5}, hr.account)
    assert error.errors["period"] == "Triwulan harus 1 sampai 4."


def test_save_cycle_refuses_a_periodic_cycle_whose_annual_targets_are_not_set(w):
    data = cycle_data([w.org["kecamatan"]], kind="quarterly", period=1, annual_cycle_id=w.cycle.id)
    error = refused(cycles.save_cycle, None, data, w.acc("hr"))
    assert error.errors["annual_cycle_id"] == "SKP periode tahunan itu belum selesai ditetapkan."


def test_save_cycle_refuses_a_missing_or_overlong_name(make, hr):
    unit = make.unit()
    error = refused(cycles.save_cycle, None, cycle_data([unit], name="   "), hr.account)
    assert error.errors["name"] == "Nama periode wajib diisi."
    error = refused(cycles.save_cycle, None, cycle_data([unit], name="x" * 201), hr.account)
    assert "name" in error.errors
    cycle = cycles.save_cycle(None, cycle_data([unit], name="  SKP Tahunan 2027 "), hr.account)
    assert cycle.name == "SKP Tahunan 2027"


def test_save_cycle_is_for_hr_and_for_drafts_only(w):
    data = cycle_data([w.org["kecamatan"]])
    refused(cycles.save_cycle, None, data, w.acc("head"), match="Hanya admin kepegawaian")
    refused(cycles.save_cycle, w.cycle, data, w.acc("hr"), match="sudah dibuka tidak dapat diubah")


def test_coverage_lists_who_is_left_out_and_why(make, hr):
    unit = make.unit("Kelurahan Mungku Baru")
    lurah = make.employee("Lurah", unit=unit)
    staff = make.employee("Staf Kelurahan", supervisor=lurah, unit=unit)
    orphan_boss = make.employee("Sekretaris Lama", unit=unit)
    orphan = make.employee("Staf Sekretariat", supervisor=orphan_boss, unit=unit)
    orphan_boss.active = False
    _db.session.commit()
    cycle = cycles.save_cycle(None, cycle_data([unit]), hr.account)
    result = cycles.coverage(cycle)
    assert [row.id for row in result.covered] == [staff.id]
    left_out = {row.id: reason for row, reason in result.left_out}
    assert left_out == {
        lurah.id: "tidak memiliki atasan langsung (pejabat penilai) di sistem",
        orphan.id: "atasan langsungnya sudah tidak aktif",
    }


def test_opening_creates_one_evaluation_one_audit_and_one_email_per_covered_employee(make):
    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    refused(cycles.open_cycle, cycle, org["head"].account, match="Hanya admin kepegawaian")
    assert cycles.open_cycle(cycle, org["hr"].account) == 4
    covered = {org[k].id for k in ("head", "nurse", "colleague", "hr")}
    evals = _db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id)).all()
    assert {e.employee_id for e in evals} == covered
    assert {e.state for e in evals} == {E.TARGETS_DRAFT}
    created = audits("evaluation.created")
    assert sorted(int(a.object_id) for a in created) == sorted(e.id for e in evals)
    assert {a.to_state for a in created} == {E.TARGETS_DRAFT}
    mails = _db.session.scalars(sa.select(OutboxMessage).filter_by(kind="cycle_opened")).all()
    assert sorted(m.recipient_id for m in mails) == sorted(covered)
    assert {m.key for m in mails} == {f"cycle_opened:{cycle.id}:{i}" for i in covered}
    [opened] = audits("cycle.open")
    assert (opened.from_state, opened.to_state) == (CycleState.DRAFT, CycleState.TARGET_SETTING)
    refused(cycles.open_cycle, cycle, org["hr"].account, match="tidak dapat dilakukan pada tahap")


def test_opening_with_nobody_covered_is_refused(make, hr):
    unit = make.unit()
    make.employee("Kepala Tanpa Atasan", unit=unit)
    cycle = cycles.save_cycle(None, cycle_data([unit]), hr.account)
    refused(cycles.open_cycle, cycle, hr.account, match="Tidak ada pegawai yang tercakup")
    assert cycle.state == CycleState.DRAFT


def test_advancing_locks_the_evaluations_behind_with_audit(w):
    nurse = w.approved("nurse")
    colleague = w.ev("colleague")
    head = w.submitted_targets("head")
    hr_ev = w.ev("hr")
    w.to_self_assessment()
    for ev in (nurse, colleague, head, hr_ev):
        _db.session.refresh(ev)
    assert (nurse.state, colleague.state, head.state, hr_ev.state) == (
        E.ASSESSMENT_DRAFT,
        E.TARGETS_LOCKED,
        E.TARGETS_SUBMITTED,
        E.TARGETS_LOCKED,
    )
    [lock] = audits("evaluation.lock_targets", colleague)
    assert (lock.from_state, lock.to_state, lock.actor_id) == (
        E.TARGETS_DRAFT,
        E.TARGETS_LOCKED,
        w.acc("hr").id,
    )
    assert len(audits("evaluation.lock_targets")) == 2
    assert [a.object_id for a in audits("evaluation.open_assessment")] == [str(nurse.id)]
    assert count(OutboxMessage, OutboxMessage.kind == "assessment_opened") == 1
    # the rater may still approve a submitted SKP: the assessment opens at once
    evaluations.approve_targets(head, w.acc("camat"))
    assert head.state == E.ASSESSMENT_DRAFT

    clock.travel_to(w.cycle.assessment_deadline + timedelta(days=1))
    cycles.advance(w.cycle, w.acc("hr"))
    _db.session.refresh(nurse)
    assert nurse.state == E.ASSESSMENT_LOCKED
    [lock] = audits("evaluation.lock_assessment", nurse)
    assert (lock.from_state, lock.to_state) == (E.ASSESSMENT_DRAFT, E.ASSESSMENT_LOCKED)
    refused(evaluations.save_realisation, nurse, w.acc("nurse"), nurse.indicators[0], "1", None)


def test_advance_is_for_hr_with_a_fresh_version(w):
    refused(cycles.advance, w.cycle, w.acc("head"), match="Hanya admin kepegawaian")
    refused(
        cycles.advance, w.cycle, w.acc("hr"), expected_version=w.cycle.version - 1, match="baru saja diubah"
    )
    assert w.cycle.state == CycleState.TARGET_SETTING


def test_reopen_works_only_while_the_next_phase_is_untouched(w):
    nurse = w.in_assessment()
    hr = w.acc("hr")
    new_deadline = clock.utcnow() + timedelta(days=5)
    evaluations.save_realisation(nurse, w.acc("nurse"), nurse.indicators[0], "25", None)
    refused(cycles.reopen, w.cycle, hr, new_deadline, match="Fase berikutnya sudah berjalan (1 pegawai)")
    assert w.cycle.state == CycleState.SELF_ASSESSMENT


def test_reopen_goes_back_and_undoes_the_opening_of_the_assessment(w):
    nurse = w.in_assessment()
    colleague = w.ev("colleague")
    hr = w.acc("hr")
    error = refused(cycles.reopen, w.cycle, hr, w.cycle.assessment_deadline + timedelta(days=1))
    assert "deadline" in error.errors
    error = refused(cycles.reopen, w.cycle, hr, clock.utcnow() - timedelta(days=1))
    assert "deadline" in error.errors
    new_deadline = clock.utcnow() + timedelta(days=5)
    cycles.reopen(w.cycle, hr, new_deadline)
    _db.session.refresh(nurse)
    _db.session.refresh(colleague)
    assert w.cycle.state == CycleState.TARGET_SETTING and w.cycle.target_deadline == new_deadline
    assert nurse.state == E.TARGETS_APPROVED
    assert [a.to_state for a in audits("evaluation.reopen_targets", nurse)] == [E.TARGETS_APPROVED]
    # the reopened phase is open again for those the advance had locked
    assert colleague.state == E.TARGETS_DRAFT
    write_skp(colleague, w.org["colleague"])
    evaluations.submit_targets(colleague, w.acc("colleague"))
    assert colleague.state == E.TARGETS_SUBMITTED


def test_reopen_the_self_assessment_unlocks_the_locked_assessments(w):
    nurse = w.in_assessment()
    clock.travel_to(w.cycle.assessment_deadline + timedelta(days=1))
    cycles.advance(w.cycle, w.acc("hr"))
    _db.session.refresh(nurse)
    assert nurse.state == E.ASSESSMENT_LOCKED
    cycles.reopen(w.cycle, w.acc("hr"), clock.utcnow() + timedelta(days=3))
    _db.session.refresh(nurse)
    assert w.cycle.state == CycleState.SELF_ASSESSMENT and nurse.state == E.ASSESSMENT_DRAFT
    w.realise(nurse)
    evaluations.submit_assessment(nurse, w.acc("nurse"))


def test_extend_phase_for_everyone_unlocks_the_locked_ones(w):
    nurse, colleague = w.ev("nurse"), w.ev("colleague")
    w.submitted_targets("head")
    clock.travel_to(w.cycle.target_deadline + timedelta(hours=2))
    # what the scheduler's lock job does at the deadline
    assert bulk_fire(w.cycle, "lock_targets", None) == 3
    _db.session.commit()
    _db.session.refresh(nurse)
    assert nurse.state == E.TARGETS_LOCKED
    until = clock.utcnow() + timedelta(days=7)
    error = refused(cycles.extend_phase, w.cycle, w.acc("hr"), until, "")
    assert "reason" in error.errors
    error = refused(cycles.extend_phase, w.cycle, w.acc("hr"), w.cycle.assessment_deadline, "Server mati")
    assert "until" in error.errors
    refused(cycles.extend_phase, w.cycle, w.acc("head"), until, "Server mati", match="Hanya admin")
    assert cycles.extend_phase(w.cycle, w.acc("hr"), until, "Server mati") == 3
    for ev in (nurse, colleague):
        _db.session.refresh(ev)
        assert ev.state == E.TARGETS_DRAFT
        [event] = audits("evaluation.unlock_targets", ev)
        assert event.comment == "Server mati"
    assert w.cycle.target_deadline == until
    [event] = audits("cycle.deadline_extended")
    assert event.data["phase"] == "target_setting"
    write_skp(nurse, w.org["nurse"])
    evaluations.submit_targets(nurse, w.acc("nurse"))


def test_publish_waits_for_open_windows_and_undecided_appeals(w):
    ev = w.appealed()
    hr = w.acc("hr")
    clock.travel_to(w.cycle.review_deadline + timedelta(days=1))
    cycles.advance(w.cycle, hr)
    cycles.advance(w.cycle, hr)
    assert w.cycle.state == CycleState.APPEAL
    refused(cycles.publish, w.cycle, hr, "names", match="keberatannya belum diputus")
    evaluations.decide_appeal(
        ev, w.acc("camat"), {"results_rating": "above", "behaviour_rating": "meets", "reasons": "Tepat."}
    )
    settle_the_rest(w.cycle, hr)
    cycles.publish(w.cycle, hr, "names")
    _db.session.refresh(ev)
    assert ev.state == E.PUBLISHED and w.cycle.state == CycleState.PUBLISHED


def test_publish_waits_while_an_appeal_window_is_open(w):
    ev = w.submitted_assessment()
    hr = w.acc("hr")
    cycles.advance(w.cycle, hr)
    cycles.advance(w.cycle, hr)
    evaluations.review(ev, w.acc("head"), {"results_rating": "meets", "behaviour_rating": "meets"})
    refused(cycles.publish, w.cycle, hr, "names", match="masih dalam masa keberatan")
    clock.travel_to(ev.appeal_until + timedelta(seconds=1))
    settle_the_rest(w.cycle, hr)
    cycles.publish(w.cycle, hr, "totals")
    _db.session.refresh(ev)
    assert ev.state == E.PUBLISHED
    assert [a.to_state for a in audits("evaluation.finalise", ev)] == [E.FINAL]


def test_publish_with_a_unit_breaking_its_curve_needs_a_reason(w, make):
    # a unit rated "Sangat Kurang" may have no Sangat Baik at all
    _db.session.execute(sa.delete(DistributionBand))
    _db.session.add(
        DistributionBand(org_predikat=OrgPredikat.SANGAT_KURANG, predikat_group="sangat_baik", max_pct=0)
    )
    _db.session.add(
        UnitPredikat(
            cycle_id=w.cycle.id, unit_id=w.org["puskesmas"].id, org_predikat=OrgPredikat.SANGAT_KURANG
        )
    )
    _db.session.commit()
    ev = w.reviewed("above", "above")
    hr = w.acc("hr")
    cycles.advance(w.cycle, hr)
    cycles.advance(w.cycle, hr)
    clock.travel_to(ev.appeal_until + timedelta(days=1))
    error = refused(cycles.publish, w.cycle, hr, "names", "  ")
    assert "tidak sesuai kurva" in error.errors["reason"]
    settle_the_rest(w.cycle, hr)
    cycles.publish(w.cycle, hr, "names", "Unit ini berprestasi luar biasa tahun ini.")
    assert w.cycle.state == CycleState.PUBLISHED
    [override] = audits("cycle.curve_override")
    assert override.comment == "Unit ini berprestasi luar biasa tahun ini."
    assert override.data["units"] == ["Puskesmas Rakumpit"]
    assert override.actor_id == hr.id


def test_publish_within_the_curve_needs_no_reason(w):
    _db.session.add(
        UnitPredikat(cycle_id=w.cycle.id, unit_id=w.org["puskesmas"].id, org_predikat=OrgPredikat.ISTIMEWA)
    )
    _db.session.commit()
    ev = w.reviewed("meets", "meets")
    cycles.advance(w.cycle, w.acc("hr"))
    cycles.advance(w.cycle, w.acc("hr"))
    clock.travel_to(ev.appeal_until + timedelta(days=1))
    settle_the_rest(w.cycle, w.acc("hr"))
    cycles.publish(w.cycle, w.acc("hr"), "names")
    assert audits("cycle.curve_override") == []


def frozen_attempts(w: World, ev: Evaluation, other: Evaluation):
    """Every service, once, on a published or closed cycle."""
    hr, nurse, head, camat = w.acc("hr"), w.acc("nurse"), w.acc("head"), w.acc("camat")
    later = clock.utcnow() + timedelta(days=10)
    rhk, indicator = ev.rhks[0], ev.indicators[0]
    ratings = {"results_rating": "below", "behaviour_rating": "below", "summary": "Ubah", "reasons": "Ubah"}
    return [
        (evaluations.save_rhk, ev, nurse, {"kind": "main", "text": "Baru"}),
        (evaluations.save_rhk, ev, nurse, {"kind": "main", "text": "Ubah"}, rhk),
        (evaluations.delete_rhk, ev, nurse, rhk),
        (evaluations.save_indicator, ev, nurse, rhk, INDICATOR),
        (evaluations.delete_indicator, ev, nurse, indicator),
        (evaluations.save_annex, ev, nurse, {"resources": "Mobil ambulans"}),
        (evaluations.save_expectations, ev, head, {"service": "Ramah"}),
        (evaluations.submit_targets, ev, nurse),
        (evaluations.approve_targets, ev, head),
        (evaluations.return_targets, ev, head, "Perbaiki"),
        (evaluations.save_realisation, ev, nurse, indicator, "1", None),
        (evaluations.add_evidence_file, ev, nurse, indicator, "a.pdf", b"%PDF-1.4"),
        (evaluations.add_evidence_link, ev, nurse, indicator, "https://contoh.example"),
        (evaluations.submit_assessment, ev, nurse),
        (evaluations.return_assessment, ev, head, "Perbaiki"),
        (evaluations.review, ev, head, ratings),
        (evaluations.file_appeal, ev, nurse, LONG_REASONS),
        (evaluations.appeal_comment, ev, nurse, "Masih keberatan"),
        (evaluations.decide_appeal, ev, camat, ratings),
        (evaluations.save_rhk, other, w.acc("colleague"), {"kind": "main", "text": "Baru"}),
        (cycles.extend_one, ev, hr, later, "Alasan"),
        (cycles.extend_one, other, hr, later, "Alasan"),
        (cycles.extend_phase, w.cycle, hr, later, "Alasan"),
        (cycles.advance, w.cycle, hr),
        (cycles.reopen, w.cycle, hr, later),
        (cycles.publish, w.cycle, hr, "names", "Alasan"),
        (cycles.open_cycle, w.cycle, hr),
        (cycles.save_cycle, w.cycle, cycle_data([w.org["kecamatan"]]), hr),
        (cycles.set_unit_predikat, w.cycle, hr, w.org["puskesmas"].id, "baik")
        if hasattr(cycles, "set_unit_predikat")
        else (cycles.advance, w.cycle, hr),
    ]


def test_after_publication_and_after_closing_nothing_changes(w):
    ev = w.reviewed("meets", "meets")
    other = w.ev("colleague")
    hr = w.acc("hr")
    cycles.advance(w.cycle, hr)
    cycles.advance(w.cycle, hr)
    clock.travel_to(ev.appeal_until + timedelta(days=1))
    settle_the_rest(w.cycle, hr)
    cycles.publish(w.cycle, hr, "names")
    for call, *args in frozen_attempts(w, ev, other):
        refused(call, *args)
    refused(cycles.close, w.cycle, w.acc("head"), match="Hanya admin")
    cycles.close(w.cycle, hr)
    assert w.cycle.state == CycleState.CLOSED
    for call, *args in frozen_attempts(w, ev, other):
        refused(call, *args)
    refused(cycles.close, w.cycle, hr)
    _db.session.refresh(ev)
    assert ev.state == E.PUBLISHED and ev.predikat is Predikat.BAIK


def test_a_quarterly_cycle_starts_at_self_assessment_with_the_annual_targets(w):
    annual_nurse = w.approved("nurse")
    w.skp("colleague")  # written, never submitted: locked at the advance
    w.to_self_assessment()
    hr = w.acc("hr")
    data = cycle_data(
        [w.org["puskesmas"]],
        start=clock.now(),
        kind="quarterly",
        period=1,
        name="Triwulan I 2027",
        annual_cycle_id=w.cycle.id,
    )
    quarter = cycles.save_cycle(None, data, hr)
    assert quarter.target_deadline is None
    scope = cycles.coverage(quarter)
    assert [row.id for row in scope.covered] == [w.org["nurse"].id]
    assert dict((row.id, reason) for row, reason in scope.left_out) == {
        w.org["colleague"].id: "belum memiliki SKP tahunan yang ditetapkan",
        w.org["head"].id: "belum memiliki SKP tahunan yang ditetapkan",
    }
    assert cycles.open_cycle(quarter, hr) == 1
    assert quarter.state == CycleState.SELF_ASSESSMENT
    ev = w.ev("nurse", quarter)
    assert ev.state == E.ASSESSMENT_DRAFT
    assert [(r.kind, r.text) for r in ev.rhks] == [(r.kind, r.text) for r in annual_nurse.rhks]
    assert [r.source_rhk_id for r in ev.rhks] == [r.id for r in annual_nurse.rhks]
    assert [(i.aspect, i.text, i.comparator, i.target, i.unit) for i in ev.indicators] == [
        (i.aspect, i.text, i.comparator, i.target, i.unit) for i in annual_nurse.indicators
    ]
    assert count(Indicator) == 2 * len(annual_nurse.indicators) + len(w.ev("colleague").indicators)
    [created] = audits("evaluation.created", ev)
    assert created.to_state == E.ASSESSMENT_DRAFT
    assert count(OutboxMessage, OutboxMessage.key == f"cycle_opened:{quarter.id}:{w.org['nurse'].id}") == 1
    # the quarter runs its self-assessment on the copies, leaving the annual SKP alone
    w.realise(ev, values=("20", "95"))
    evaluations.submit_assessment(ev, w.acc("nurse"))
    _db.session.refresh(annual_nurse)
    assert annual_nurse.state == E.ASSESSMENT_DRAFT
    assert [i.realisation for i in annual_nurse.indicators] == [None, None]
    refused(
        cycles.reopen, quarter, hr, clock.utcnow() + timedelta(days=1), match="Hanya untuk periode tahunan"
    )
