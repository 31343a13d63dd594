"""The progress log against each indicator: who writes it and when, what an entry may hold, the
author's edits kept as history until the rater verifies, and the realisation the log suggests
for the annual, monthly and quarterly evaluations."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import Aspect
from app.extensions import db as _db
from app.models import (
    AuditEvent,
    Evaluation,
    EvaluationState,
    ProgressEntry,
    ProgressEvidence,
    ProgressRule,
)
from app.services import Conflict, Refused
from app.workflow import cycles, evaluations
from app.workflow.monitoring import progress
from tests.workflow_helpers import START, agency, cycle_data, open_annual, write_skp

PDF = b"%PDF-1.4 daftar tunggu pasien"
MARCH = START.replace(month=3, day=20)


def ev_of(cycle, employee) -> Evaluation:
    return _db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


def refused(call, *args, **kwargs) -> Refused:
    with pytest.raises(Refused) as caught:
        call(*args, **kwargs)
    return caught.value


def audits(action: str) -> list[AuditEvent]:
    return list(_db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


class Log:
    """The nurse's annual SKP, approved by the kepala puskesmas; the clock in March 2027."""

    def __init__(self, make, approve: bool = True):
        self.org = agency(make)
        self.cycle = open_annual(self.org)
        self.ev = ev_of(self.cycle, self.org["nurse"])
        write_skp(self.ev, self.org["nurse"])
        if approve:
            evaluations.submit_targets(self.ev, self.nurse)
            evaluations.approve_targets(self.ev, self.head)
        clock.travel_to(MARCH)
        # The waiting time (time aspect: the latest counts) and the satisfaction index.
        self.wait, self.satisfaction = self.ev.indicators

    @property
    def nurse(self):
        return self.org["nurse"].account

    @property
    def head(self):
        return self.org["head"].account

    def add(self, day=date(2027, 3, 2), value="25", note=None, indicator=None, ev=None, **kwargs):
        return progress.add_entry(
            ev or self.ev, self.nurse, indicator or self.wait, day, value, note, **kwargs
        )


@pytest.fixture
def log(make, db):
    return Log(make)


# ---- who and when ---------------------------------------------------------------------------------


def test_the_employee_logs_progress_once_her_skp_is_approved(log):
    entry = log.add(value="27,5", note="Rata-rata minggu pertama Maret")
    assert (entry.indicator_id, entry.entry_date, entry.value, entry.note) == (
        log.wait.id,
        date(2027, 3, 2),
        Decimal("27.50"),
        "Rata-rata minggu pertama Maret",
    )
    assert entry.author_id == log.nurse.id and entry.verified_at is None
    [event] = audits("progress.added")
    assert (event.object_type, event.object_id, event.actor_id) == (
        "progress_entry",
        str(entry.id),
        log.nurse.id,
    )
    assert event.data["evaluation"] == log.ev.id


def test_nobody_logs_before_the_skp_is_approved(make, db):
    log = Log(make, approve=False)
    error = refused(log.add)
    assert "setelah SKP tahunan ditetapkan" in error.errors[""]
    clock.travel_to(START)
    evaluations.submit_targets(log.ev, log.nurse)
    clock.travel_to(MARCH)
    assert "setelah SKP tahunan ditetapkan" in refused(log.add).errors[""]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEntry)) == 0


def test_only_the_employee_writes_her_log(log):
    for account in (log.head, log.org["colleague"].account, log.org["hr"].account, log.org["camat"].account):
        error = refused(progress.add_entry, log.ev, account, log.wait, date(2027, 3, 2), "20", None)
        assert "Hanya pegawai yang bersangkutan" in error.errors[""]


def test_an_indicator_of_another_skp_is_refused(log):
    colleague_ev = ev_of(log.cycle, log.org["colleague"])
    clock.travel_to(START)
    write_skp(colleague_ev, log.org["colleague"])
    clock.travel_to(MARCH)
    error = refused(log.add, indicator=colleague_ev.indicators[0])
    assert error.errors[""] == "Indikator ini bukan bagian dari SKP ini."


def test_the_log_closes_when_the_year_is_published(log):
    log.add()
    entry = log.add(day=date(2027, 3, 3))
    log.ev.state = EvaluationState.FINAL.value
    log.cycle.state = "published"
    _db.session.commit()
    assert refused(log.add).errors[""].startswith("Periode ini sudah diumumkan")
    assert (
        refused(progress.edit_entry, log.ev, log.nurse, entry, date(2027, 3, 3), "1", None)
        .errors[""]
        .startswith("Periode ini sudah diumumkan")
    )
    assert refused(progress.verify_entry, log.ev, log.head, entry).errors[""].startswith("Periode ini sudah")
    assert refused(progress.delete_entry, log.ev, log.nurse, entry).errors[""].startswith("Periode ini sudah")


