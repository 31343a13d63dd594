"""The whole evaluation, through the services: targets to publication."""

from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.domain import Predikat, Rating
from app.models import AuditEvent, CycleState, Evaluation, EvaluationState, OutboxMessage
from app.workflow import cycles, evaluations
from tests.workflow_helpers import agency, open_annual, settle_the_rest, write_skp


def evaluation_of(db, cycle, employee) -> Evaluation:
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


def test_a_year_from_targets_to_publication(make, db):
    org = agency(make)
    cycle = open_annual(org)
    hr, head, nurse, camat = (
        org["hr"].account,
        org["head"].account,
        org["nurse"].account,
        org["camat"].account,
    )
    assert cycle.state == CycleState.TARGET_SETTING
    ev = evaluation_of(db, cycle, org["nurse"])
    assert ev.state == EvaluationState.TARGETS_DRAFT
    assert ev.rater_id == org["head"].id and ev.appeal_handler_id == org["camat"].id
    # the camat has no rater: left out
    assert evaluation_of(db, cycle, org["camat"]) is None

    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, nurse)
    evaluations.return_targets(ev, head, "Target kepuasan terlalu rendah")
    assert ev.state == EvaluationState.TARGETS_DRAFT
    evaluations.submit_targets(ev, nurse)
    evaluations.approve_targets(ev, head)
    assert ev.state == EvaluationState.TARGETS_APPROVED

    clock.advance(timedelta(days=26))
    cycles.advance(cycle, hr)
    db.session.refresh(ev)
    assert ev.state == EvaluationState.ASSESSMENT_DRAFT
    colleague_ev = evaluation_of(db, cycle, org["colleague"])
    assert colleague_ev.state == EvaluationState.TARGETS_LOCKED

    for indicator, value in zip(ev.indicators, ["25", "90"], strict=True):
        evaluations.save_realisation(ev, nurse, indicator, value, "Data SIMPUS")
    evaluations.add_evidence_file(ev, nurse, ev.indicators[0], "laporan.pdf", b"%PDF-1.4 laporan")
    evaluations.add_evidence_link(ev, nurse, ev.indicators[1], "https://survei.example/ikm")
    evaluations.submit_assessment(ev, nurse)
    assert evaluations.suggested_results_rating(ev) is Rating.ABOVE

    evaluations.review(ev, head, {"results_rating": "above", "behaviour_rating": "meets"})
    assert ev.state == EvaluationState.REVIEWED and ev.predikat is Predikat.BAIK

    evaluations.file_appeal(ev, nurse, "Saya melampaui semua target dan aktif berkolaborasi.")
    evaluations.appeal_comment(ev, camat, "Mohon jelaskan penilaian perilaku.", "rater")
    evaluations.appeal_comment(ev, head, "Perilaku sesuai ekspektasi.")
    evaluations.decide_appeal(
        ev,
        camat,
        {
            "results_rating": "above",
            "behaviour_rating": "above",
            "reasons": "Bukti kolaborasi lintas program kuat.",
        },
    )
    assert ev.state == EvaluationState.DECIDED and ev.predikat is Predikat.SANGAT_BAIK

    clock.advance(timedelta(days=35))
    cycles.advance(cycle, hr)
    cycles.advance(cycle, hr)
    settle_the_rest(cycle, hr)
    cycles.publish(cycle, hr, "names")
    db.session.refresh(ev)
    assert cycle.state == CycleState.PUBLISHED and ev.state == EvaluationState.PUBLISHED
    cycles.close(cycle, hr)
    assert cycle.state == CycleState.CLOSED

    transitions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.object_type == "evaluation", AuditEvent.object_id == str(ev.id))
        .order_by(AuditEvent.id)
    ).all()
    assert transitions[0] == "evaluation.created"
    assert "evaluation.decide_appeal" in transitions and transitions[-1] == "evaluation.publish"
    kinds = set(db.session.scalars(sa.select(OutboxMessage.kind)))
    assert {
        "cycle_opened",
        "targets_submitted",
        "targets_returned",
        "targets_approved",
        "assessment_opened",
        "assessment_submitted",
        "result_delivered",
        "appeal_filed",
        "appeal_filed_hr",
        "explanation_requested",
        "appeal_decided",
        "results_published",
    } <= kinds
