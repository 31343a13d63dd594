"""Reminders before deadlines and overdue digests after them.

Before each deadline (the cycle's reminder days, default 7, 3 and 1) everyone who still has to
act in that phase gets one digest per day listing all they owe; nothing once they have acted.
After a phase deadline passes, raters and HR get one overdue digest for that deadline.
Idempotent: each digest's outbox key names the person and the day (or the deadline).

A scheduler that was down over a reminder day catches up: the run that finds the latest
reminder day of a deadline unhandled (no run recorded it in `JobDay`) sends it once, today, in
the day's one digest, while the deadline is still ahead. See docs/decisions.md.
"""

import gc
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from app import clock
from app.extensions import db
from app.jobs import days
from app.models import (
    AuditEvent,
    Cycle,
    CycleState,
    Employee,
    Evaluation,
    OrgUnit,
    OutboxMessage,
)
from app.notify import build_digests, build_message, queue
from app.services import monitoring, tasks
from app.templating import URL, localtime
from app.workflow.cycles import hr_employees
from app.workflow.engine import effective_deadline

# Who owes what in each phase, and the conditions that say so, are app/services/tasks.py's: the
# digests go to exactly the people whose home page lists the duty.


PHASES = [state.value for state in CycleState]
REMINDED_PHASES = [str(phase) for phase in tasks.REMINDED_PHASES]


# Values per IN list: PostgreSQL takes at most 65 535 parameters in one statement, and a large
# agency has more people than that who may need a digest on the same day.
IN_CHUNK = 10_000


def _chunks(values: Iterable) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def _local_day(moment: datetime):
    return moment.astimezone(clock.tz()).date()


def _insert_ignoring_duplicates(rows: list[dict]) -> int:
    """Insert outbox rows whose key is not queued yet; returns how many were new.

    The ON CONFLICT clause keeps a second scheduler running at the same moment from queuing a
    key twice; the pre-check only makes the count right.
    """
    if not rows:
        return 0
    queued = _queued_keys([row["key"] for row in rows])
    fresh = [row for row in rows if row["key"] not in queued]
    queue(fresh, ignore_duplicates=True)
    return len(fresh)


def _queued_keys(keys: list[str]) -> set[str]:
    """Which of these outbox keys are queued already (PostgreSQL: one array parameter)."""
    if not keys:
        return set()
    if db.engine.dialect.name == "postgresql":
        array = sa.bindparam("keys", keys, type_=postgresql.ARRAY(sa.String))
        return set(
            db.session.scalars(sa.select(OutboxMessage.key).where(OutboxMessage.key == sa.any_(array)))
        )
    queued = set()
    for chunk in _chunks(keys):
        queued.update(db.session.scalars(sa.select(OutboxMessage.key).where(OutboxMessage.key.in_(chunk))))
    return queued


REMINDERS = "reminders"  # the JobDay record of the reminder days handled
log = logging.getLogger("kinerja.reminders")


def _phase_began(cycle: Cycle) -> date | None:
    """The local day the cycle last entered its current phase (from its audit trail)."""
    moment = db.session.scalar(
        sa.select(sa.func.max(AuditEvent.occurred_at)).where(
            AuditEvent.object_type == "cycle",
            AuditEvent.object_id == str(cycle.id),
            AuditEvent.to_state == cycle.state,
        )
    )
    return _local_day(moment) if moment is not None else None