def test_a_withdrawn_employee_logs_nothing(log):
    log.ev.state = EvaluationState.WITHDRAWN.value
    _db.session.commit()
    assert "dikecualikan" in refused(log.add).errors[""]


# ---- what an entry holds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (date(2026, 12, 31), "Tanggal harus dalam tahun 2027, tahun SKP ini."),
        (date(2027, 3, 21), "Tanggal tidak boleh setelah hari ini; catat progres yang sudah terjadi."),
        (None, "Tanggal wajib diisi (hari, bulan, tahun)."),
    ],
)
def test_an_entry_date_lies_in_the_skp_year_and_not_after_today(log, day, message):
    assert refused(log.add, day=day).errors["entry_date"] == message


def test_today_in_jakarta_counts_not_utc(log):
    clock.travel_to(START.replace(month=3, day=20, hour=6))  # 06:00 WIB is still 19 March in UTC
    assert log.add(day=date(2027, 3, 20)).entry_date == date(2027, 3, 20)


@pytest.mark.parametrize(
    ("value", "stored"), [("1.350", Decimal("1350.00")), ("90,5", Decimal("90.50")), ("0", Decimal("0.00"))]
)
def test_values_are_read_as_indonesians_write_them(log, value, stored):
    assert log.add(value=value).value == stored


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("dua puluh", "Nilai harus berupa angka."),
        ("-3", "Nilai tidak boleh negatif."),
        ("1e13", "Nilai terlalu besar."),
    ],
)
def test_a_value_that_does_not_parse_is_refused_with_every_message_at_once(log, value, message):
    error = refused(log.add, day=date(2030, 1, 1), value=value, note="x" * 501)
    assert error.errors == {
        "entry_date": "Tanggal harus dalam tahun 2027, tahun SKP ini.",
        "value": message,
        "note": "Catatan paling banyak 500 karakter.",
    }
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEntry)) == 0


def test_a_text_only_entry_is_fine_but_an_empty_one_is_not(log):
    assert log.add(value="", note="Rapat koordinasi antrean").value is None
    assert refused(log.add, value=" ", note="  ").errors == {"value": "Isi nilai, catatan, atau keduanya."}


def test_an_entry_may_come_with_a_file_or_a_link(app, log):
    entry = log.add(filename="antrean.pdf", data=PDF)
    [evidence] = entry.evidence
    assert (evidence.filename, evidence.content_type) == ("antrean.pdf", "application/pdf")
    assert progress.evidence_path(evidence).read_bytes() == PDF
    linked = log.add(url="https://puskesmas.example/antrean")
    assert [e.url for e in linked.evidence] == ["https://puskesmas.example/antrean"]


def test_a_fake_file_refuses_the_whole_entry(app, log):
    error = refused(log.add, filename="antrean.pdf", data=b"MZ not a pdf")
    assert "PDF, JPG atau PNG" in error.errors["file"]
    error = refused(log.add, url="javascript:alert(1)")
    assert "http" in error.errors["url"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEntry)) == 0


# ---- edits by the author until verified --------------------------------------------------------------


def test_the_author_corrects_an_entry_and_the_old_values_are_kept(log):
    entry = log.add(value="25", note="Senin")
    progress.edit_entry(
        log.ev, log.nurse, entry, date(2027, 3, 1), "24", "Senin, dihitung ulang", expected_version=1
    )
    progress.edit_entry(log.ev, log.nurse, entry, date(2027, 3, 1), "23", "Senin, final", expected_version=2)
    _db.session.refresh(entry)
    assert (entry.entry_date, entry.value, entry.note) == (date(2027, 3, 1), Decimal("23.00"), "Senin, final")
    assert [(r.entry_date, r.value, r.note) for r in entry.revisions] == [
        (date(2027, 3, 2), Decimal("25.00"), "Senin"),
        (date(2027, 3, 1), Decimal("24.00"), "Senin, dihitung ulang"),
    ]
    assert len(audits("progress.edited")) == 2


