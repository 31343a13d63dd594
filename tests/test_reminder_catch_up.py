"""A scheduler that was down over a reminder day sends that reminder once when it comes back.

The cycle of the walkthrough has its target deadline on day D with reminders 7, 3 and 1 days
before. The scheduler runs at D-10, is down from D-8 to D-2, and comes back at D-2.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.jobs import run_due
from app.jobs.reminders import send_reminders
from app.models import Evaluation, JobDay, OutboxMessage
from app.workflow import cycles, evaluations
from tests.workflow_helpers import START, agency, cycle_data, open_annual, run_at_once, write_skp


def at_days_before(deadline, days: int, hour: int = 12) -> None:
    """`hour` o'clock (local) of the day `days` before `deadline`."""
    clock.travel_to((deadline.astimezone(clock.tz()) - timedelta(days=days)).replace(hour=hour, minute=0))


def digests(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "reminder_digest").order_by(OutboxMessage.id)
    ).all()


def sent_on(db, days_before: int, deadline) -> set[int]:
    """Who got a digest keyed for the day `days_before` the deadline."""
    day = (deadline.astimezone(clock.tz()) - timedelta(days=days_before)).date().isoformat()
    return {m.recipient_id for m in digests(db) if m.key.endswith(day)}


@pytest.fixture
def down_from_d8(make):
    """The agency, its cycle opened, and a scheduler that last ran at D-10."""
    org = agency(make)
    cycle = open_annual(org)
    at_days_before(cycle.target_deadline, 10)
    assert send_reminders() == 0  # not a reminder day; the run is recorded
    return org, cycle


def test_the_missed_reminder_is_sent_once_when_the_scheduler_returns(db, down_from_d8):
    org, cycle = down_from_d8
    everyone = {org[who].id for who in ("nurse", "colleague", "head", "hr")}  # all still owe their SKP
    at_days_before(cycle.target_deadline, 2, hour=8)
    assert run_due().reminders == 4  # on start: the D-3 reminder, today
    assert sent_on(db, 2, cycle.target_deadline) == everyone
    nurse_digest = next(m for m in digests(db) if m.recipient_id == org["nurse"].id)
    assert "(2 hari lagi)" in nurse_digest.body_text  # what is true today

    assert run_due().reminders == 0  # the next run, minutes later
    clock.advance(timedelta(hours=9))
    assert send_reminders() == 0  # later the same day
    assert len(digests(db)) == 4

    at_days_before(cycle.target_deadline, 1)
    assert send_reminders() == 4  # D-1: the regular reminder, unaffected
    assert sent_on(db, 1, cycle.target_deadline) == everyone
    at_days_before(cycle.target_deadline, 0, hour=6)
    assert send_reminders() == 0  # no reminder day left to catch up
    assert len(digests(db)) == 8  # twice each: the caught-up D-3 and the regular D-1

    caught_up = db.session.scalars(sa.select(JobDay).where(JobDay.caught_up_on.is_not(None))).all()
    day_of = (cycle.target_deadline.astimezone(clock.tz()) - timedelta(days=3)).date()
    assert [(row.day, row.caught_up_on) for row in caught_up] == [(day_of, day_of + timedelta(days=1))]


def test_nothing_is_caught_up_after_the_deadline(db, down_from_d8):
    _org, cycle = down_from_d8
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    assert run_due().reminders == 0
    assert digests(db) == []


def test_nothing_is_caught_up_when_the_reminder_went_out(db, down_from_d8):
    _org, cycle = down_from_d8
    at_days_before(cycle.target_deadline, 3, hour=1)
    assert send_reminders() == 4  # D-3, regular
    at_days_before(cycle.target_deadline, 2)  # down in between, back the next day
    assert send_reminders() == 0
    assert len(digests(db)) == 4