def _cycles_to_remind(now: datetime, today: date) -> list[tuple[Cycle, datetime, int]]:
    """(cycle, deadline, days left) of the cycles whose reminder goes out today: a reminder day
    today, or the latest reminder day before today missed while the scheduler was down.

    Records today as handled, and claims each missed day it catches up (in the caller's
    transaction): a rerun or a second scheduler finds it claimed and sends it no second time.
    """
    regular, missed = [], defaultdict(list)
    for cycle in db.session.scalars(sa.select(Cycle).where(Cycle.state.in_(REMINDED_PHASES))):
        deadline = cycle.deadline_of(cycle.state)
        if deadline is None or deadline < now:
            continue  # after the deadline nothing is caught up either
        deadline_day = _local_day(deadline)
        days_left = (deadline_day - today).days
        if days_left in cycle.reminder_offsets:
            regular.append((cycle, deadline, days_left))
            continue
        earlier = [offset for offset in cycle.reminder_offsets if offset > days_left]
        if earlier:  # only the latest reminder day counts: one catch-up, not a burst
            missed[deadline_day - timedelta(days=min(earlier))].append((cycle, deadline, days_left))
    days.claim(REMINDERS, today)
    if not missed:
        return regular
    # Days before the first recorded run count as handled: nothing is caught up across the
    # upgrade that brought this record, or before a new installation's first run.
    first = days.first(REMINDERS)
    handled = days.done(REMINDERS, missed)
    caught_up = []
    for day, entries in sorted(missed.items()):
        if day in handled or day < first:
            continue
        # A reminder day before the phase began was never due (HR opened the phase later).
        due = [entry for entry in entries if (_phase_began(entry[0]) or day) <= day]
        if due and days.claim(REMINDERS, day, caught_up_on=today):
            log.info("catching up the reminders of %s for cycles %s", day, [c.id for c, _d, _n in due])
            caught_up.extend(due)
    return regular + caught_up


# Stand for the two values that differ between a rater's items of one duty while the item is
# rendered once for all of them (see `_item_form`). The evaluation id stands inside a web
# address, so its stand-in is made of characters an address holds, as the id's digits are.
EMPLOYEE_SLOT, EVALUATION_SLOT = "\x1fpegawai\x1f", "0penilaian0"


def _item_form(rendered: str) -> str:
    """An item rendered with the slots as its employee and evaluation id, as a `str.format`
    form: `form.format(name, id)` is the item those two values render to (the text template
    does not escape them and tests neither of them on the path a rater's item takes)."""
    braces = rendered.replace("{", "{{").replace("}", "}}")
    return braces.replace(EMPLOYEE_SLOT, "{0}").replace(EVALUATION_SLOT, "{1}")


def _outside_addresses(char: str) -> bool:
    """Whether `char` can never be part of a web address that `linkify` makes a link."""
    return URL.fullmatch("http://a" + char) is None


def _html_form(rendered: str, linkify) -> str | None:
    """The HTML of a rater's item as a form like `_item_form`'s: `form.format(escape(name), id)`
    is `linkify` of the item, for a name without "://" (no address starts in it).

    That holds when the characters on both sides of the name can be in no address (so none runs
    into it) and the id's stand-in, like the id, is plain address characters inside one. None
    when the wording does not allow it (each such item is then made HTML on its own).
    """
    if rendered.count(EMPLOYEE_SLOT) != 1 or rendered.count(EVALUATION_SLOT) != 1:
        return None
    start = rendered.index(EMPLOYEE_SLOT)
    end = start + len(EMPLOYEE_SLOT)
    if start > 0 and not _outside_addresses(rendered[start - 1]):
        return None
    if end < len(rendered) and not _outside_addresses(rendered[end]):
        return None
    return _item_form(str(linkify(rendered)))


class RaterItems:
    """The items of one duty and cycle that a rater (or appeal handler) owes per evaluation:
    rendered once, then filled in with each employee's name and evaluation id. The HTML of each
    item goes into `html_of` when `_html_form` allows it."""

    def __init__(self, render, linkify, task: dict, html_of: dict[str, str]):
        slotted = render({**task, "own": False, "employee": EMPLOYEE_SLOT, "evaluation_id": EVALUATION_SLOT})
        self.form, self.html_form = _item_form(slotted), _html_form(slotted, linkify)
        self.html_of = html_of

    def item(self, employee_name: str, evaluation_id: int) -> str:
        """The item for one evaluation (its HTML noted)."""
        item = self.form.format(employee_name, evaluation_id)
        if self.html_form is not None and "://" not in employee_name:
            self.html_of[item] = self.html_form.format(escape(employee_name), evaluation_id)
        return item


