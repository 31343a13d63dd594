"""Evaluations that get no result: HR withdraws them from the cycle (dikecualikan) or marks them
"tidak dinilai", can take either back until publication, and publication covers everyone."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import WithdrawalReason
from app.extensions import db as _db
from app.models import AuditEvent, Evaluation, OutboxMessage
from app.models import EvaluationState as E
from app.services import cockpit
from app.workflow import cycles, evaluations, set_aside
from app.workflow.distribution import distribution, from_snapshot
from tests.test_workflow_services import World, count, refused


@pytest.fixture
def w(make) -> World:
    return World(make)


def unit_of(w: World, cycle=None):
    [unit] = [u for u in distribution(cycle or w.cycle) if u.unit_id == w.org["puskesmas"].id]
    return unit


def to_review(w: World) -> Evaluation:
    """The nurse's self-assessment submitted; the cycle in supervisor review. The colleague wrote nothing."""
    ev = w.submitted_assessment()
    cycles.advance(w.cycle, w.acc("hr"))
    return ev


# ---- withdrawal -------------------------------------------------------------------------------


def test_hr_withdraws_an_evaluation_with_the_reason_and_it_leaves_the_totals(w):
    colleague = w.ev("colleague")
    set_aside.withdraw(colleague, w.acc("hr"), "pensiun", "Pensiun per 1 Februari.")
    assert colleague.state == E.WITHDRAWN
    assert (colleague.set_aside_from, colleague.withdrawal_reason) == (
        E.TARGETS_DRAFT,
        WithdrawalReason.RETIREMENT,
    )
    [event] = _db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "evaluation.withdraw")
    ).all()
    assert event.comment == "Pensiun: Pensiun per 1 Februari." and event.actor_id == w.acc("hr").id
    unit = unit_of(w)
    assert (unit.withdrawn, unit.unrated) == (1, 2)  # the colleague out; the nurse and the head still writing
    refused(
        evaluations.save_rhk, colleague, w.acc("colleague"), {"kind": "main", "text": "RHK baru"}
    )  # nothing to write in a withdrawn evaluation


def test_a_withdrawal_needs_a_known_reason_and_hr(w):
    colleague = w.ev("colleague")
    error = refused(set_aside.withdraw, colleague, w.acc("hr"), "bosan")
    assert "Pilih alasan" in error.errors["reason"]
    refused(set_aside.withdraw, colleague, w.acc("head"), "mutasi", match="tidak berwenang")
    assert colleague.state == E.TARGETS_DRAFT


def test_taken_back_it_returns_to_its_state_and_catches_up_on_the_phases_it_missed(w):
    hr = w.acc("hr")
    nurse = w.approved()  # SKP approved in target setting
    colleague = w.ev("colleague")  # SKP still a draft
    set_aside.withdraw(nurse, hr, "tugas_belajar")
    set_aside.withdraw(colleague, hr, "cltn")
    w.to_self_assessment()  # the bulk steps pass them by
    _db.session.refresh(colleague)
    assert colleague.state == E.WITHDRAWN
    assert set_aside.reinstate(colleague, hr) == E.TARGETS_LOCKED  # as the deadline lock did to drafts
    assert colleague.set_aside_from is None and colleague.withdrawal_reason is None
    cycles.advance(w.cycle, hr)  # to supervisor review
    assert set_aside.reinstate(_db.session.get(Evaluation, nurse.id), hr) == E.ASSESSMENT_LOCKED
    actions = _db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_id == str(nurse.id)).order_by(AuditEvent.id)
    ).all()
    assert actions[-3:] == [
        "evaluation.reinstate",
        "evaluation.open_assessment",
        "evaluation.lock_assessment",
    ]


# ---- tidak dinilai ---------------------------------------------------------------------------


