"""Who must act on what (app/services/tasks.py, home.py) at each step of a cycle, for each role, and the
home page and lists that show it."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.domain import WithdrawalReason
from app.jobs import run_due
from app.jobs.reminders import send_reminders
from app.models import Account, Evaluation, EvaluationState, OutboxMessage
from app.services import home, tasks
from app.workflow import cycles, evaluations, set_aside
from app.workflow.definitions import OWN_PHASE
from tests.conftest import login, post_form
from tests.workflow_helpers import agency, open_annual, write_skp


def evaluation_of(db, cycle, person) -> Evaluation:
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == person.id)
    )


def todo(person) -> list[tuple[str, str | None]]:
    """(kind, person concerned) of everything waiting for `person`, in the order the home lists it."""
    return [(t.kind, t.person) for t in home.for_account(person.account).tasks]


def submitted(org, cycle, db, who="nurse"):
    ev = evaluation_of(db, cycle, org[who])
    write_skp(ev, org[who])
    evaluations.submit_targets(ev, org[who].account)
    return ev


def test_target_setting_write_submit_return_fix_approve(make, db):
    org = agency(make)
    cycle = open_annual(org)
    nurse, head = org["nurse"], org["head"]

    [write] = home.for_account(nurse.account).tasks
    assert (write.kind, write.action, write.anchor) == ("write_skp", "Susun dan ajukan SKP", "skp")
    assert write.deadline == cycle.target_deadline and write.days_left == 25
    assert write.note == "diajukan kepada Kepala Puskesmas"
    assert todo(head) == [("write_skp", None)]  # his own SKP; nothing of his team's yet
    [journey] = home.for_account(nurse.account).journeys
    assert [s.status for s in journey.steps] == ["current", "todo", "todo", "todo", "todo"]
    assert "ajukan SKP kepada Kepala Puskesmas" in journey.next

    ev = submitted(org, cycle, db)
    assert todo(nurse) == []
    assert "Menunggu Kepala Puskesmas menetapkan SKP Anda" in home.for_account(nurse.account).journeys[0].next
    shown = home.for_account(head.account)
    assert [(t.kind, t.person) for t in shown.tasks] == [
        ("approve_skp", "Perawat Debora"),
        ("write_skp", None),
    ]
    assert shown.team_counts == {"waiting": 1, "late": 0, "rest": 1}
    assert [(r.employee, r.group) for r in shown.team] == [
        ("Perawat Debora", "waiting"),
        ("Perawat Rabiatul", "rest"),
    ]

    evaluations.return_targets(ev, head.account, "Indikator kedua belum terukur.")
    [fix] = home.for_account(nurse.account).tasks
    assert (fix.kind, fix.anchor) == ("fix_skp", "returned")
    assert fix.action == "Perbaiki SKP yang dikembalikan, lalu ajukan lagi"
    assert "dikembalikan oleh Kepala Puskesmas" in home.for_account(nurse.account).journeys[0].next
    assert ("approve_skp", "Perawat Debora") not in todo(head)

    evaluations.submit_targets(ev, nurse.account)
    evaluations.approve_targets(ev, head.account)
    assert todo(nurse) == []
    journey = home.for_account(nurse.account).journeys[0]
    assert [s.status for s in journey.steps] == ["done", "next", "todo", "todo", "todo"]
    assert journey.deadline is None and "sudah ditetapkan" in journey.next
    nurse_row = next(r for r in home.for_account(head.account).team if r.employee == "Perawat Debora")
    assert (nurse_row.group, nurse_row.deadline) == ("rest", None)  # her step of this phase is done
    [progress] = home.for_account(org["hr"].account).cycles
    assert (progress.done, progress.total, progress.late) == (1, 4, 0)


def test_after_the_target_deadline_late_members_and_the_overdue_count(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    submitted(org, cycle, db)
    clock.travel_to(cycle.target_deadline + timedelta(hours=2))
    colleague, head, hr = org["colleague"], org["head"], org["hr"]

    [extension] = home.for_account(colleague.account).tasks
    assert extension.kind == "extension" and extension.overdue and extension.days_left == 0
    [late] = home.for_account(colleague.account).journeys
    assert late.next.startswith("Tenggat sudah lewat dan SKP belum diajukan. Minta perpanjangan")
    shown = home.for_account(head.account)
    assert shown.team_counts == {"waiting": 1, "late": 1, "rest": 0}
    assert [(r.employee, r.group) for r in shown.team] == [
        ("Perawat Debora", "waiting"),
        ("Perawat Rabiatul", "late"),
    ]
    hr_home = home.for_account(hr.account)
    overdue = next(t for t in hr_home.tasks if t.kind == "overdue")
    # Late: the colleague, the head, the HR officer (drafts) and the nurse's SKP still unapproved.
    assert overdue.person == "4 pegawai" and hr_home.cycles[0].late == 4
    assert ("advance", None) in [(t.kind, t.person) for t in hr_home.tasks]
    login(client, hr.nip)
    listed = client.get(f"/cycles/{cycle.id}/overdue").get_data(as_text=True)
    assert all(
        name in listed for name in ("Perawat Debora", "Perawat Rabiatul", "Kepala Puskesmas", "Petugas HR")
    )

    run_due()  # the drafts are locked now; nothing changes in who is late
    assert home.for_account(hr.account).cycles[0].late == 4
    ev = evaluation_of(db, cycle, colleague)
    until = cycle.target_deadline + timedelta(days=3)
    cycles.extend_one(ev, hr.account, until, "Sakit")
    [write] = home.for_account(colleague.account).tasks
    assert write.kind == "write_skp" and write.deadline == until and write.days_left == 3
    assert "ajukan SKP kepada Kepala Puskesmas" in home.for_account(colleague.account).journeys[0].next
    assert home.for_account(hr.account).cycles[0].late == 3


def reviewed(org, cycle, db):
    ev = submitted(org, cycle, db)
    evaluations.approve_targets(ev, org["head"].account)
    clock.travel_to(cycle.target_deadline + timedelta(days=1))
    cycles.advance(cycle, org["hr"].account)
    db.session.expire_all()
    ev = evaluation_of(db, cycle, org["nurse"])
    [write] = home.for_account(org["nurse"].account).tasks
    assert (write.kind, write.deadline) == ("write_assessment", cycle.assessment_deadline)
    journey = home.for_account(org["nurse"].account).journeys[0]
    assert [s.status for s in journey.steps] == ["done", "current", "todo", "todo", "todo"]
    for indicator in ev.indicators:
        evaluations.save_realisation(ev, org["nurse"].account, indicator, "50", None)
    evaluations.submit_assessment(ev, org["nurse"].account)
    review = next(t for t in home.for_account(org["head"].account).tasks if t.kind == "review")
    # Reviewable during the self-assessment phase already, due by the review deadline.
    assert (review.person, review.deadline, review.anchor) == (
        "Perawat Debora",
        cycle.review_deadline,
        "review",
    )
    evaluations.review(ev, org["head"].account, {"results_rating": "meets", "behaviour_rating": "meets"})
    return ev


def test_result_keberatan_explanations_and_decision(make, db):
    org = agency(make)
    cycle = open_annual(org)
    nurse, head, camat, hr = org["nurse"], org["head"], org["camat"], org["hr"]
    ev = reviewed(org, cycle, db)
    [result] = home.for_account(nurse.account).tasks
    assert (result.kind, result.deadline) == ("result", ev.appeal_until)
    journey = home.for_account(nurse.account).journeys[0]
    assert [s.status for s in journey.steps] == ["done", "done", "done", "current", "todo"]

    evaluations.file_appeal(ev, nurse.account, "Realisasi saya melampaui target.")
    assert todo(nurse) == []
    shown = home.for_account(camat.account)
    [decide] = shown.appeals
    assert (decide.kind, decide.person, decide.deadline) == (
        "decide_appeal",
        "Perawat Debora",
        ev.appeal.decide_by,
    )
    assert ("decide_appeal", "Perawat Debora") in todo(camat)

    evaluations.appeal_comment(ev, camat.account, "Mohon dasar rating hasil kerja.", "rater")
    assert ("explain", "Perawat Debora") in todo(head)
    assert ("explain", "Perawat Debora") not in todo(nurse)  # asked of the rater only
    assert ("answer_received", "Perawat Debora") not in todo(camat)
    evaluations.appeal_comment(ev, head.account, "Dua indikator di bawah target.")
    assert ("explain", "Perawat Debora") not in todo(head)
    assert ("answer_received", "Perawat Debora") in todo(camat)
    evaluations.appeal_comment(ev, camat.account, "Lampirkan datanya.", "rater")
    assert ("answer_received", "Perawat Debora") not in todo(camat)
    assert ("explain", "Perawat Debora") in todo(head)

    clock.travel_to(ev.appeal.decide_by + timedelta(hours=1))
    run_due()
    escalated = [t for t in home.for_account(hr.account).tasks if t.kind == "escalated"]
    assert [(t.person, t.anchor) for t in escalated] == [("Perawat Debora", "keberatan")]
    assert home.for_account(hr.account).cycles[0].escalated == 1

    evaluations.decide_appeal(
        ev, camat.account, {"results_rating": "meets", "behaviour_rating": "meets", "reasons": "Sesuai data."}
    )
    assert [t for t in todo(camat) if t[1] == "Perawat Debora"] == []
    assert [t for t in todo(head) if t[0] == "explain"] == []
    assert "sudah diputus" in home.for_account(nurse.account).journeys[0].next


def test_reminders_go_to_the_people_whose_home_lists_the_duty(make, db):
    org = agency(make)
    cycle = open_annual(org)
    submitted(org, cycle, db)
    day = (cycle.target_deadline.astimezone(clock.tz()) - timedelta(days=3)).replace(hour=12, minute=0)
    clock.travel_to(day)
    send_reminders()
    reminded = set(
        db.session.scalars(
            sa.select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "reminder_digest")
        )
    )
    accounts = db.session.scalars(sa.select(Account).where(Account.employee_id.is_not(None))).all()
    owing = {a.employee_id for a in accounts if any(t.kind in tasks.DUTY for t in home.for_account(a).tasks)}
    assert reminded == owing == {org["colleague"].id, org["head"].id, org["hr"].id}


def test_own_phases_agree_with_the_workflow():
    assert {str(k): str(v) for k, v in tasks.OWN_PHASE.items()} == {
        str(k): str(v) for k, v in OWN_PHASE.items()
    }


# ---- the pages -----------------------------------------------------------------------------------------


def page(client, url="/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_home_without_a_running_cycle_says_what_happens_next(make, client):
    employee = make.employee("Siti Aminah")
    login(client, employee.nip)
    html = page(client)
    assert "Perlu tindakan Anda" in html and "Tidak ada yang perlu Anda kerjakan saat ini." in html
    assert "Belum ada periode penilaian yang berjalan." in html


def test_hr_home_without_a_cycle_offers_to_create_one(hr, client):
    login(client, hr.nip)
    html = page(client)
    assert 'id="no-running-cycle"' in html and 'href="/cycles/new"' in html


def test_nurse_home_links_straight_to_the_form_with_the_deadline_in_wib(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    ev = evaluation_of(db, cycle, org["nurse"])
    login(client, org["nurse"].nip)
    html = page(client)
    tasks_html = html[html.index('id="tasks"') : html.index('id="my-cycle"')]
    assert f'href="/evaluations/{ev.id}#skp">Susun dan ajukan SKP</a>' in tasks_html
    deadline = cycle.target_deadline.astimezone(clock.tz())
    assert f"{deadline.day} Jan 2027 {deadline:%H.%M} WIB" in tasks_html and "25 hari lagi" in tasks_html
    assert 'aria-current="step"' in html and "1. Penyusunan SKP" in html


def test_rater_home_lists_waiting_before_the_rest_with_counts(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    ev = submitted(org, cycle, db, who="colleague")
    login(client, org["head"].nip)
    html = page(client)
    tasks_html = html[html.index('id="tasks"') : html.index('id="my-cycle"')]
    first = re.search(r'<a class="fw-semibold" href="([^"]+)">([^<]+)</a>', tasks_html)
    assert first.groups() == (f"/evaluations/{ev.id}#rater-targets", "Tetapkan atau kembalikan SKP")
    queue = html[html.index('id="team-queue"') :]
    assert queue.index("Perawat Rabiatul") < queue.index('id="team-rest"') < queue.index("Perawat Debora")
    counts = re.sub(r"\s+", " ", queue[queue.index('id="team-counts"') : queue.index("</ul>")])
    assert ">1</span> menunggu tindakan Anda" in counts and ">1</span> lainnya" in counts


def test_the_skp_list_filters_and_sorts_by_needs_my_action(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    waiting = submitted(org, cycle, db, who="colleague")
    other = evaluation_of(db, cycle, org["nurse"])
    login(client, org["head"].nip)
    team = page(client, "/evaluations/")
    team = team[team.index('id="team-evaluations"') :]
    assert team.index(f"/evaluations/{waiting.id}") < team.index(f"/evaluations/{other.id}")
    only = page(client, "/evaluations/?perlu=1")
    assert f"/evaluations/{waiting.id}" in only and f"/evaluations/{other.id}" not in only
    assert "perlu tindakan Anda" in only


def test_an_explanation_request_is_on_the_askeds_home(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    ev = reviewed(org, cycle, db)
    evaluations.file_appeal(ev, org["nurse"].account, "Realisasi saya melampaui target.")
    login(client, org["camat"].nip)
    post_form(
        client,
        f"/evaluations/{ev.id}/appeal/comment",
        {"body": "Mohon penjelasan Anda.", "addressed_to": "employee", "version": ev.version},
        token_from=f"/evaluations/{ev.id}",
    )
    nurse = signed_in(client.application, org["nurse"].nip)
    html = page(nurse)
    assert (
        f'href="/evaluations/{ev.id}#appeal-thread-form">Beri penjelasan yang diminta atas keberatan</a>'
        in html
    )
    assert EvaluationState(db.session.get(Evaluation, ev.id).state) == EvaluationState.APPEALED


def signed_in(app, nip):
    """A second browser, signed in."""
    client = app.test_client()
    login(client, nip)
    return client


def test_someone_outside_the_running_cycle_is_told_so(make, client):
    org = agency(make)
    open_annual(org)
    login(client, org["camat"].nip)  # no rater inside the agency: not covered
    html = page(client)
    assert "Anda tidak dinilai dalam periode yang sedang berjalan." in html
    assert "Belum ada periode penilaian yang berjalan." not in html


def test_a_name_ending_in_a_title_is_not_followed_by_a_second_full_stop(make, db):
    org = agency(make)
    org["head"].name = "Berto Tuah Nahan, S.STP, M.AP."
    db.session.commit()
    cycle = open_annual(org)
    submitted(org, cycle, db)
    texts = [j.next for j in home.for_account(org["nurse"].account).journeys]
    assert texts and not any(".." in text for text in texts)


def text(html: str) -> str:
    """A page's words as a person reads them."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_locked_skp_on_the_homes_says_whether_hr_closed_the_phase_or_the_deadline_passed(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    ev = evaluation_of(db, cycle, org["nurse"])
    clock.travel_to(clock.now() + timedelta(days=3))  # long before the target deadline
    cycles.advance(cycle, org["hr"].account)
    login(client, org["nurse"].nip)
    mine = text(page(client))
    assert "SKP terkunci — tahap ditutup HR" in mine and "Terkunci, tahap ditutup HR" in mine
    assert "menutup tahap penyusunan SKP sebelum tenggatnya" in mine
    assert "Tahap ditutup HR: minta perpanjangan kepada admin kepegawaian" in mine
    assert "lewat tenggat" not in mine.lower().replace("tidak ada yang lewat tenggat", "")
    head = signed_in(client.application, org["head"].nip)
    team = text(page(head))
    assert "Perawat Debora SKP terkunci — tahap ditutup HR" in team

    # The SKP deadline passes with her extension unused: the next lock is the deadline's.
    cycles.reopen(cycle, org["hr"].account, cycle.target_deadline + timedelta(days=1))
    db.session.refresh(ev)
    assert ev.state == EvaluationState.TARGETS_DRAFT
    clock.travel_to(cycle.target_deadline + timedelta(days=2))
    cycles.advance(cycle, org["hr"].account)
    db.session.refresh(ev)
    assert ev.state == EvaluationState.TARGETS_LOCKED
    mine = text(page(client))
    assert "SKP terkunci — lewat tenggat" in mine and "Terkunci, tenggat lewat" in mine
    assert "Tenggat lewat: minta perpanjangan kepada admin kepegawaian" in mine
    assert "ditutup HR" not in mine
    assert "Perawat Debora SKP terkunci — lewat tenggat" in text(page(head))


