"""The per-unit counters the HR pages read (evaluation_tally) always equal a fresh count of the
evaluations, whatever changed them: one person's step, a bulk phase change, a move between units,
a withdrawal, a deleted evaluation or RHK."""

import random
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import clock
from app.domain import Predikat
from app.jobs import DueReport, lock_overdue
from app.models import Cycle, Employee, Evaluation, EvaluationTally, Rhk
from app.services import Refused
from app.services.cockpit import cycle_counts, late_per_unit
from app.services.tasks import late
from app.workflow import cycles, evaluations, set_aside
from app.workflow.definitions import NOT_YET_RATED
from tests.conftest import ON_POSTGRES, login
from tests.workflow_helpers import START, agency, cycle_data, settle_the_rest, write_skp

BEFORE_TALLY = "b626b9d82ee0"


def kept(db) -> dict[tuple, int]:
    """The counters as kept (zeros left out)."""
    t = EvaluationTally
    rows = db.session.execute(sa.select(t.cycle_id, t.unit_id, t.state, t.predikat, t.n).where(t.n != 0))
    return {tuple(row[:4]): row[4] for row in rows}


def recounted(db) -> dict[tuple, int]:
    """The same counts grouped from the evaluations now."""
    return {tuple(row[:4]): row[4] for row in db.session.execute(EvaluationTally.recount())}


def assert_counted(db, step: str) -> None:
    """The counters agree with a recount, and none is negative."""
    db.session.commit()
    assert kept(db) == recounted(db), step
    assert not db.session.scalar(sa.select(sa.func.count()).where(EvaluationTally.n < 0)), step


