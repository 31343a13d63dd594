"""Two people act on one evaluation at the same moment, each in its own connection (PostgreSQL).

Each side runs in its own thread with its own app context, so its own session and connection.
A barrier on the first write (a flush, or a statement that writes) makes them overlap for real:
both have loaded the evaluation and passed every check before either writes. One wins; the
other is told the data changed and nothing of its action is kept; the audit trail shows exactly
one transition.
"""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app import clock
from app.extensions import db as _db
from app.models import Account, AuditEvent, Comment, Evaluation, EvaluationState, Indicator, OutboxMessage
from app.services import Refused
from app.workflow import cycles, evaluations
from tests.workflow_helpers import agency, open_annual, write_skp

pytestmark = pytest.mark.postgres_only

E = EvaluationState
CHANGED = "baru saja diubah"


def race(app, evaluation_id: int, *actions):
    """Run each `action(evaluation, account)` in its own thread; return what each ended with."""
    start = threading.Barrier(len(actions))
    writing = threading.Barrier(len(actions))
    outcomes: list = [None] * len(actions)

    def worker(index: int, action, account_id: int) -> None:
        with app.app_context():
            session = _db.session()
            waited = []

            def both_checked(*_args):
                if not waited:  # the first write of this side waits until the other side writes too
                    waited.append(True)
                    writing.wait(timeout=20)

            # a write is a flush of the unit of work, or a statement the service runs itself
            event.listen(session, "before_flush", both_checked)

            @event.listens_for(session, "do_orm_execute")
            def before_statement(state):
                if state.is_update or state.is_insert or state.is_delete:
                    both_checked()

            try:
                evaluation = session.get(Evaluation, evaluation_id)
                account = session.get(Account, account_id)
                # what the services read, loaded now so both sides start from the same version
                loaded = (evaluation.cycle, evaluation.indicators, evaluation.employee, evaluation.rater)
                assert all(part is not None for part in loaded) and account.roles
                start.wait(timeout=20)
                action(evaluation, account)
                outcomes[index] = "ok"
            except Refused as refusal:
                outcomes[index] = refusal
            except Exception as error:  # noqa: BLE001 - reported by the test
                outcomes[index] = error
            finally:
                if not waited:  # a side refused before writing must not leave the other waiting
                    writing.abort()
                _db.session.remove()

    threads = [
        threading.Thread(target=worker, args=(i, action, account_id))
        for i, (action, account_id) in enumerate(actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    _db.session.expire_all()
    return outcomes


def one_wins(outcomes) -> int:
    """Exactly one side succeeded, the other was refused as changed; the winner's index."""
    assert sorted(o == "ok" for o in outcomes) == [False, True], outcomes
    loser = next(o for o in outcomes if o != "ok")
    assert isinstance(loser, Refused), repr(loser)
    assert CHANGED in str(loser)
    return outcomes.index("ok")


def transitions_of(evaluation_id: int) -> list[str]:
    return list(
        _db.session.scalars(
            sa.select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "evaluation",
                AuditEvent.object_id == str(evaluation_id),
                AuditEvent.to_state.is_not(None),
            )
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def world(make):
    org = agency(make)
    cycle = open_annual(org)
    nurse = _db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    write_skp(nurse, org["nurse"])
    evaluations.submit_targets(nurse, org["nurse"].account)
    return org, cycle, nurse


@pytest.mark.parametrize("attempt", range(3))
def test_two_tabs_of_the_rater_approve_and_return_at_once(app, world, attempt):
    org, _cycle, nurse = world
    head = org["head"].account.id
    outcomes = race(
        app,
        nurse.id,
        (lambda ev, acc: evaluations.approve_targets(ev, acc), head),
        (lambda ev, acc: evaluations.return_targets(ev, acc, "Target terlalu rendah"), head),
    )
    winner = one_wins(outcomes)
    nurse = _db.session.get(Evaluation, nurse.id)
    decided = ["evaluation.approve_targets", "evaluation.return_targets"]
    assert nurse.state == [E.TARGETS_APPROVED, E.TARGETS_DRAFT][winner]
    assert transitions_of(nurse.id) == ["evaluation.created", "evaluation.submit_targets", decided[winner]]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == winner
    kinds = set(_db.session.scalars(sa.select(OutboxMessage.kind)))
    assert ({"targets_approved", "targets_returned"} & kinds) == {
        ["targets_approved", "targets_returned"][winner]
    }


def test_two_tabs_of_the_rater_approve_at_once(app, world):
    org, _cycle, nurse = world
    head = org["head"].account.id
    approve = (lambda ev, acc: evaluations.approve_targets(ev, acc), head)
    one_wins(race(app, nurse.id, approve, approve))
    assert _db.session.get(Evaluation, nurse.id).state == E.TARGETS_APPROVED
    assert transitions_of(nurse.id).count("evaluation.approve_targets") == 1
    kinds = list(_db.session.scalars(sa.select(OutboxMessage.kind)))
    assert kinds.count("targets_approved") == 1


@pytest.mark.parametrize("attempt", range(3))
def test_a_stale_realisation_tab_and_the_submission_race(app, world, attempt):
    org, cycle, nurse = world
    evaluations.approve_targets(nurse, org["head"].account)
    # a ticking clock: a content edit marks the evaluation with the time of the edit
    clock.travel_to(cycle.target_deadline + timedelta(days=1), frozen=False)
    cycles.advance(cycle, org["hr"].account)
    _db.session.refresh(nurse)
    for indicator, value in zip(nurse.indicators, ["25", "90"], strict=True):
        evaluations.save_realisation(nurse, org["nurse"].account, indicator, value, None)
    first = nurse.indicators[0].id
    me = org["nurse"].account.id

    def stale_tab(ev, acc):
        indicator = next(i for i in ev.indicators if i.id == first)
        evaluations.save_realisation(ev, acc, indicator, "45", "Angka diperbaiki")

    outcomes = race(
        app,
        nurse.id,
        (lambda ev, acc: evaluations.submit_assessment(ev, acc), me),
        (stale_tab, me),
    )
    winner = one_wins(outcomes)
    nurse = _db.session.get(Evaluation, nurse.id)
    realisation = _db.session.get(Indicator, first).realisation
    if winner == 0:  # submitted with what was there; the late edit is not slipped in after submission
        assert nurse.state == E.ASSESSMENT_SUBMITTED and realisation == 25
        assert transitions_of(nurse.id)[-1] == "evaluation.submit_assessment"
    else:  # the edit is kept; the submission did not happen on data the employee had not seen
        assert nurse.state == E.ASSESSMENT_DRAFT and realisation == 45
        assert "evaluation.submit_assessment" not in transitions_of(nurse.id)


def test_the_rater_reviews_while_returning_in_another_tab(app, world):
    org, cycle, nurse = world
    evaluations.approve_targets(nurse, org["head"].account)
    clock.travel_to(cycle.target_deadline + timedelta(days=1))
    cycles.advance(cycle, org["hr"].account)
    _db.session.refresh(nurse)
    for indicator, value in zip(nurse.indicators, ["25", "90"], strict=True):
        evaluations.save_realisation(nurse, org["nurse"].account, indicator, value, None)
    evaluations.submit_assessment(nurse, org["nurse"].account)
    head = org["head"].account.id
    outcomes = race(
        app,
        nurse.id,
        (
            lambda ev, acc: evaluations.review(
                ev, acc, {"results_rating": "meets", "behaviour_rating": "meets"}
            ),
            head,
        ),
        (lambda ev, acc: evaluations.return_assessment(ev, acc, "Lampirkan bukti"), head),
    )
    winner = one_wins(outcomes)
    nurse = _db.session.get(Evaluation, nurse.id)
    assert nurse.state == [E.REVIEWED, E.ASSESSMENT_DRAFT][winner]
    assert (nurse.predikat is not None) == (winner == 0)
    last = transitions_of(nurse.id)[-1]
    assert last == ["evaluation.review", "evaluation.return_assessment"][winner]
    assert (
        transitions_of(nurse.id).count("evaluation.review")
        + transitions_of(nurse.id).count("evaluation.return_assessment")
        == 1
    )
