"""Scheduled jobs: reminders, overdue digests, deadline locks, windows, escalation; all idempotent."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.jobs import run_due
from app.jobs.reminders import send_overdue_digests, send_reminders
from app.jobs.scheduler import SingletonLock
from app.models import AuditEvent, Evaluation, EvaluationState, OutboxMessage
from app.services import Refused
from app.workflow import cycles, evaluations
from tests.workflow_helpers import agency, open_annual, run_at_once, write_skp


def digests(db, kind="reminder_digest"):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def evaluation_of(db, cycle, person) -> Evaluation:
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == person.id)
    )


def at_days_before(cycle, days: int):
    """Noon (local) of the day `days` before the target deadline."""
    day = (cycle.target_deadline.astimezone(clock.tz()) - timedelta(days=days)).replace(hour=12, minute=0)
    clock.travel_to(day)


def test_reminders_go_to_exactly_those_who_still_have_to_act_once_a_day(make, db):
    org = agency(make)
    cycle = open_annual(org)
    at_days_before(cycle, 7)
    assert send_reminders() == 4  # the nurses, their head and the HR officer still have to submit
    recipients = {m.recipient_id for m in digests(db)}
    assert recipients == {org["nurse"].id, org["colleague"].id, org["head"].id, org["hr"].id}
    assert send_reminders() == 0  # a second run the same day sends nothing

    nurse_ev = evaluation_of(db, cycle, org["nurse"])
    write_skp(nurse_ev, org["nurse"])
    evaluations.submit_targets(nurse_ev, org["nurse"].account)
    at_days_before(cycle, 5)
    assert send_reminders() == 0  # not a reminder day
    at_days_before(cycle, 3)
    send_reminders()
    today = {m.recipient_id for m in digests(db) if m.key.endswith(clock.now().date().isoformat())}
    assert org["nurse"].id not in today  # she acted
    assert org["head"].id in today  # he now has an SKP to approve, besides his own
    head_digest = next(
        m
        for m in digests(db)
        if m.recipient_id == org["head"].id and m.key.endswith(clock.now().date().isoformat())
    )
    assert "Menetapkan SKP untuk Perawat Debora" in head_digest.body_text
    deadline = cycle.target_deadline.astimezone(clock.tz())
    assert f"tenggat {deadline.day} Jan 2027 {deadline:%H.%M} WIB (3 hari lagi)" in head_digest.body_text
    assert head_digest.body_text.startswith("Yth. Kepala Puskesmas,")


def test_overdue_digest_to_raters_and_hr_once_after_the_deadline(make, db):
    org = agency(make)
    cycle = open_annual(org)
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    sent = send_overdue_digests()
    rows = digests(db, "overdue_digest")
    assert sent == len(rows) == 3  # head (two nurses), camat (head and HR officer), HR
    assert {r.recipient_id for r in rows} == {org["head"].id, org["camat"].id, org["hr"].id}
    assert send_overdue_digests() == 0


def test_deadline_passes_with_the_scheduler_stopped(make, db):
    """Edits are refused at request time anyway; the scheduler catches up when started."""
    org = agency(make)
    cycle = open_annual(org)
    nurse_ev = evaluation_of(db, cycle, org["nurse"])
    write_skp(nurse_ev, org["nurse"])
    clock.travel_to(cycle.target_deadline + timedelta(minutes=1))
    with pytest.raises(Refused, match="Tenggat tahap ini sudah lewat"):
        evaluations.submit_targets(nurse_ev, org["nurse"].account)
    assert evaluation_of(db, cycle, org["nurse"]).state == EvaluationState.TARGETS_DRAFT

    report = run_due()
    assert report.locked_targets == 4
    db.session.expire_all()
    assert evaluation_of(db, cycle, org["nurse"]).state == EvaluationState.TARGETS_LOCKED
    locks = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "evaluation.lock_targets")
    )
    assert locks == 4
    assert run_due().locked_targets == 0  # idempotent


def test_a_running_personal_extension_is_not_locked(make, db):
    org = agency(make)
    cycle = open_annual(org)
    nurse_ev = evaluation_of(db, cycle, org["nurse"])
    clock.travel_to(cycle.target_deadline - timedelta(hours=1))
    cycles.extend_one(
        nurse_ev, org["hr"].account, cycle.target_deadline + timedelta(days=3), "Cuti melahirkan"
    )
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    run_due()
    db.session.expire_all()
    assert evaluation_of(db, cycle, org["nurse"]).state == EvaluationState.TARGETS_DRAFT
    assert evaluation_of(db, cycle, org["colleague"]).state == EvaluationState.TARGETS_LOCKED
    clock.advance(timedelta(days=4))
    run_due()
    db.session.expire_all()
    assert evaluation_of(db, cycle, org["nurse"]).state == EvaluationState.TARGETS_LOCKED


def test_auto_advance_moves_the_cycle_at_its_deadline(make, db):
    org = agency(make)
    cycle = open_annual(org)
    cycle.auto_advance = True
    db.session.commit()
    clock.travel_to(cycle.target_deadline + timedelta(minutes=5))
    report = run_due()
    db.session.expire_all()
    assert report.advanced == [cycle.id]
    assert db.session.get(type(cycle), cycle.id).state == "self_assessment"
    assert run_due().advanced == []


def reviewed(make, db):
    org = agency(make)
    cycle = open_annual(org)
    ev = evaluation_of(db, cycle, org["nurse"])
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, org["nurse"].account)
    evaluations.approve_targets(ev, org["head"].account)
    clock.travel_to(cycle.target_deadline + timedelta(days=1))
    cycles.advance(cycle, org["hr"].account)
    for indicator in ev.indicators:
        evaluations.save_realisation(ev, org["nurse"].account, indicator, "50", None)
    evaluations.submit_assessment(ev, org["nurse"].account)
    evaluations.review(ev, org["head"].account, {"results_rating": "meets", "behaviour_rating": "meets"})
    return org, cycle, ev


def test_appeal_window_closes_into_final(make, db):
    org, cycle, ev = reviewed(make, db)
    run_due()
    assert evaluation_of(db, cycle, org["nurse"]).state == EvaluationState.REVIEWED
    clock.travel_to(ev.appeal_until + timedelta(minutes=1))
    assert run_due().finalised == 1
    db.session.expire_all()
    assert evaluation_of(db, cycle, org["nurse"]).state == EvaluationState.FINAL


def test_undecided_keberatan_escalates_to_hr_once(make, db):
    org, cycle, ev = reviewed(make, db)
    evaluations.file_appeal(ev, org["nurse"].account, "Target realisasi saya sudah terpenuhi semua.")
    clock.travel_to(ev.appeal.decide_by + timedelta(hours=1))
    assert run_due().escalated == 1
    assert run_due().escalated == 0
    mails = digests(db, "appeal_escalated")
    assert [m.recipient_id for m in mails] == [org["hr"].id]
    assert "belum diputus" in mails[0].body_text


def test_only_one_scheduler_is_active(app):
    first, second = SingletonLock(app), SingletonLock(app)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


@pytest.mark.postgres_only
def test_two_schedulers_at_once_run_the_jobs_once(app, make, db):
    org = agency(make)
    cycle = open_annual(org)
    at_days_before(cycle, 7)
    clock.travel_to(cycle.target_deadline + timedelta(hours=1), frozen=True)
    assert not run_at_once(app, db, run_due)
    locks = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "evaluation.lock_targets")
    )
    assert locks == 4
    keys = db.session.scalars(
        sa.select(OutboxMessage.key).where(OutboxMessage.kind == "overdue_digest")
    ).all()
    assert len(keys) == len(set(keys)) == 3
