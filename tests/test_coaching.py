"""The coaching trigger: a low periodic result, or progress behind at mid-year, asks the rater to record
a bimbingan or konseling (a request, an email, a home task) until one is recorded; HR sees the open
requests per unit and sets the share on the cycle."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import Comparator, Predikat
from app.jobs import run_due
from app.jobs.reminders import send_reminders
from app.models import (
    AuditEvent,
    CoachingReason,
    CoachingRequest,
    Cycle,
    CycleKind,
    CycleState,
    Evaluation,
    EvaluationState,
    FeedbackKind,
    FeedbackRecord,
    OutboxMessage,
    ProgressEntry,
    ProgressRule,
)
from app.services import coaching as asks
from app.services import home
from app.workflow import cycles, evaluations, set_aside
from app.workflow.monitoring import coaching
from app.workflow.monitoring.coaching import behind_by
from tests.conftest import login, post_form
from tests.test_workflow_services import INDICATOR, World, count
from tests.workflow_helpers import START, cycle_data

E = EvaluationState
MID_JULY = START.replace(month=7, day=15, hour=10)


@pytest.fixture
def w(make, db) -> World:
    """The annual cycle with the nurse's SKP approved: waiting time (latest, at most 30 minutes),
    satisfaction (latest, at least 85 %) and files done (counted, at least 120)."""
    world = World(make)
    ev = world.skp()
    evaluations.save_indicator(ev, world.acc("nurse"), ev.rhks[0], dict(INDICATOR))
    evaluations.submit_targets(ev, world.acc("nurse"))
    evaluations.approve_targets(ev, world.acc("head"))
    world.nurse_ev = ev
    return world


def published_month(w, db, month: int, predikat: Predikat, who="nurse") -> Evaluation:
    """A monthly cycle of 2027 whose result for `who` was published with `predikat`."""
    cycle = Cycle(
        name=f"Bulanan {month}/2027",
        kind=CycleKind.MONTHLY,
        year=2027,
        period=month,
        annual_cycle_id=w.cycle.id,
        state=CycleState.PUBLISHED,
        assessment_deadline=clock.utcnow(),
        review_deadline=clock.utcnow(),
        appeal_deadline=clock.utcnow(),
        published_at=START.replace(month=month + 1, day=3),
    )
    db.session.add(cycle)
    db.session.flush()
    ev = Evaluation(
        cycle_id=cycle.id,
        employee_id=w.org[who].id,
        rater_id=w.org[who].supervisor_id,
        unit_id=w.org[who].unit_id,
        state=E.PUBLISHED,
        predikat=predikat,
    )
    db.session.add(ev)
    db.session.commit()
    return ev


def indicator(w, text: str):
    return next(i for i in w.nurse_ev.indicators if i.text == text)


def log(db, ind, day: date, value: str) -> None:
    db.session.add(ProgressEntry(indicator_id=ind.id, entry_date=day, value=Decimal(value)))
    db.session.commit()


def record(db, ev, kind=FeedbackKind.COACHING) -> FeedbackRecord:
    """A bimbingan (or another kind) written on the evaluation, as the dialog page stores it."""
    row = FeedbackRecord(
        evaluation_id=ev.id,
        author_id=ev.rater.account.id,
        kind=kind,
        held_on=clock.now().date(),
        notes="Bimbingan tentang alur pendaftaran pasien.",
        created_at=clock.utcnow(),
        updated_at=clock.utcnow(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def tasks_of(w, who="head"):
    return [t for t in home.for_account(w.acc(who)).tasks if t.kind == "coaching"]


def mails(db, kind="coaching_requested"):
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


# ---- a low periodic result ---------------------------------------------------------------------------


def test_a_butuh_perbaikan_month_asks_the_rater_once_with_a_task_and_an_email(w, db):
    clock.travel_to(START.replace(month=3, day=4))
    source = published_month(w, db, 2, Predikat.BUTUH_PERBAIKAN)
    assert coaching.create_requests() == 1
    assert coaching.create_requests() == 0  # run twice: one request, one email
    [request] = db.session.scalars(sa.select(CoachingRequest)).all()
    assert (request.evaluation_id, request.key, request.reason) == (
        w.nurse_ev.id,
        f"result:{source.id}",
        CoachingReason.LOW_RESULT,
    )
    assert request.source_evaluation_id == source.id
    [mail] = mails(db)
    assert mail.recipient_id == w.org["head"].id
    assert "Perawat Debora" in mail.subject and "Butuh Perbaikan" in mail.body_text
    assert f"/evaluations/{w.nurse_ev.id}/dialog#new-record" in mail.body_text
    [task] = tasks_of(w)
    assert task.action == "Catat bimbingan/konseling dengan Perawat Debora"
    assert task.note == "Predikat kinerja periode \u201cBulanan 2/2027\u201d: Butuh Perbaikan."
    assert task.args == {"evaluation_id": w.nurse_ev.id} and task.anchor == "new-record"
    assert tasks_of(w, "nurse") == [] and tasks_of(w, "camat") == []
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "coaching.requested"))
    assert (event.object_type, event.object_id) == ("coaching_request", str(request.id))


@pytest.mark.parametrize("predikat", [Predikat.KURANG, Predikat.SANGAT_KURANG])
def test_kurang_and_sangat_kurang_ask_too(w, db, predikat):
    published_month(w, db, 2, predikat)
    assert coaching.create_requests() == 1


def test_only_the_latest_published_result_counts(w, db):
    published_month(w, db, 1, Predikat.KURANG)
    published_month(w, db, 2, Predikat.BAIK)
    published_month(w, db, 2, Predikat.SANGAT_KURANG, who="colleague")
    assert coaching.create_requests() == 1
    [request] = db.session.scalars(sa.select(CoachingRequest)).all()
    assert request.evaluation_id == w.ev("colleague").id  # the nurse's Baik in February came after


def test_a_later_low_month_asks_again_and_a_set_aside_evaluation_is_left_alone(w, db):
    published_month(w, db, 1, Predikat.BUTUH_PERBAIKAN)
    coaching.create_requests()
    published_month(w, db, 3, Predikat.KURANG)
    assert coaching.create_requests() == 1
    assert count(CoachingRequest) == 2
    colleague_ev = w.ev("colleague")
    set_aside.withdraw(colleague_ev, w.acc("hr"), "tugas_belajar", "Tugas belajar S2")
    published_month(w, db, 3, Predikat.KURANG, who="colleague")
    assert coaching.create_requests() == 0


# ---- progress behind at mid-year ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "comparator", "target", "logged", "share", "pct", "expected"),
    [
        (ProgressRule.SUM, Comparator.AT_LEAST, "120", "30", "0.5", 30, Decimal("60")),  # 50 % short
        (ProgressRule.SUM, Comparator.AT_LEAST, "120", "42", "0.5", 30, Decimal("60")),  # exactly 30 %
        (ProgressRule.SUM, Comparator.AT_LEAST, "120", "43", "0.5", 30, None),
        (ProgressRule.SUM, Comparator.AT_MOST, "1000", "700", "0.5", 30, Decimal("500")),  # budget overrun
        (ProgressRule.LATEST, Comparator.AT_MOST, "30", "45", "0.5", 30, Decimal("30")),
        (ProgressRule.LATEST, Comparator.AT_MOST, "30", "35", "0.5", 30, None),
        (ProgressRule.LATEST, Comparator.AT_LEAST, "85", "55", "0.5", 30, Decimal("85")),
        (ProgressRule.LATEST, Comparator.AT_LEAST, "85", "80", "0.5", 30, None),
    ],
)
def test_what_counts_as_behind(rule, comparator, target, logged, share, pct, expected):
    result = behind_by(rule, comparator, Decimal(target), None, Decimal(logged), Decimal(share), pct)
    assert result == expected


def test_from_mid_year_each_indicator_behind_asks_once(w, db):
    files, wait = indicator(w, "Berkas selesai"), indicator(w, "Waktu tunggu pasien")
    satisfaction = indicator(w, "Indeks kepuasan masyarakat")
    log(db, files, date(2027, 3, 31), "20")
    log(db, files, date(2027, 6, 30), "10")  # 30 of about 64 expected by mid-July
    log(db, wait, date(2027, 5, 1), "25")
    log(db, wait, date(2027, 7, 1), "45")  # the latest stands: 45 minutes against at most 30
    log(db, satisfaction, date(2027, 7, 1), "84")  # close enough
    clock.travel_to(START.replace(month=6, day=30, hour=12))
    assert coaching.create_requests() == 0  # before mid-year nothing is judged
    clock.travel_to(MID_JULY)
    assert coaching.create_requests() == 2
    assert coaching.create_requests() == 0
    keys = set(db.session.scalars(sa.select(CoachingRequest.key)))
    assert keys == {f"behind:{files.id}", f"behind:{wait.id}"}
    [mail] = mails(db)  # one email to the head, listing both
    assert mail.subject == "Bimbingan atau konseling untuk Perawat Debora perlu dicatat"
    assert "Berkas selesai" in mail.body_text and "Waktu tunggu pasien" in mail.body_text
    notes = sorted(t.note for t in tasks_of(w))
    assert notes[0].startswith("Progres \u201cBerkas selesai\u201d tertinggal: tercatat 30 berkas")
    assert (
        notes[1] == "Progres \u201cWaktu tunggu pasien\u201d tertinggal: nilai terakhir 45 menit, "
        "target \u2264 30 menit."
    )


def test_the_share_is_the_cycles(w, db):
    files = indicator(w, "Berkas selesai")
    log(db, files, date(2027, 6, 30), "30")
    w.cycle.coaching_behind_pct = 60
    db.session.commit()
    clock.travel_to(MID_JULY)
    assert coaching.create_requests() == 0  # 30 of about 64 is 53 % short, under 60 %
    w.cycle.coaching_behind_pct = 50
    db.session.commit()
    assert coaching.create_requests() == 1


def test_an_indicator_without_a_logged_value_says_nothing(w, db):
    clock.travel_to(MID_JULY)
    assert coaching.create_requests() == 0


# ---- resolution --------------------------------------------------------------------------------------


def test_a_bimbingan_recorded_afterwards_resolves_it_and_the_task_goes_at_once(w, db):
    record(db, w.nurse_ev)  # before the request: it does not count
    clock.travel_to(START.replace(month=3, day=4))
    published_month(w, db, 2, Predikat.BUTUH_PERBAIKAN)
    coaching.create_requests()
    clock.travel_to(clock.now() + timedelta(hours=1))
    record(db, w.nurse_ev, FeedbackKind.DIALOG)  # a dialog is not a bimbingan
    assert len(tasks_of(w)) == 1
    assert [c.open for c in asks.open_by_unit(w.cycle.id)] == [1]
    konseling = record(db, w.nurse_ev, FeedbackKind.COUNSELLING)
    assert tasks_of(w) == []  # before any job ran
    assert asks.open_by_unit(w.cycle.id) == []
    assert coaching.resolve() == 1
    assert coaching.resolve() == 0
    [request] = db.session.scalars(sa.select(CoachingRequest)).all()
    assert request.record_id == konseling.id and request.resolved_at is not None


def test_run_due_finds_causes_once_a_day_and_resolves_on_every_run(w, db):
    clock.travel_to(START.replace(month=3, day=4, hour=8))
    published_month(w, db, 2, Predikat.BUTUH_PERBAIKAN)
    assert run_due().coaching_requests == 1
    assert run_due().coaching_requests == 0
    assert count(CoachingRequest) == 1 and len(mails(db)) == 1
    record(db, w.nurse_ev)
    assert run_due().coaching_resolved == 1


def test_the_digest_reminds_the_rater_weekly_while_it_is_open(w, db):
    clock.travel_to(START.replace(month=3, day=4, hour=8))
    published_month(w, db, 2, Predikat.BUTUH_PERBAIKAN)
    coaching.create_requests()

    def digests():
        return db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.kind == "reminder_digest", OutboxMessage.recipient_id == w.org["head"].id
            )
        ).all()

    send_reminders()
    assert digests() == []  # the email just went
    clock.travel_to(clock.now() + timedelta(days=7))
    send_reminders()
    [digest] = digests()
    assert "Mencatat bimbingan/konseling untuk Perawat Debora" in digest.body_text
    assert f"/evaluations/{w.nurse_ev.id}/dialog#new-record" in digest.body_text
    record(db, w.nurse_ev)
    clock.travel_to(clock.now() + timedelta(days=7))
    send_reminders()
    assert len(digests()) == 1


# ---- HR --------------------------------------------------------------------------------------------


def test_hr_sees_the_open_requests_per_unit_on_the_cycle_dashboard(w, db, client):
    published_month(w, db, 2, Predikat.BUTUH_PERBAIKAN)
    published_month(w, db, 2, Predikat.KURANG, who="colleague")
    coaching.create_requests()
    [mail] = mails(db)
    assert mail.subject == "Bimbingan atau konseling untuk 2 pegawai perlu dicatat"
    assert "Perawat Debora" in mail.body_text and "Perawat Rabiatul" in mail.body_text
    login(client, w.org["hr"].nip)
    page = client.get(f"/cycles/{w.cycle.id}").text
    assert "Bimbingan/konseling yang belum dicatat" in page
    assert 'id="coaching-count">2<' in page and "Puskesmas Rakumpit" in page
    [row] = asks.open_by_unit(w.cycle.id)
    assert (row.unit, row.open, row.employees) == ("Puskesmas Rakumpit", 2, 2)
    [task] = [t for t in home.for_account(w.acc("hr")).tasks if t.kind == "coaching_open"]
    assert (task.action, task.person, task.note) == (
        "Pantau bimbingan/konseling yang belum dicatat atasan",
        "2 pegawai",
        "2 permintaan terbuka",
    )
    assert (task.endpoint, task.args, task.anchor) == ("cycles.view", {"cycle_id": w.cycle.id}, "coaching")
    assert [t for t in home.for_account(w.acc("head")).tasks if t.kind == "coaching_open"] == []


def test_hr_sets_the_share_on_the_cycle_form(w, db, client, make):
    login(client, w.org["hr"].nip)
    base = {
        "name": "SKP Tahunan 2028",
        "kind": "annual",
        "year": "2028",
        "unit_ids": [str(w.org["kecamatan"].id)],
        "target_deadline": "2028-01-31T23:59",
        "assessment_deadline": "2028-12-31T23:59",
        "review_deadline": "2029-01-15T23:59",
        "appeal_deadline": "2029-01-31T23:59",
        "appeal_window_days": "14",
        "appeal_decision_days": "14",
        "reminder_days": "7,3,1",
        "annual_cycle_id": "0",
    }
    for typed, message in (
        ("0", "Isi ambang bimbingan sebagai bilangan bulat 1 sampai 100"),
        ("101", "Isi ambang bimbingan sebagai bilangan bulat 1 sampai 100"),
        ("", "Isi ambang bimbingan sebagai bilangan bulat 1 sampai 100"),
        ("tiga", "bilangan bulat"),
    ):
        page = post_form(
            client, "/cycles/new", {**base, "coaching_behind_pct": typed}, token_from="/cycles/new"
        )
        assert page.status_code in (200, 400) and message in page.text, typed
        assert f'value="{typed}"' in page.text
        assert count(Cycle, Cycle.year == 2028) == 0
    done = post_form(client, "/cycles/new", {**base, "coaching_behind_pct": "45"}, token_from="/cycles/new")
    assert done.status_code == 302
    assert db.session.scalar(sa.select(Cycle.coaching_behind_pct).where(Cycle.year == 2028)) == 45


def test_a_cycle_saved_without_the_share_keeps_thirty(w, db):
    cycle = cycles.save_cycle(None, cycle_data([w.org["kecamatan"]], name="Lain"), w.acc("hr"))
    assert cycle.coaching_behind_pct == 30
    cycles.save_cycle(
        cycle, {**cycle_data([w.org["kecamatan"]], name="Lain"), "coaching_behind_pct": 55}, w.acc("hr")
    )
    cycles.save_cycle(cycle, cycle_data([w.org["kecamatan"]], name="Lain lagi"), w.acc("hr"))
    assert cycle.coaching_behind_pct == 55


@pytest.mark.postgres_only
def test_two_schedulers_at_once_ask_once_and_resolve_once(app, db, w):
    from tests.workflow_helpers import run_at_once

    clock.travel_to(START.replace(month=3, day=4, hour=8))
    published_month(w, db, 2, Predikat.BUTUH_PERBAIKAN)
    assert run_at_once(app, db, coaching.create_requests) == []
    assert count(CoachingRequest) == 1 and len(mails(db)) == 1
    record(db, w.nurse_ev)
    assert run_at_once(app, db, coaching.resolve) == []
    resolved = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "coaching.resolved")).all()
    assert len(resolved) == 1


def test_a_result_asks_once_even_when_a_later_cycle_becomes_the_one_in_flight(w, db):
    published_month(w, db, 2, Predikat.BUTUH_PERBAIKAN)
    assert coaching.create_requests() == 1
    later = cycles.save_cycle(
        None, cycle_data([w.org["kecamatan"]], name="SKP Tahunan 2028", year=2028), w.acc("hr")
    )
    cycles.open_cycle(later, w.acc("hr"))
    flight = coaching.in_flight()
    now_in_flight = db.session.scalar(
        sa.select(flight.c.evaluation_id).where(flight.c.employee_id == w.org["nurse"].id)
    )
    assert now_in_flight == w.ev("nurse", later).id  # the newer annual evaluation
    assert coaching.create_requests() == 0
    assert count(CoachingRequest) == 1


def test_the_scheduler_judges_the_logs_on_its_first_run_of_each_month(w, db):
    wait = indicator(w, "Waktu tunggu pasien")
    files = indicator(w, "Berkas selesai")
    log(db, wait, date(2027, 7, 1), "45")
    clock.travel_to(MID_JULY)
    assert run_due().coaching_requests == 1  # the first run in July judges the logs
    log(db, files, date(2027, 7, 16), "1")
    clock.travel_to(MID_JULY + timedelta(days=1))
    assert run_due().coaching_requests == 0  # later days of the month look for low results only
    clock.travel_to(START.replace(month=8, day=2, hour=10))
    assert run_due().coaching_requests == 1  # August's first run finds the files behind
    assert set(db.session.scalars(sa.select(CoachingRequest.key))) == {
        f"behind:{wait.id}",
        f"behind:{files.id}",
    }
