"""Reassignment of raters and appeal handlers (Plt./Plh., mutasi, leavers): the services.

HR moves one evaluation, a selection, or everything a person rates; rights move at once, work
already done keeps its author, everyone concerned is told, a Plh. ends by itself.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db as _db
from app.jobs import DueReport, escalate_appeals, run_due
from app.models import AuditEvent, Comment, Evaluation, OutboxMessage, Reassignment, Role
from app.services import Conflict, Refused, people
from app.workflow import evaluations, reassign
from tests.test_workflow_services import World

REASON = "Plh. selama Kepala Puskesmas cuti besar"


@pytest.fixture
def w(make) -> World:
    return World(make)


@pytest.fixture
def plt(make, w):
    """An official of the kecamatan who will act for the head of the puskesmas."""
    return make.employee("Plt. Kepala Puskesmas", supervisor=w.org["camat"], unit=w.org["kecamatan"])


def rater_of(ev: Evaluation) -> int:
    return _db.session.scalar(sa.select(Evaluation.rater_id).where(Evaluation.id == ev.id))


def outbox(kind: str) -> list[OutboxMessage]:
    return list(_db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)))


def move_team(w, to, until=None, **kwargs):
    return reassign.reassign_all("rater", w.org["head"], to, REASON, until, w.acc("hr"), **kwargs)


# ---- the whole team to a Plt. ------------------------------------------------------------------------


def test_hr_moves_a_heads_whole_team_to_a_plt_and_rights_move_at_once(w, plt):
    nurse = w.submitted_targets("nurse")
    colleague = w.ev("colleague")
    assert reassign.plan("rater", w.org["head"], plt).movable == 2

    assert move_team(w, plt, expected_count=2) == 2

    assert rater_of(nurse) == rater_of(colleague) == plt.id
    with pytest.raises(Refused, match="tidak berwenang"):
        evaluations.approve_targets(_db.session.get(Evaluation, nurse.id), w.acc("head"))
    evaluations.approve_targets(_db.session.get(Evaluation, nurse.id), plt.account)
    assert _db.session.get(Evaluation, nurse.id).state == "targets_approved"


def test_every_moved_evaluation_is_audited_and_recorded(w, plt):
    nurse = w.ev("nurse")
    move_team(w, plt)
    events = _db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "evaluation.reassigned").order_by(AuditEvent.id)
    ).all()
    assert sorted(e.object_id for e in events) == sorted([str(nurse.id), str(w.ev("colleague").id)])
    assert all(e.actor_id == w.acc("hr").id and e.to_state is None for e in events)
    assert events[0].comment.startswith("Pejabat penilai: Kepala Puskesmas → Plt. Kepala Puskesmas")
    assert REASON in events[0].comment
    row = _db.session.scalars(sa.select(Reassignment).where(Reassignment.evaluation_id == nurse.id)).one()
    assert (row.role, row.from_id, row.to_id, row.until, row.ended_at) == (
        "rater",
        w.org["head"].id,
        plt.id,
        None,
        None,
    )


def test_work_already_done_keeps_its_author(w, plt):
    nurse = w.submitted_targets("nurse")
    evaluations.return_targets(nurse, w.acc("head"), "Perjelas target waktu tunggu")
    move_team(w, plt)
    comment = _db.session.scalars(sa.select(Comment).where(Comment.evaluation_id == nurse.id)).one()
    assert comment.author_id == w.acc("head").id
    returned = _db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "evaluation.return_targets")
    ).one()
    assert returned.actor_id == w.acc("head").id


def test_the_employees_and_both_officials_are_told_once_each(w, plt):
    move_team(w, plt)
    told = outbox("reassigned")
    assert sorted(m.recipient_id for m in told) == sorted([w.org["nurse"].id, w.org["colleague"].id])
    assert "Plt. Kepala Puskesmas" in told[0].body_text and REASON in told[0].body_text
    digests = {m.recipient_id: m for m in outbox("reassigned_official")}
    assert set(digests) == {w.org["head"].id, plt.id}
    assert "Perawat Debora" in digests[plt.id].body_text
    assert "menggantikan Kepala Puskesmas" in digests[plt.id].body_text
    assert "tidak lagi menjadi pejabat penilai untuk 2 penilaian" in digests[w.org["head"].id].body_text


def test_a_plt_from_inside_the_team_is_not_given_their_own_evaluation(w):
    nurse, colleague = w.org["nurse"], w.ev("colleague")
    planned = reassign.plan("rater", w.org["head"], nurse)
    assert (planned.movable, planned.own) == (1, 1)
    move_team(w, nurse, expected_count=1)
    assert rater_of(colleague) == nurse.id
    assert rater_of(w.ev("nurse")) == w.org["head"].id


def test_an_evaluation_withdrawn_from_the_cycle_is_neither_moved_nor_held(w, plt):
    withdrawn = w.ev("colleague")
    withdrawn.state = "withdrawn"  # dikecualikan (mutasi keluar, pensiun, ...)
    _db.session.commit()
    assert reassign.plan("rater", w.org["head"], plt).movable == 1
    move_team(w, plt, expected_count=1)
    assert rater_of(withdrawn) == w.org["head"].id
    assert len(outbox("reassigned")) == 1


def test_the_appeal_handler_is_never_made_rater_of_the_same_evaluation(w):
    planned = reassign.plan("rater", w.org["head"], w.org["camat"])
    assert (planned.movable, planned.conflict) == (0, 2)
    with pytest.raises(Refused) as refused:
        move_team(w, w.org["camat"])
    assert "to_nip" in refused.value.errors


def test_refusals_say_why_and_change_nothing(w, plt, make):
    gone = make.employee("Pensiunan", unit=w.org["kecamatan"])
    gone.active = False
    _db.session.commit()
    cases = [
        (dict(to=None), "to_nip"),
        (dict(to=w.org["head"]), "to_nip"),
        (dict(to=gone), "to_nip"),
        (dict(to=plt, reason=" "), "reason"),
        (dict(to=plt, until=clock.utcnow() - timedelta(minutes=1)), "until"),
    ]
    for given, field in cases:
        args = {"reason": REASON, "until": None, **given}
        with pytest.raises(Refused) as refused:
            reassign.reassign_all(
                "rater", w.org["head"], args["to"], args["reason"], args["until"], w.acc("hr")
            )
        assert field in refused.value.errors, given
    with pytest.raises(Refused) as refused:
        reassign.reassign_all("appeal_handler", w.org["nurse"], plt, REASON, None, w.acc("hr"))
    assert "tidak memegang penilaian" in refused.value.errors["from_nip"]
    with pytest.raises(Refused, match="admin kepegawaian"):
        reassign.reassign_all("rater", w.org["head"], plt, REASON, None, w.acc("nurse"))
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Reassignment)) == 0
    assert rater_of(w.ev("nurse")) == w.org["head"].id


def test_a_count_that_changed_since_the_preview_is_a_conflict(w, plt):
    with pytest.raises(Conflict, match="sekarang 2"):
        move_team(w, plt, expected_count=3)
    assert rater_of(w.ev("nurse")) == w.org["head"].id


def test_published_cycles_are_never_moved(w, plt):
    w.cycle.state = "published"
    _db.session.commit()
    with pytest.raises(Refused):
        move_team(w, plt)
    with pytest.raises(Refused, match="diumumkan"):
        reassign.reassign_evaluations(
            [w.ev("nurse")], w.acc("hr"), rater=plt, handler=None, reason=REASON, until=None
        )


# ---- one evaluation, or a selection -------------------------------------------------------------------


def test_one_evaluation_gets_a_new_rater_and_appeal_handler_together(w, plt, make):
    handler = make.employee("Sekretaris Camat", unit=w.org["kecamatan"])
    ev = w.ev("nurse")
    changed = reassign.reassign_evaluations(
        [ev], w.acc("hr"), rater=plt, handler=handler, reason=REASON, until=None, versions={ev.id: ev.version}
    )
    assert changed == 1
    row = _db.session.get(Evaluation, ev.id)
    assert (row.rater_id, row.appeal_handler_id) == (plt.id, handler.id)
    assert rater_of(w.ev("colleague")) == w.org["head"].id
    assert len(outbox("reassigned")) == 1  # one email to the nurse, both changes in it
    body = outbox("reassigned")[0].body_text
    assert "Pejabat penilai Anda sekarang: Plt. Kepala Puskesmas" in body
    assert "Atasan pejabat penilai Anda sekarang: Sekretaris Camat" in body


def test_one_evaluation_refusals(w, plt):
    ev = w.ev("nurse")

    def attempt(**kwargs):
        args = {"rater": None, "handler": None, "reason": REASON, "until": None, **kwargs}
        with pytest.raises(Refused) as refused:
            reassign.reassign_evaluations([ev], w.acc("hr"), **args)
        return refused.value

    assert "rater_nip" in attempt().errors  # nobody named
    assert "dirinya sendiri" in attempt(rater=w.org["nurse"]).errors["rater_nip"]
    assert "sekaligus" in attempt(rater=w.org["camat"]).errors["rater_nip"]
    assert "sekaligus" in attempt(handler=w.org["head"]).errors["handler_nip"]
    assert "tidak ada yang berubah" in attempt(rater=w.org["head"]).errors["rater_nip"]
    assert isinstance(attempt(rater=plt, versions={ev.id: ev.version + 1}), Conflict)
    assert rater_of(ev) == w.org["head"].id


def test_an_escalated_keberatan_goes_to_a_plt_who_decides_it(w, plt):
    ev = w.appealed()
    clock.advance(timedelta(days=15))
    escalate_appeals(DueReport())
    escalation = outbox("appeal_escalated")[0]
    assert f"/reassign/employee/{w.org['nurse'].id}?evaluation={ev.id}" in escalation.body_text
    reassign.reassign_evaluations(
        [_db.session.get(Evaluation, ev.id)], w.acc("hr"), rater=None, handler=plt, reason=REASON, until=None
    )
    data = {"results_rating": "above", "behaviour_rating": "above", "reasons": "Bukti lengkap."}
    with pytest.raises(Refused):
        evaluations.decide_appeal(_db.session.get(Evaluation, ev.id), w.acc("camat"), data)
    evaluations.decide_appeal(_db.session.get(Evaluation, ev.id), plt.account, data)
    assert _db.session.get(Evaluation, ev.id).state == "decided"


# ---- a Plh. ends by itself ---------------------------------------------------------------------------


def test_a_plh_ends_and_the_head_is_back_once_even_when_the_scheduler_was_down(w, plt):
    until = reassign.end_of_day((clock.now() + timedelta(days=10)).date())
    move_team(w, plt, until)
    row = _db.session.scalars(sa.select(Reassignment)).first()
    assert row.back_to_id == w.org["head"].id
    clock.travel_to(until - timedelta(minutes=1))
    assert reassign.end_due() == 0
    assert rater_of(w.ev("nurse")) == plt.id
    clock.travel_to(until + timedelta(days=3))  # nobody ran the job on the day
    assert run_due().returned_after_acting == 2
    assert rater_of(w.ev("nurse")) == rater_of(w.ev("colleague")) == w.org["head"].id
    assert reassign.end_due() == 0  # nothing twice
    assert (
        _db.session.scalar(
            sa.select(sa.func.count()).select_from(Reassignment).where(Reassignment.ended_at.is_(None))
        )
        == 2
    )  # the return itself is the current assignment
    labels = _db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action == "evaluation.reassignment_ended")
    ).all()
    assert len(labels) == 2
    assert len(outbox("reassigned")) == 4  # two employees, told twice each
    back = max(outbox("reassigned"), key=lambda m: m.id).body_text
    assert "Masa tugas Plt. Kepala Puskesmas sebagai Plh. berakhir; pejabat semula kembali." in back
    assert "Pejabat penilai Anda sekarang: Kepala Puskesmas" in back and "Alasan" not in back
    evaluations.approve_targets(w.submitted_targets("nurse"), w.acc("head"))


def test_a_permanent_move_during_a_plh_is_not_undone_when_the_plh_ends(w, plt, make):
    successor = make.employee("Kepala Puskesmas Baru", supervisor=w.org["camat"], unit=w.org["kecamatan"])
    until = reassign.end_of_day((clock.now() + timedelta(days=10)).date())
    move_team(w, plt, until)
    reassign.reassign_all("rater", plt, successor, "Mutasi", None, w.acc("hr"))
    clock.advance(timedelta(days=20))
    assert reassign.end_due() == 0
    assert rater_of(w.ev("nurse")) == successor.id


def test_a_second_plh_gives_the_role_back_to_the_original_head(w, plt, make):
    second = make.employee("Plh. Kedua", supervisor=w.org["camat"], unit=w.org["kecamatan"])
    move_team(w, plt, reassign.end_of_day((clock.now() + timedelta(days=5)).date()))
    reassign.reassign_all(
        "rater",
        plt,
        second,
        REASON,
        reassign.end_of_day((clock.now() + timedelta(days=9)).date()),
        w.acc("hr"),
    )
    rows = _db.session.scalars(sa.select(Reassignment).order_by(Reassignment.id)).all()
    assert [r.ended_at is not None for r in rows] == [True, True, False, False]
    assert {r.back_to_id for r in rows[2:]} == {w.org["head"].id}
    clock.advance(timedelta(days=12))
    assert reassign.end_due() == 2
    assert rater_of(w.ev("nurse")) == w.org["head"].id


def test_a_published_result_keeps_the_plh_who_rated_it(w, plt):
    move_team(w, plt, reassign.end_of_day((clock.now() + timedelta(days=5)).date()))
    w.cycle.state = "published"
    _db.session.commit()
    clock.advance(timedelta(days=10))
    assert reassign.end_due() == 0
    assert rater_of(w.ev("nurse")) == plt.id
    assert (
        _db.session.scalar(
            sa.select(sa.func.count()).select_from(Reassignment).where(Reassignment.ended_at.is_(None))
        )
        == 0
    )


# ---- leavers -------------------------------------------------------------------------------------


def test_someone_still_rating_cannot_be_deactivated_until_their_evaluations_move(w, plt, make):
    head = w.org["head"]
    for member in ("nurse", "colleague"):
        w.org[member].supervisor = plt
    _db.session.commit()
    with pytest.raises(Refused, match="sebagai pejabat penilai: 2"):
        people.set_active(head, False)
    assert head.active
    move_team(w, plt)
    people.set_active(head, False)
    assert not head.active


def test_someone_a_plh_stands_in_for_cannot_be_deactivated_either(w, plt):
    for member in ("nurse", "colleague"):
        w.org[member].supervisor = plt
    _db.session.commit()
    move_team(w, plt, reassign.end_of_day((clock.now() + timedelta(days=5)).date()))
    with pytest.raises(Refused, match="masa Plh. berakhir: 2"):
        people.set_active(w.org["head"], False)


def test_only_hr_may_reassign(w, plt):
    with pytest.raises(Refused):
        reassign.reassign_evaluations(
            [w.ev("nurse")], w.acc("head"), rater=plt, handler=None, reason=REASON, until=None
        )
    assert Role.HR not in w.acc("head").roles


# ---- two at once (PostgreSQL: row locks) -----------------------------------------------------------


@pytest.mark.postgres_only
def test_two_hr_officers_confirming_the_same_move_at_once_move_it_once(app, db, w, plt):
    from app.models import Account, Employee
    from tests.workflow_helpers import run_at_once

    head_id, plt_id, hr_id = w.org["head"].id, plt.id, w.acc("hr").id

    def confirm():
        head, to = db.session.get(Employee, head_id), db.session.get(Employee, plt_id)
        hr = db.session.get(Account, hr_id)
        reassign.reassign_all("rater", head, to, REASON, None, hr, expected_count=2)

    errors = run_at_once(app, db, confirm)
    assert len(errors) <= 1 and all(isinstance(e, Refused) for e in errors)  # told, or too late
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reassignment)) == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "evaluation.reassigned")
        )
        == 2
    )
    assert len(outbox("reassigned")) == 2


@pytest.mark.postgres_only
def test_two_schedulers_ending_the_same_plh_give_the_role_back_once(app, db, w, plt):
    from tests.workflow_helpers import run_at_once

    move_team(w, plt, reassign.end_of_day((clock.now() + timedelta(days=5)).date()))
    clock.advance(timedelta(days=10))
    returned = []
    assert run_at_once(app, db, lambda: returned.append(reassign.end_due())) == []
    assert sorted(returned) == [0, 2]
    db.session.expire_all()
    assert rater_of(w.ev("nurse")) == w.org["head"].id
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "evaluation.reassignment_ended")
        )
        == 2
    )