def test_an_edit_on_a_stale_page_loses_and_changes_nothing(log):
    entry = log.add()
    progress.edit_entry(log.ev, log.nurse, entry, date(2027, 3, 2), "26", None, expected_version=1)
    with pytest.raises(Conflict):
        progress.edit_entry(log.ev, log.nurse, entry, date(2027, 3, 2), "99", None, expected_version=1)
    _db.session.refresh(entry)
    assert entry.value == Decimal("26.00") and len(entry.revisions) == 1


def test_a_refused_edit_keeps_the_entry_and_adds_no_history(log):
    entry = log.add()
    error = refused(progress.edit_entry, log.ev, log.nurse, entry, date(2027, 3, 2), "abc", None)
    assert error.errors == {"value": "Nilai harus berupa angka."}
    _db.session.refresh(entry)
    assert entry.value == Decimal("25.00") and entry.revisions == []


def test_only_the_author_edits_and_only_until_verified(log):
    entry = log.add()
    error = refused(progress.edit_entry, log.ev, log.head, entry, date(2027, 3, 2), "1", None)
    assert "Hanya pegawai yang bersangkutan" in error.errors[""]
    progress.verify_entry(log.ev, log.head, entry, "Sesuai data antrean")
    for call in (
        lambda: progress.edit_entry(log.ev, log.nurse, entry, date(2027, 3, 2), "1", None),
        lambda: progress.delete_entry(log.ev, log.nurse, entry),
        lambda: progress.add_evidence(log.ev, log.nurse, entry, url="https://contoh.id/a"),
    ):
        assert "sudah diverifikasi" in refused(call).errors[""]
    _db.session.refresh(entry)
    assert entry.value == Decimal("25.00") and entry.rater_comment == "Sesuai data antrean"


def test_the_author_deletes_an_unverified_entry_with_its_files(app, log):
    entry = log.add(filename="a.pdf", data=PDF)
    path = progress.evidence_path(entry.evidence[0])
    progress.delete_entry(log.ev, log.nurse, entry, expected_version=entry.version)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEntry)) == 0
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProgressEvidence)) == 0
    assert not path.exists()
    [event] = audits("progress.deleted")
    assert event.data["value"] == "25.00"


def test_evidence_is_added_and_removed_by_the_author(app, log):
    entry = log.add()
    evidence = progress.add_evidence(log.ev, log.nurse, entry, filename="b.png", data=b"\x89PNG\r\n\x1a\nxx")
    link = progress.add_evidence(log.ev, log.nurse, entry, url="https://contoh.id/rekap")
    assert [e.id for e in entry.evidence] == [evidence.id, link.id]
    assert "Hanya pegawai" in refused(progress.remove_evidence, log.ev, log.head, evidence).errors[""]
    progress.remove_evidence(log.ev, log.nurse, evidence)
    _db.session.refresh(entry)
    assert [e.url for e in entry.evidence] == ["https://contoh.id/rekap"]
    assert refused(progress.add_evidence, log.ev, log.nurse, entry).errors == {
        "file": "Pilih berkas atau isi tautan bukti."
    }


# ---- the rater ----------------------------------------------------------------------------------------


def test_the_rater_verifies_comments_and_may_take_a_verification_back(log):
    entry = log.add()
    assert "Hanya pejabat penilai" in refused(progress.verify_entry, log.ev, log.nurse, entry).errors[""]
    assert (
        "Hanya pejabat penilai"
        in refused(progress.verify_entry, log.ev, log.org["camat"].account, entry).errors[""]
    )
    progress.comment_entry(log.ev, log.head, entry, "Lampirkan rekap antrean")
    assert entry.rater_comment == "Lampirkan rekap antrean" and entry.verified_at is None
    assert refused(progress.comment_entry, log.ev, log.head, entry, " ").errors == {
        "comment": "Komentar wajib diisi."
    }
    progress.verify_entry(log.ev, log.head, entry)
    assert entry.verified_by_id == log.head.id and entry.rater_comment == "Lampirkan rekap antrean"
    assert (
        refused(progress.verify_entry, log.ev, log.head, entry).errors[""] == "Entri ini sudah diverifikasi."
    )
    progress.unverify_entry(log.ev, log.head, entry)
    assert entry.verified_at is None
    progress.edit_entry(log.ev, log.nurse, entry, date(2027, 3, 2), "22", "dengan rekap")
    assert [len(audits(a)) for a in ("progress.commented", "progress.verified", "progress.unverified")] == [
        1,
        1,
        1,
    ]


# ---- the suggested realisation -----------------------------------------------------------------------