def test_those_who_acted_meanwhile_are_not_reminded(db, down_from_d8):
    org, cycle = down_from_d8
    nurse_ev = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    at_days_before(cycle.target_deadline, 5)
    write_skp(nurse_ev, org["nurse"])
    evaluations.submit_targets(nurse_ev, org["nurse"].account)
    at_days_before(cycle.target_deadline, 2)
    send_reminders()
    assert org["nurse"].id not in sent_on(db, 2, cycle.target_deadline)
    head = next(m for m in digests(db) if m.recipient_id == org["head"].id)
    assert "Menetapkan SKP untuk Perawat Debora" in head.body_text


def test_the_first_run_ever_catches_nothing_up(db, make):
    """Days before the first recorded run count as handled: no burst on upgrade or install."""
    org = agency(make)
    cycle = open_annual(org)
    at_days_before(cycle.target_deadline, 2)
    assert send_reminders() == 0


@pytest.mark.parametrize(("opened_days_before", "reminded"), [(2, False), (5, True)])
def test_a_reminder_day_before_the_phase_began_is_not_caught_up(
    db, down_from_d8, opened_days_before, reminded
):
    """HR opened the self-assessment during the outage: only a reminder day inside the phase counts."""
    org, cycle = down_from_d8
    nurse_ev = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    write_skp(nurse_ev, org["nurse"])
    evaluations.submit_targets(nurse_ev, org["nurse"].account)
    evaluations.approve_targets(nurse_ev, org["head"].account)
    at_days_before(cycle.assessment_deadline, 20)
    send_reminders()  # the scheduler ran in the target phase, then stopped
    at_days_before(cycle.assessment_deadline, opened_days_before, hour=8)
    cycles.advance(cycle, org["hr"].account)  # only the nurse has a self-assessment to write
    at_days_before(cycle.assessment_deadline, 2)
    assert send_reminders() == (1 if reminded else 0)


def test_a_caught_up_reminder_and_a_regular_one_make_one_digest(db, down_from_d8):
    """Another cycle's reminder day is today: each person still gets one digest today."""
    org, first = down_from_d8
    clock.travel_to(START)
    data = cycle_data([org["kecamatan"]], START, name="SKP Tahunan 2028", year=2028)
    data = {
        **data,
        **{name: data[name] + timedelta(days=1) for name in data if name.endswith("_deadline")},
    }
    second = cycles.save_cycle(None, data, org["hr"].account)
    cycles.open_cycle(second, org["hr"].account)
    # First deadline D: D-3 is a reminder day. Second deadline D+1: its D-6 (7 before it) was missed.
    at_days_before(first.target_deadline, 3)
    assert send_reminders() == 4
    today = digests(db)
    assert len(today) == len({m.recipient_id for m in today}) == 4
    assert all("SKP Tahunan 2027" in m.body_text and "SKP Tahunan 2028" in m.body_text for m in today)
    assert send_reminders() == 0


def test_cycles_reminder_days_configured_otherwise(db, make):
    """Reminders 14 and 2 days before; down over D-14: caught up at D-10, then D-2 as usual."""
    org = agency(make)
    clock.travel_to(START)
    data = cycle_data([org["kecamatan"]], START, reminder_days="14,2")
    cycle = cycles.save_cycle(None, data, org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    at_days_before(cycle.target_deadline, 20)
    assert send_reminders() == 0
    at_days_before(cycle.target_deadline, 10)
    assert send_reminders() == 4
    at_days_before(cycle.target_deadline, 5)
    assert send_reminders() == 0
    at_days_before(cycle.target_deadline, 2)
    assert send_reminders() == 4


@pytest.mark.postgres_only
def test_two_schedulers_returning_at_once_send_the_catch_up_once(app, db, down_from_d8):
    _org, cycle = down_from_d8
    at_days_before(cycle.target_deadline, 2)
    assert not run_at_once(app, db, send_reminders)
    keys = [m.key for m in digests(db)]
    assert len(keys) == len(set(keys)) == 4