class Walk:
    """A seeded random walk over one cycle: people's steps between HR's bulk steps."""

    def __init__(self, db, make, seed: int):
        self.db, self.rng = db, random.Random(seed)
        self.org = agency(make)
        self.units = [self.org["puskesmas"], self.org["kecamatan"]]
        self.units += [make.unit(f"Seksi {i}", parent=self.org["kecamatan"]) for i in range(2)]
        for i in range(9):
            make.employee(f"Staf {i}", supervisor=self.org["head"], unit=self.units[i % len(self.units)])
        clock.travel_to(START)
        self.hr = self.org["hr"].account
        self.cycle = cycles.save_cycle(None, cycle_data([self.org["kecamatan"]]), self.hr)
        cycles.open_cycle(self.cycle, self.hr)

    def evaluations(self, *states: str) -> list[Evaluation]:
        """The cycle's evaluations (in these states), by id."""
        query = sa.select(Evaluation).where(Evaluation.cycle_id == self.cycle.id).order_by(Evaluation.id)
        if states:
            query = query.where(Evaluation.state.in_(states))
        return list(self.db.session.scalars(query))

    def pick(self, *states: str) -> Evaluation | None:
        """One evaluation at random (in these states), or None."""
        found = self.evaluations(*states)
        return self.rng.choice(found) if found else None

    def ids(self, k: int) -> list[int]:
        """Up to k evaluation ids at random."""
        found = [e.id for e in self.evaluations()]
        return self.rng.sample(found, min(k, len(found)))

    # ---- people's steps, through the services ------------------------------------------------------

    def write(self):
        if ev := self.pick("targets_draft"):
            write_skp(ev, ev.employee)

    def unwrite(self):
        ev = self.pick("targets_draft")
        if ev is not None and ev.rhks:
            evaluations.delete_rhk(ev, ev.employee.account, self.rng.choice(ev.rhks))

    def submit(self):
        ev = self.pick("targets_draft")
        if ev is not None and ev.rhks:
            evaluations.submit_targets(ev, ev.employee.account)

    def approve(self):
        if ev := self.pick("targets_submitted"):
            evaluations.approve_targets(ev, ev.rater.account)

    def send_back(self):
        if ev := self.pick("targets_submitted"):
            evaluations.return_targets(ev, ev.rater.account, "Perbaiki indikatornya, ya.")

    def withdraw(self):
        if ev := self.pick():
            if ev.state == "withdrawn":
                set_aside.reinstate(ev, self.hr)
            elif ev.state not in ("published", "not_rated"):
                set_aside.withdraw(ev, self.hr, "mutasi", "Pindah ke kabupaten lain.")

    # ---- statements over many rows, as bulk steps and data fixes write them ---------------------------

    def rhk_in_bulk(self):
        """One INSERT of RHK for several evaluations, some twice."""
        ids = self.ids(4)
        rows = [
            {"evaluation_id": i, "kind": "main", "text": "RHK massal", "position": 9} for i in ids + ids[:1]
        ]
        if rows:
            self.db.session.execute(sa.insert(Rhk), rows)

    def rhk_deleted_in_bulk(self):
        """One DELETE of every RHK of several evaluations."""
        self.db.session.execute(sa.delete(Rhk).where(Rhk.evaluation_id.in_(self.ids(3))))

    def move_units(self):
        """Some evaluations to another unit; two others swap units in the same statement."""
        target = self.rng.choice(self.units)
        self.db.session.execute(
            sa.update(Evaluation).where(Evaluation.id.in_(self.ids(3))).values(unit_id=target.id)
        )
        pair = self.evaluations()
        if len(pair) >= 2:
            a, b = self.rng.sample(pair, 2)
            swapped = sa.case((Evaluation.id == a.id, b.unit_id), else_=a.unit_id)
            self.db.session.execute(
                sa.update(Evaluation).where(Evaluation.id.in_([a.id, b.id])).values(unit_id=swapped)
            )

    def rate(self):
        """Some evaluations reviewed with a predikat (or their predikat changed), in one UPDATE."""
        predikat = self.rng.choice(list(Predikat)).value
        self.db.session.execute(
            sa.update(Evaluation)
            .where(Evaluation.id.in_(self.ids(4)), Evaluation.state.not_in(["withdrawn", "published"]))
            .values(state="reviewed", predikat=predikat)
        )

    def touch_all(self):
        """An UPDATE that changes no counted column (a bulk deadline extension, say)."""
        self.db.session.execute(
            sa.update(Evaluation).where(Evaluation.cycle_id == self.cycle.id).values(resources="APBD")
        )

    def delete_one(self):
        """An evaluation deleted with its RHK (a draft written or not, or any other)."""
        if ev := self.pick():
            self.db.session.execute(sa.delete(Evaluation).where(Evaluation.id == ev.id))

    PEOPLE = ("write", "write", "unwrite", "submit", "approve", "send_back", "withdraw")
    BULK = ("rhk_in_bulk", "rhk_deleted_in_bulk", "move_units", "rate", "touch_all", "delete_one")

    def steps(self, n: int):
        """n random steps, each checked."""
        for _ in range(n):
            name = self.rng.choice(self.PEOPLE + self.BULK)
            try:
                getattr(self, name)()
            except Refused:
                self.db.session.rollback()
            assert_counted(self.db, name)

    def phase_step(self, name: str, run):
        """A bulk step of HR or the scheduler, checked."""
        try:
            run()
        except Refused:
            self.db.session.rollback()
        assert_counted(self.db, name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_counters_equal_a_recount_after_every_step(app, db, make, seed):
    walk = Walk(db, make, seed)
    assert_counted(db, "open")
    assert kept(db)  # the opening was counted
    walk.steps(25)
    clock.travel_to(walk.cycle.target_deadline + timedelta(hours=1))
    walk.phase_step("lock", lambda: lock_overdue(DueReport()))
    walk.phase_step("advance", lambda: cycles.advance(walk.cycle, walk.hr))
    walk.steps(15)
    clock.travel_to(walk.cycle.assessment_deadline + timedelta(hours=1))
    walk.phase_step("lock", lambda: lock_overdue(DueReport()))
    walk.phase_step("advance", lambda: cycles.advance(walk.cycle, walk.hr))
    walk.steps(10)
    walk.phase_step("advance", lambda: cycles.advance(walk.cycle, walk.hr))
    walk.phase_step("settle", lambda: settle_the_rest(walk.cycle, walk.hr))
    clock.travel_to(walk.cycle.appeal_deadline + timedelta(hours=1))
    walk.phase_step(
        "publish", lambda: cycles.publish(walk.cycle, walk.hr, "names", "Sudah dibahas pimpinan.")
    )
    assert {state for (_c, _u, state, _p) in kept(db)} >= {"published"}
    walk.steps(5)


def test_a_draft_counts_as_not_started_until_its_first_rhk(app, db, make):
    walk = Walk(db, make, 0)
    nurse = next(e for e in walk.evaluations() if e.employee_id == walk.org["nurse"].id)
    unit = nurse.unit_id

    def drafts() -> dict[str, int]:
        return {
            state: n
            for (_c, u, state, _p), n in kept(db).items()
            if u == unit and state in ("targets_empty", "targets_draft")
        }

    before = drafts()
    write_skp(nurse, walk.org["nurse"])
    after = drafts()
    assert after.get("targets_draft", 0) == before.get("targets_draft", 0) + 1
    assert after.get("targets_empty", 0) == before.get("targets_empty", 0) - 1
    for rhk in list(nurse.rhks):
        evaluations.delete_rhk(nurse, walk.org["nurse"].account, rhk)
    assert drafts() == before


@pytest.mark.skipif(ON_POSTGRES, reason="one migrated template per session on PostgreSQL")
def test_the_migration_fills_the_counters_from_the_evaluations(app, db, make):
    walk = Walk(db, make, 4)
    walk.steps(10)
    expected = recounted(db)
    db.session.remove()
    downgrade(revision=BEFORE_TALLY)
    upgrade()
    assert kept(db) == expected == recounted(db)


def test_the_overdue_per_unit_from_the_counters_equals_the_late_list(app, db, make):
    walk = Walk(db, make, 5)
    walk.steps(8)

    def scanned(now) -> dict[int, int]:
        rows = db.session.execute(
            sa.select(Evaluation.unit_id, sa.func.count())
            .join(Cycle, Cycle.id == Evaluation.cycle_id)
            .where(Evaluation.cycle_id == walk.cycle.id, late(now))
            .group_by(Evaluation.unit_id)
        )
        return dict(rows.all())

    def check(moment: str) -> None:
        db.session.commit()
        now = clock.utcnow()
        from_counters = {unit_id: n for unit_id, (_name, n) in late_per_unit(walk.cycle, now).items()}
        assert from_counters == scanned(now), moment
        assert cycle_counts([walk.cycle.id], now)[walk.cycle.id].late == sum(scanned(now).values()), moment

    check("before the deadline")
    clock.travel_to(walk.cycle.target_deadline + timedelta(hours=1))
    check("past the deadline")
    drafts = walk.evaluations("targets_draft")
    for ev, days in zip(drafts, (3, 10), strict=False):
        cycles.extend_one(
            ev, walk.hr, walk.cycle.target_deadline + timedelta(days=days), "Sakit, dirawat inap."
        )
    assert db.session.scalar(sa.select(sa.func.count()).where(Evaluation.extended_until.is_not(None))) == 2
    check("two personal extensions")
    clock.travel_to(walk.cycle.target_deadline + timedelta(days=5))
    check("the first extension ran out")
    lock_overdue(DueReport())
    check("locked")
    walk.phase_step("advance", lambda: cycles.advance(walk.cycle, walk.hr))
    check("self-assessment")
    clock.travel_to(walk.cycle.assessment_deadline + timedelta(hours=1))
    check("past the self-assessment deadline")
    assert scanned(clock.utcnow())  # someone is late here, so the comparison compared something


def test_the_overdue_list_pages_through_everyone_late_in_unit_order(app, db, make, client):
    walk = Walk(db, make, 6)
    walk.steps(6)
    clock.travel_to(walk.cycle.target_deadline + timedelta(hours=1))
    lock_overdue(DueReport())
    db.session.commit()
    expected = (
        db.session.execute(
            sa.select(Evaluation.id)
            .join(Cycle, Cycle.id == Evaluation.cycle_id)
            .where(Evaluation.cycle_id == walk.cycle.id, late(clock.utcnow()))
            .order_by(Evaluation.unit_id, Evaluation.id)
        )
        .scalars()
        .all()
    )
    app.config["PAGE_SIZE"] = 3
    assert len(expected) > 6 and len({e.unit_id for e in walk.evaluations()}) > 2
    login(client, walk.org["hr"].nip)
    listed = []
    for number in range(1, len(expected) // 3 + 3):
        html = client.get(f"/cycles/{walk.cycle.id}/overdue?page={number}").get_data(as_text=True)
        assert f'id="overdue-count">{len(expected)}</span>' in html
        listed += [int(i) for i in re.findall(r'href="/evaluations/(\d+)"', html)]
    assert listed == expected
    dashboard = client.get(f"/cycles/{walk.cycle.id}").get_data(as_text=True)
    section = dashboard[dashboard.index('id="overdue"') :]
    assert [int(i) for i in re.findall(r'href="/evaluations/(\d+)"', section)][:3] == expected[:3]


def test_the_publication_page_counts_from_the_counters_equal_a_recount(app, db, make):
    walk = Walk(db, make, 7)
    walk.steps(12)
    someone = walk.pick()
    someone.employee.active = False  # left the service: publishing does not email them

    def check(moment: str) -> None:
        db.session.commit()
        states = dict(
            db.session.execute(
                sa.select(Evaluation.state, sa.func.count())
                .where(Evaluation.cycle_id == walk.cycle.id)
                .group_by(Evaluation.state)
            ).all()
        )
        assert set_aside.settled_counts(walk.cycle) == {
            "withdrawn": states.get("withdrawn", 0),
            "not_rated": states.get("not_rated", 0),
            "unrated": sum(states.get(str(s), 0) for s in NOT_YET_RATED),
        }, moment
        evaluated = sa.select(Evaluation.employee_id).where(
            Evaluation.cycle_id == walk.cycle.id, Evaluation.state != "withdrawn"
        )
        active = sa.select(sa.func.count()).where(Employee.id.in_(evaluated), Employee.active)
        assert cycles.announced_to(walk.cycle) == db.session.scalar(active), moment

    check("target setting")
    walk.withdraw()
    walk.withdraw()
    check("withdrawals")
    clock.travel_to(walk.cycle.target_deadline + timedelta(hours=1))
    lock_overdue(DueReport())
    walk.phase_step("advance", lambda: cycles.advance(walk.cycle, walk.hr))
    walk.steps(4)
    check("self-assessment")


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL storage setting")
def test_counter_pages_keep_room_for_the_next_values(db):
    """Every transition rewrites a counter; with room on its page the new version stays there (a
    HOT update) and the table does not grow with each bulk step (migration 7b3f9d2e4c18)."""
    options = db.session.scalar(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'evaluation_tally'"))
    assert "fillfactor=40" in options
    assert "autovacuum_vacuum_threshold=1000" in options