def item_renderer():
    """A function that renders one digest item (a task as a dict) as the digest shows it."""
    template = current_app.jinja_env.get_template("email/reminder_digest_item.txt")
    base_url = current_app.config["BASE_URL"].rstrip("/")
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]

    def render(task: dict) -> str:
        with force_locale(locale):
            return template.render(t=task, base_url=base_url)

    return render


@contextmanager
def _cycle_collector_paused():
    """Pause Python's cyclic garbage collector for a bulk step, then turn it back on.

    A reminder day allocates some hundred thousand rows, lists and dicts that form no reference
    cycle (reference counting frees them all); each few hundred of them make the collector walk
    the process's objects, which took a third of the step's Python time at 20 000 people.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def send_reminders() -> int:
    """Today's reminder digests: one per person per day, to those who still have to act
    (a reminder day missed while the scheduler was down included, once).

    Each digest item (app/templates/email/reminder_digest_item.txt) is rendered once per duty
    and cycle, not once per person: everyone who owes their own step gets the same line, and a
    rater's line for each person differs only by name and evaluation id (`_item_form`).
    Monitoring items are rendered one by one.
    """
    with _cycle_collector_paused():
        return _send_reminders()


def _send_reminders() -> int:
    now = clock.utcnow()
    today = _local_day(now)
    items: dict[int, list[str]] = defaultdict(list)
    recipients: dict[int, tuple] = {}  # person id -> (id, name, email), active people only
    render = item_renderer()
    linkify = current_app.jinja_env.filters["linkify"]
    html_of: dict[str, str] = {}  # items' HTML known without `linkify` (raters' items)
    for cycle, deadline, days_left in _cycles_to_remind(now, today):
        for duty in tasks.DUTIES:
            if cycle.state not in duty.reminded_in:
                continue
            task_text = str(duty.reminder)  # translated once, not once per row
            with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
                deadline_text = localtime(deadline)  # formatted once, not once per digest
            person = aliased(Employee)  # who gets the digest, read in the same query
            # On the session's connection, not through the session: plain rows, without the
            # ORM's result handling (a quarter of the time for tens of thousands of rows).
            rows = (
                db.session.connection()
                .execute(
                    sa.select(person.id, person.name, person.email, Evaluation.id, Employee.name)
                    .join(Employee, Employee.id == Evaluation.employee_id)
                    .join(Cycle, Cycle.id == Evaluation.cycle_id)
                    .join(person, person.id == tasks.PARTY_COLUMN[duty.role])
                    .where(Evaluation.cycle_id == cycle.id, tasks.owed(duty, now), person.active)
                )
                .all()
            )
            task = {
                "cycle": cycle.name,
                "task": task_text,
                "deadline_text": deadline_text,
                "days_left": days_left,
            }
            if duty.role == tasks.EMPLOYEE:  # one's own step: the same words for everyone who owes it
                line = render({**task, "own": True})
                for person_id, person_name, person_email, _evaluation_id, _employee_name in rows:
                    recipients[person_id] = (person_id, person_name, person_email)
                    items[person_id].append(line)
                continue
            rater_item = RaterItems(render, linkify, task, html_of).item
            for person_id, person_name, person_email, evaluation_id, employee_name in rows:
                recipients[person_id] = (person_id, person_name, person_email)
                items[person_id].append(rater_item(employee_name, evaluation_id))
    # The monitoring stage's items (follow-ups due, peer input asked, ...), in the same digest.
    for person_id, (recipient, extra) in monitoring.digest_items(now, today).items():
        recipients[person_id] = recipient
        items[person_id].extend(render(item) for item in extra)
    if not items:
        db.session.commit()  # the days recorded as handled
        return 0

    def key_of(person_id: int) -> str:
        return f"reminder:{person_id}:{today.isoformat()}"

    # Digests already queued today are neither rendered nor written again (the scheduler runs
    # every few minutes); the ON CONFLICT in `queue` covers a second scheduler at the same moment.
    queued = _queued_keys([key_of(person_id) for person_id in items])
    people = [
        SimpleNamespace(id=pid, name=name, email=email)
        for pid, name, email in recipients.values()
        if key_of(pid) not in queued
    ]
    rows = build_digests(
        "reminder_digest",
        people,
        lambda person: key_of(person.id),
        "Pengingat tenggat penilaian kinerja",
        lambda person: tuple(items[person.id]),
        html_of=html_of,
    )
    queue(rows, ignore_duplicates=True)
    db.session.commit()
    return len(rows)


def _late_evaluations(cycle: Cycle, phase: str, states: list, deadline: datetime, now: datetime) -> list:
    """The cycle's evaluations in `states` whose deadline for `phase` passed, in id order.

    Plain rows carrying what `effective_deadline` and the digest template read (state,
    extension, employee name, unit name): tens of thousands of ORM evaluations with their
    employees would cost the scheduler hundreds of megabytes.
    """
    units: dict[str, SimpleNamespace] = {}
    late = []
    rows = db.session.execute(
        sa.select(
            Evaluation.id,
            Evaluation.state,
            Evaluation.rater_id,
            Evaluation.extended_until,
            Evaluation.extended_phase,
            Employee.name,
            OrgUnit.name,
        )
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(OrgUnit, OrgUnit.id == Evaluation.unit_id)
        .where(Evaluation.cycle_id == cycle.id, Evaluation.state.in_(states))
        .order_by(Evaluation.id)
    )
    for id_, state, rater_id, extended_until, extended_phase, name, unit_name in rows:
        ev = SimpleNamespace(
            id=id_,
            state=state,
            rater_id=rater_id,
            extended_until=extended_until,
            extended_phase=extended_phase,
            cycle=cycle,
            employee=SimpleNamespace(name=name),
            unit=units.setdefault(unit_name, SimpleNamespace(name=unit_name)),
        )
        if (effective_deadline(ev, phase) or deadline) < now:
            late.append(ev)
    return late


def send_overdue_digests() -> int:
    """After a phase deadline passed: each rater gets their team's overdue list, HR the whole list; once.

    Digests already queued for a deadline are not rendered again (the scheduler runs this every
    few minutes for the rest of the phase).
    """
    now = clock.utcnow()
    rows = []
    officers = hr_employees()
    for cycle in db.session.scalars(sa.select(Cycle).where(Cycle.state.in_(REMINDED_PHASES))):
        for phase in (CycleState.TARGET_SETTING, CycleState.SELF_ASSESSMENT, CycleState.SUPERVISOR_REVIEW):
            deadline = cycle.deadline_of(phase)
            if deadline is None or deadline >= now or PHASES.index(cycle.state) < PHASES.index(phase):
                continue
            prefix = f"overdue:{cycle.id}:{phase}:{deadline.isoformat()}:"
            queued = set(
                db.session.scalars(
                    sa.select(OutboxMessage.key).where(OutboxMessage.key.startswith(prefix, autoescape=True))
                )
            )
            late_states = list(tasks.behind_states(phase))
            late = _late_evaluations(cycle, phase, late_states, deadline, now)
            if not late:
                continue
            by_rater: dict[int, list] = defaultdict(list)
            for ev in late:
                by_rater[ev.rater_id].append(ev)
            waiting = [rater_id for rater_id in by_rater if f"{prefix}{rater_id}" not in queued]
            raters = {}
            for ids in _chunks(waiting):
                raters.update(
                    (e.id, e) for e in db.session.scalars(sa.select(Employee).where(Employee.id.in_(ids)))
                )
            subject = f"Daftar lewat tenggat: {cycle.name}"
            for rater_id in waiting:
                rater = raters.get(rater_id)
                if rater is not None and rater.active:
                    rows.append(
                        build_message(
                            "overdue_digest",
                            rater,
                            f"{prefix}{rater_id}",
                            subject,
                            cycle=cycle,
                            phase=phase,
                            evaluations=by_rater[rater_id],
                        )
                    )
            for officer in officers:
                if f"{prefix}{officer.id}" in queued:
                    continue
                rows.append(
                    build_message(
                        "overdue_digest",
                        officer,
                        f"{prefix}{officer.id}",
                        subject,
                        cycle=cycle,
                        phase=phase,
                        evaluations=late,
                    )
                )
    inserted = _insert_ignoring_duplicates(rows)
    db.session.commit()
    return inserted
