"""A rater's approval, return and review, each run as its request runs it (the session loader's
account, the POST route's evaluation, the service): as many statements for a large SKP as for a
small one, the evaluation moved once under its version, one audit row, one email."""

import contextvars
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import Aspect, Comparator, CoreValue
from app.extensions import db as _db
from app.models import Account, AuditEvent, BehaviourNote, Comment, Evaluation, EvaluationState, OutboxMessage
from app.services import Conflict
from app.services.accounts import load_account
from app.workflow import cycles, evaluations
from tests.workflow_helpers import START, agency, open_annual, write_skp

E = EvaluationState
COMMENT = "Target waktu tunggu terlalu longgar; sesuaikan dengan standar pelayanan."


def add_rhks(evaluation: Evaluation, employee, extra: int) -> None:
    """`extra` more RHK, each with two indicators: a larger SKP than the walkthrough's."""
    for n in range(extra):
        rhk = evaluations.save_rhk(evaluation, employee.account, {"kind": "main", "text": f"Layanan {n}"})
        for aspect in (Aspect.QUANTITY, Aspect.QUALITY):
            evaluations.save_indicator(
                evaluation,
                employee.account,
                rhk,
                {
                    "aspect": aspect,
                    "text": f"Indikator {aspect.value} {n}",
                    "comparator": Comparator.AT_LEAST,
                    "target": "10",
                    "unit": "kegiatan",
                },
            )


def as_a_request(app, account: Account, evaluation_id: int, action) -> list[str]:
    """Run `action(evaluation, account)` in an app context and session of its own, reading the
    account as the session loader does and the evaluation as the POST route does; its statements."""
    user_id = account.get_id()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def run():
        with app.app_context():
            engine = _db.engine
            sa.event.listen(engine, "before_cursor_execute", count)
            try:
                action(evaluations.for_action(evaluation_id), load_account(user_id))
            finally:
                sa.event.remove(engine, "before_cursor_execute", count)

    contextvars.Context().run(run)
    _db.session.expire_all()
    return statements


@pytest.fixture
def world(make):
    """The walkthrough's nurse with her two-RHK SKP and her colleague with seven RHK, both submitted."""
    org = agency(make)
    cycle = open_annual(org)
    skps = []
    for who, extra in (("nurse", 0), ("colleague", 5)):
        ev = _db.session.scalar(
            sa.select(Evaluation).where(
                Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org[who].id
            )
        )
        write_skp(ev, org[who])
        add_rhks(ev, org[who], extra)
        evaluations.submit_targets(ev, org[who].account)
        skps.append(ev.id)
    return org, cycle, skps


def in_review(org, cycle, skps) -> None:
    """Both SKPs approved, the self-assessment phase, every realisation written and submitted."""
    for ev_id in skps:
        evaluations.approve_targets(_db.session.get(Evaluation, ev_id), org["head"].account)
    clock.travel_to(START + timedelta(days=26))
    cycles.advance(cycle, org["hr"].account)
    for ev_id, who in zip(skps, ("nurse", "colleague"), strict=True):
        ev = _db.session.get(Evaluation, ev_id)
        for indicator in ev.indicators:
            evaluations.save_realisation(ev, org[who].account, indicator, "40", "Data SIMPUS")
        evaluations.submit_assessment(ev, org[who].account)


def approve(ev, account):
    evaluations.approve_targets(ev, account, expected_version=ev.version)


def return_it(ev, account):
    evaluations.return_targets(ev, account, COMMENT, expected_version=ev.version)


def review(ev, account):
    data = {
        "results_rating": "meets",
        "behaviour_rating": "meets",
        "summary": "Sesuai ekspektasi.",
        # as the review form is built: the indicators with their RHKs in one statement
        "indicator_feedback": {i.id: f"Umpan balik {i.id}" for i in evaluations.with_indicators(ev)},
        "behaviour_feedback": {value.value: "Pertahankan." for value in CoreValue},
    }
    evaluations.review(ev, account, data, expected_version=ev.version)


ACTIONS = {
    "approve": (approve, "evaluation.approve_targets", "targets_approved", E.TARGETS_APPROVED),
    "return": (return_it, "evaluation.return_targets", "targets_returned", E.TARGETS_DRAFT),
    "review": (review, "evaluation.review", "result_delivered", E.REVIEWED),
}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_rater_action_costs_the_same_statements_for_a_small_and_a_large_skp(app, world, name):
    org, cycle, skps = world
    if name == "review":
        in_review(org, cycle, skps)
    action, audit_action, mail_kind, after = ACTIONS[name]
    counts = []
    for ev_id in skps:
        before = _db.session.get(Evaluation, ev_id).version
        counts.append(len(as_a_request(app, org["head"].account, ev_id, action)))
        ev = _db.session.get(Evaluation, ev_id)
        assert ev.state == after and ev.version == before + 1
        audit = _db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.object_id == str(ev_id), AuditEvent.action == audit_action)
        ).all()
        assert len(audit) == 1 and audit[0].actor_id == org["head"].account.id
        mails = _db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.kind == mail_kind, OutboxMessage.key.like(f"%:{ev_id}%")
            )
        ).all()
        assert [m.recipient_id for m in mails] == [ev.employee_id]
        if name == "return":
            assert [
                c.body for c in _db.session.scalars(sa.select(Comment).where(Comment.evaluation_id == ev_id))
            ] == [COMMENT]
        if name == "review":
            assert all(i.feedback == f"Umpan balik {i.id}" for i in ev.indicators)
            notes = _db.session.scalars(sa.select(BehaviourNote).where(BehaviourNote.evaluation_id == ev_id))
            assert sorted(n.value for n in notes if n.feedback == "Pertahankan.") == sorted(CoreValue)
    small, large = counts
    assert small == large, counts  # two RHK or seven: nothing is read or written per RHK


def test_an_approval_loses_to_a_change_made_after_the_evaluation_was_read(app, world):
    """The rater's approval claims the row under the version it read: when the employee's other
    tab changed the evaluation in between, the approval writes nothing (no audit row, no email)."""
    org, _cycle, skps = world
    ev_id = skps[0]

    def approve_after_a_change(ev, account):
        with _db.engine.begin() as other:  # another request, committed while this one runs
            other.execute(
                sa.update(Evaluation.__table__)
                .where(Evaluation.__table__.c.id == ev_id)
                .values(version=Evaluation.__table__.c.version + 1)
            )
        evaluations.approve_targets(ev, account)

    before = _db.session.get(Evaluation, ev_id).version
    with pytest.raises(Conflict, match="baru saja diubah"):
        as_a_request(app, org["head"].account, ev_id, approve_after_a_change)
    ev = _db.session.get(Evaluation, ev_id)
    assert ev.state == E.TARGETS_SUBMITTED and ev.version == before + 1
    assert not _db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_id == str(ev_id), AuditEvent.action.like("%approve%"))
    ).all()
    assert not _db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "targets_approved")
    ).all()