def test_tidak_dinilai_waits_for_the_review_phase_and_needs_a_reason(w):
    hr = w.acc("hr")
    colleague = w.ev("colleague")
    refused(
        set_aside.mark_not_rated,
        colleague,
        hr,
        "Tidak pernah menyusun SKP.",
        match="hanya dapat dilakukan pada tahap",
    )
    to_review(w)
    _db.session.refresh(colleague)
    error = refused(set_aside.mark_not_rated, colleague, hr, "lupa")
    assert "paling sedikit 10 karakter" in error.errors["note"]
    set_aside.mark_not_rated(colleague, hr, "Tidak pernah menyusun SKP sampai tenggat.")
    assert colleague.state == E.NOT_RATED and colleague.set_aside_from == E.TARGETS_LOCKED
    [mail] = _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "not_rated")).all()
    assert mail.recipient_id == w.org["colleague"].id
    assert unit_of(w).not_rated == 1
    assert set_aside.reinstate(colleague, hr) == E.TARGETS_LOCKED


def test_publication_covers_everyone(w):
    hr = w.acc("hr")
    nurse = to_review(w)
    evaluations.review(nurse, w.acc("head"), {"results_rating": "meets", "behaviour_rating": "meets"})
    cycles.advance(w.cycle, hr)
    clock.travel_to(nurse.appeal_until + timedelta(days=1))
    # the colleague, the head and HR's own officer were never reviewed
    refused(cycles.publish, w.cycle, hr, "names", match="3 penilaian belum dinilai atasan")
    set_aside.withdraw(w.ev("hr"), hr, "mutasi", "Pindah ke BKPSDM provinsi.")
    assert set_aside.settled_counts(w.cycle) == {"withdrawn": 1, "not_rated": 0, "unrated": 2}
    marked = set_aside.mark_rest_not_rated(w.cycle, hr, "Tidak dinilai sampai batas tahap penilaian atasan.")
    assert marked == 2
    assert set_aside.settled_counts(w.cycle) == {"withdrawn": 1, "not_rated": 2, "unrated": 0}
    assert count(AuditEvent, AuditEvent.action == "evaluation.mark_not_rated") == 2
    assert {
        m.recipient_id
        for m in _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "not_rated"))
    } == {
        w.org["colleague"].id,
        w.org["head"].id,
    }
    cycles.publish(w.cycle, hr, "names")
    [unit] = [u for u in from_snapshot(w.cycle.published_totals) if u.unit_id == w.org["puskesmas"].id]
    assert (unit.rated, unit.not_rated) == (1, 2)  # the nurse; the colleague and the head
    announced = {
        m.recipient_id
        for m in _db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "results_published")
        )
    }
    assert w.org["hr"].id not in announced and w.org["nurse"].id in announced
    refused(set_aside.reinstate, w.ev("colleague"), hr, match="sudah diumumkan")


def test_marking_the_rest_needs_the_review_phase_and_someone_left(w):
    hr = w.acc("hr")
    refused(
        set_aside.mark_rest_not_rated,
        w.cycle,
        hr,
        "Tidak dinilai sampai batas.",
        match="setelah tahap penilaian atasan",
    )
    to_review(w)
    refused(
        set_aside.mark_rest_not_rated,
        w.cycle,
        w.acc("head"),
        "Tidak dinilai sampai batas.",
        match="Hanya admin",
    )
    set_aside.mark_rest_not_rated(w.cycle, hr, "Tidak dinilai sampai batas.")
    refused(
        set_aside.mark_rest_not_rated, w.cycle, hr, "Tidak dinilai sampai batas.", match="Tidak ada penilaian"
    )
    # taken back for one, then marked again: a second email with the new reason
    set_aside.reinstate(w.ev("colleague"), hr)
    assert set_aside.mark_rest_not_rated(w.cycle, hr, "Tetap tidak dinilai setelah diperiksa ulang.") == 1
    mails = _db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == "not_rated", OutboxMessage.recipient_id == w.org["colleague"].id
        )
    ).all()
    assert len(mails) == 2


def test_the_dashboard_counts_without_the_withdrawn(w):
    before = cockpit.cycle_counts([w.cycle.id], clock.utcnow())[w.cycle.id].total
    set_aside.withdraw(w.ev("colleague"), w.acc("hr"), "meninggal")
    assert cockpit.cycle_counts([w.cycle.id], clock.utcnow())[w.cycle.id].total == before - 1
    [unit] = [u for u in cockpit.unit_progress(w.cycle) if u.unit_id == w.org["puskesmas"].id]
    assert unit.total == 2  # the nurse and the head