def test_the_suggestion_sums_counted_targets_and_takes_the_latest_level(log):
    assert log.wait.rule is ProgressRule.LATEST and log.wait.aspect is Aspect.TIME
    assert progress.suggested_realisation(log.wait, log.cycle) is None
    log.add(day=date(2027, 1, 10), value="40")
    log.add(day=date(2027, 2, 10), value="28")
    log.add(day=date(2027, 2, 10), value="26")  # same day: the later entry stands
    log.add(day=date(2027, 1, 31), value="35")
    log.add(day=date(2027, 3, 1), value=None, note="Tanpa angka")
    assert progress.suggested_realisation(log.wait, log.cycle) == Decimal("26.00")
    log.wait.progress_rule = ProgressRule.SUM  # declared as counted
    _db.session.commit()
    assert progress.suggested_realisation(log.wait, log.cycle) == Decimal("129.00")
    figures = progress.figures(log.ev.indicators, log.cycle)
    assert (figures[log.wait.id].entries, figures[log.wait.id].unverified) == (5, 5)
    assert figures[log.satisfaction.id].entries == 0 and figures[log.satisfaction.id].suggestion is None


def periodic(log, kind: str, period: int):
    """A monthly or quarterly cycle over the puskesmas, opened on the annual targets."""
    clock.travel_to(log.cycle.target_deadline + timedelta(days=1))
    cycles.advance(log.cycle, log.org["hr"].account)
    data = cycle_data(
        [log.org["puskesmas"]],
        start=clock.now(),
        kind=kind,
        period=period,
        name=f"{kind} {period}",
        annual_cycle_id=log.cycle.id,
    )
    cycle = cycles.save_cycle(None, data, log.org["hr"].account)
    cycles.open_cycle(cycle, log.org["hr"].account)
    clock.travel_to(START.replace(month=12, day=20))
    return cycle, ev_of(cycle, log.org["nurse"])


@pytest.mark.parametrize(("kind", "period", "months"), [("monthly", 5, (5,)), ("quarterly", 2, (4, 5, 6))])
def test_a_periodic_evaluation_reads_the_annual_log_of_its_own_months(log, kind, period, months):
    cycle, ev = periodic(log, kind, period)
    wait = ev.indicators[0]
    assert wait.source_indicator_id == log.wait.id
    for month in range(1, 13):
        log.add(day=date(2027, month, 15), value=str(month), indicator=log.satisfaction)
        log.add(day=date(2027, month, 15), value=str(month))
    satisfaction = ev.indicators[1]
    satisfaction.progress_rule = ProgressRule.SUM
    _db.session.commit()
    assert progress.suggested_realisation(satisfaction, cycle) == Decimal(sum(months))
    assert progress.suggested_realisation(wait, cycle) == Decimal(months[-1])
    # entries made through the periodic evaluation land in the annual log
    entry = log.add(ev=ev, indicator=wait, day=date(2027, months[0], 1), value="7")
    assert entry.indicator_id == log.wait.id
    assert progress.entry_of(ev, entry) is wait and progress.entry_of(log.ev, entry) is log.wait


def test_publishing_the_year_closes_the_log_of_its_periodic_evaluations_too(log):
    _cycle, ev = periodic(log, "monthly", 1)
    log.add(ev=ev, indicator=ev.indicators[0], day=date(2027, 1, 3))
    log.cycle.state = "published"
    _db.session.commit()
    assert refused(log.add, ev=ev, indicator=ev.indicators[0]).errors[""].startswith("Periode ini sudah")


# ---- the rater's home task ----------------------------------------------------------------------------


def test_the_rater_is_asked_to_verify_each_team_members_unverified_entries(log):
    from app.services import progress as asks

    first = log.add(day=date(2027, 3, 1))
    second = log.add(day=date(2027, 3, 2))
    [task] = asks.home_tasks(log.head, clock.now())
    assert (task.action, task.person, task.note) == (
        "Verifikasi log progres",
        "Perawat Debora",
        "2 entri menunggu verifikasi",
    )
    assert (task.endpoint, task.args) == ("progress.log", {"evaluation_id": log.ev.id, "bulan": "belum"})
    assert asks.home_tasks(log.nurse, clock.now()) == []
    assert asks.home_tasks(log.org["camat"].account, clock.now()) == []
    progress.verify_entry(log.ev, log.head, first)
    assert asks.home_tasks(log.head, clock.now())[0].note == "1 entri menunggu verifikasi"
    progress.verify_entry(log.ev, log.head, second)
    assert asks.home_tasks(log.head, clock.now()) == []