def test_the_team_page_filters_the_members_whose_skp_waits_for_me(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    waiting = submitted(org, cycle, db, who="colleague")
    login(client, org["head"].nip)
    everyone = page(client, "/people/team")
    assert "Perawat Debora" in everyone and "Perawat Rabiatul" in everyone
    assert f'href="/evaluations/{waiting.id}">Buka SKP</a>' in everyone
    assert "Perlu tindakan saya (1)" in everyone
    only = page(client, "/people/team?perlu=1")
    assert "Perawat Rabiatul" in only and "Perawat Debora" not in only
    assert 'aria-current="page">Perlu tindakan saya (1)' in only

    evaluations.approve_targets(waiting, org["head"].account)
    none = text(page(client, "/people/team?perlu=1"))
    assert "Tidak ada anggota tim yang SKP-nya menunggu tindakan Anda." in none
    assert "Perawat Rabiatul" not in none
    camat = signed_in(client.application, org["camat"].nip)
    assert "Kepala Puskesmas" not in page(camat, "/people/team?perlu=1")  # his SKP waits for nobody


def test_a_set_aside_evaluation_says_what_happened_on_the_home(make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    set_aside.withdraw(evaluation_of(db, cycle, org["nurse"]), org["hr"].account, WithdrawalReason.TRANSFER)
    login(client, org["nurse"].nip)
    mine = text(page(client))
    assert "Anda dikecualikan dari periode ini oleh admin kepegawaian" in mine
    assert "Tahap periode" not in page(client)  # no phase steps left to walk
    head = signed_in(client.application, org["head"].nip)
    assert "Perawat Debora Dikecualikan" in text(page(head))

    clock.travel_to(cycle.review_deadline - timedelta(days=1))
    cycles.advance(cycle, org["hr"].account)
    cycles.advance(cycle, org["hr"].account)
    ev = evaluation_of(db, cycle, org["colleague"])
    set_aside.mark_not_rated(ev, org["hr"].account, "Tidak menyusun SKP sepanjang tahun.")
    colleague = signed_in(client.application, org["colleague"].nip)
    assert "Admin kepegawaian menandai Anda tidak dinilai dalam periode ini" in text(page(colleague))
