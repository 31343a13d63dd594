"""The demo agency Kecamatan Rakumpit: plausible data, a sound hierarchy, its two annual cycles
(last year's closed, this year's in target setting), and a safe re-run."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import clock
from app.demo import ADMIN_EMAIL, EMAIL_DOMAIN, EMPLOYEES, load_demo
from app.demo_cycles import office_after, office_moments, story
from app.models import (
    Account,
    AccountRole,
    Appeal,
    AppealOutcome,
    AuditEvent,
    Comment,
    Cycle,
    CycleState,
    Employee,
    EmploymentType,
    Evaluation,
    EvaluationState,
    FeedbackRecord,
    Indicator,
    OrgUnit,
    OutboxMessage,
    Position,
    PositionKind,
    ProgressEntry,
    Rhk,
    Role,
)
from app.nip import nip_problem
from app.services.accounts import authenticate, hash_password

HEALTH_STAFF = ("Dokter", "Perawat", "Bidan")


def count(db, model) -> int:
    """Rows in the table of `model`."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def employees(db) -> list[Employee]:
    """Every employee."""
    return list(db.session.scalars(sa.select(Employee)))


def by_position(db, name: str) -> list[Employee]:
    """The employees holding the position `name`."""
    return list(db.session.scalars(sa.select(Employee).join(Position).where(Position.name == name)))


def test_the_demo_agency_has_about_forty_employees_with_valid_nips(app, db):
    """Every NIP passes the validator and its PPPK code matches the employment type."""
    load_demo(with_cycles=False)
    people = employees(db)
    assert 35 <= len(people) <= 45
    for employee in people:
        assert nip_problem(employee.nip, employee.employment_type.value) is None, employee.name
        is_pppk = employee.nip[12:14] == "21"
        assert (employee.employment_type == EmploymentType.PPPK) == is_pppk, employee.name
    assert sum(e.employment_type == EmploymentType.PPPK for e in people) >= 5


def test_nips_and_emails_are_unique_lowercase_ascii(app, db):
    """NIPs and e-mails are unique; e-mails are lowercase ASCII on the agency domain."""
    load_demo(with_cycles=False)
    people = employees(db)
    assert len({e.nip for e in people}) == len(people)
    assert len({e.email for e in people}) == len(people)
    for employee in people:
        assert employee.email.isascii() and employee.email == employee.email.lower()
        assert employee.email.endswith("@" + EMAIL_DOMAIN)


def test_pppk_hold_no_structural_post(app, db):
    """PPPK employees hold functional or pelaksana posts only."""
    load_demo(with_cycles=False)
    structural = {PositionKind.ADMINISTRATOR, PositionKind.PENGAWAS, PositionKind.JPT}
    for employee in employees(db):
        if employee.employment_type == EmploymentType.PPPK:
            assert employee.position.kind not in structural, employee.name


def test_only_the_camat_has_no_supervisor_and_there_are_no_loops(app, db):
    """Every supervisor chain ends at the camat, who has no rater."""
    load_demo(with_cycles=False)
    [camat] = by_position(db, "Camat")
    assert camat.supervisor is None
    people = employees(db)
    assert [e for e in people if e.supervisor is None] == [camat]
    for employee in people:
        seen = set()
        while employee.supervisor is not None:
            assert employee.id not in seen, f"supervisor loop at {employee.name}"
            seen.add(employee.id)
            employee = employee.supervisor
        assert employee == camat


def test_kecamatan_heads_report_to_the_camat_and_staff_to_their_heads(app, db):
    """Sekcam, kasi and lurah report to the camat; staff to a head in their own unit."""
    load_demo(with_cycles=False)
    [camat] = by_position(db, "Camat")
    [sekcam] = by_position(db, "Sekretaris Camat")
    [kasubbag] = by_position(db, "Kepala Subbagian Umum dan Kepegawaian")
    assert sekcam.supervisor == camat
    assert kasubbag.supervisor == sekcam
    for employee in employees(db):
        if employee.position.name.startswith("Kepala Seksi") or employee.position.name == "Lurah":
            assert employee.supervisor == camat, employee.name
            assert employee.subordinates, f"{employee.name} has no staff"
        if employee.position.kind == PositionKind.PELAKSANA:
            assert employee.supervisor.unit == employee.unit, employee.name


def test_health_staff_report_to_the_puskesmas_head_who_reports_to_the_camat(app, db):
    """Doctors, nurses and midwives are rated by the head, appeals go to the camat."""
    load_demo(with_cycles=False)
    [camat] = by_position(db, "Camat")
    [head] = by_position(db, "Kepala Puskesmas")
    assert head.supervisor == camat
    assert head.unit.name == "Puskesmas Rakumpit"
    health = [e for e in employees(db) if e.position.name.startswith(HEALTH_STAFF)]
    assert len(health) >= 6
    for employee in health:
        assert employee.supervisor == head, employee.name
        assert employee.unit == head.unit


def test_the_walkthrough_nurse_has_nurse_and_midwife_colleagues(app, db):
    """The walkthrough nurse is a woman with at least two colleagues under the same head."""
    logins = {login.role: login for login in load_demo(with_cycles=False)}
    nurse = db.session.scalar(sa.select(Employee).where(Employee.nip == logins["Perawat"].login))
    assert nurse.position.name.startswith("Perawat")
    assert nurse.nip[14] == "2"  # she
    colleagues = [
        e
        for e in nurse.supervisor.subordinates
        if e != nurse and e.position.name.startswith(("Perawat", "Bidan"))
    ]
    assert len(colleagues) >= 2
    colleague = logins["Perawat (rekan kerja)"].login
    assert colleague in {e.nip for e in colleagues}


def test_the_unit_tree_runs_from_the_city_to_the_sections(app, db):
    """Pemerintah Kota > Kecamatan > sections, kelurahan and the puskesmas."""
    load_demo(with_cycles=False)
    kecamatan = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "RKP"))
    assert kecamatan.parent.name == "Pemerintah Kota Palangka Raya"
    assert kecamatan.parent.parent is None
    children = {unit.name for unit in kecamatan.children}
    assert {"Seksi Pemerintahan", "Puskesmas Rakumpit", "Kelurahan Mungku Baru"} <= children


def test_accounts_roles_hr_and_admin(app, db):
    """Everyone has an employee account; one HR officer; the admin has no employee record."""
    load_demo(with_cycles=False)
    accounts = list(db.session.scalars(sa.select(Account)))
    assert len(accounts) == count(db, Employee) + 1
    assert not any(account.must_change_password for account in accounts)
    hr = [a for a in accounts if a.has_role(Role.HR)]
    assert len(hr) == 1
    assert hr[0].roles == {Role.EMPLOYEE, Role.HR}
    assert hr[0].employee.unit.name == "Subbagian Umum dan Kepegawaian"
    admin = db.session.scalar(sa.select(Account).where(Account.email == ADMIN_EMAIL))
    assert admin.roles == {Role.ADMIN}
    assert admin.employee is None
    others = [a for a in accounts if a not in hr and a != admin]
    assert all(a.roles == {Role.EMPLOYEE} and a.employee is not None for a in others)


def test_the_returned_logins_sign_in(app, db):
    """Each printed login signs in with the printed password."""
    logins = load_demo(with_cycles=False)
    assert {"Admin kepegawaian (HR)", "Administrator sistem", "Camat", "Kepala Puskesmas", "Perawat"} <= {
        login.role for login in logins
    }
    for login in logins:
        account = authenticate(login.login, login.password)
        assert account is not None, login.role
        assert account.name == login.name


def test_loading_twice_changes_nothing(app, db):
    """A second run creates nothing, audits nothing and returns the same logins."""
    first = load_demo()
    models = (
        OrgUnit,
        Position,
        Employee,
        Account,
        AccountRole,
        AuditEvent,
        Cycle,
        Evaluation,
        Rhk,
        Indicator,
        Comment,
        Appeal,
        OutboxMessage,
    )
    before = {model: count(db, model) for model in models}
    second = load_demo()
    assert second == first
    assert {model: count(db, model) for model in models} == before
    loaded = sa.select(AuditEvent).where(AuditEvent.action == "demo.loaded")
    event = db.session.scalars(loaded).one()
    assert event.data == {
        "units": before[OrgUnit],
        "positions": before[Position],
        "employees": len(EMPLOYEES),
        "accounts": len(EMPLOYEES) + 1,
    }


def test_a_rerun_completes_missing_accounts_and_keeps_changed_passwords(app, db):
    """A re-run only adds what is missing and never resets a changed password."""
    logins = load_demo(with_cycles=False)
    nurse_nip = next(login.login for login in logins if login.role == "Perawat")
    nurse = db.session.scalar(sa.select(Employee).where(Employee.nip == nurse_nip))
    nurse.account.password_hash = hash_password("kata-sandi-baru")
    camat = by_position(db, "Camat")[0]
    db.session.delete(camat.account)
    db.session.commit()

    load_demo(with_cycles=False)
    assert authenticate(nurse_nip, "kata-sandi-baru") is not None
    assert camat.account is not None
    assert count(db, Account) == count(db, Employee) + 1
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "demo.loaded"))
    assert [e.data["accounts"] for e in events] == [len(EMPLOYEES) + 1, 1]


def test_the_demo_password_can_come_from_the_environment(app, db, monkeypatch):
    """DEMO_PASSWORD in the environment replaces the built-in demo password."""
    monkeypatch.setenv("DEMO_PASSWORD", "coba-sandi-lain")
    logins = load_demo(with_cycles=False)
    assert {login.password for login in logins} == {"coba-sandi-lain"}
    assert authenticate(logins[0].login, "coba-sandi-lain") is not None


# ---- the two annual cycles ----------------------------------------------------------------------

WIB = ZoneInfo("Asia/Jakarta")
TODAY = datetime(2026, 11, 30, 10, 0, tzinfo=WIB)  # a Monday
PERSON = {person.key: person for person in EMPLOYEES}


def load_on(moment: datetime):
    """Load the demo with the clock frozen at `moment`; the logins by role."""
    clock.travel_to(moment)
    return {login.role: login for login in load_demo()}


def cycle_of(db, year: int) -> Cycle:
    """The demo cycle of that year."""
    return db.session.scalars(sa.select(Cycle).where(Cycle.year == year)).one()


def evaluation_of(db, cycle: Cycle, nip: str) -> Evaluation:
    """Someone's evaluation in the cycle, by NIP."""
    return db.session.scalars(
        sa.select(Evaluation)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .where(Evaluation.cycle_id == cycle.id, Employee.nip == nip)
    ).one()


def test_last_years_cycle_is_closed_with_results_published_and_one_keberatan_decided(app, db):
    """Every SKP approved, assessed, reviewed with feedback, announced with names; the camat
    decided the one keberatan after asking the rater; everything happened last year, in order."""
    logins = load_on(TODAY)
    cycle = cycle_of(db, 2025)
    assert cycle.name == "SKP Tahunan 2025"
    assert cycle.state == CycleState.CLOSED
    assert cycle.publication_mode.value == "names"
    assert cycle.published_at < cycle.closed_at < datetime(2026, 1, 1, tzinfo=WIB)
    deadlines = (
        cycle.target_deadline,
        cycle.assessment_deadline,
        cycle.review_deadline,
        cycle.appeal_deadline,
    )
    assert all(deadline.year == 2025 for deadline in deadlines)
    evaluations = db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id)).all()
    assert len(evaluations) == sum(1 for person in EMPLOYEES if person.supervisor)
    assert {e.state for e in evaluations} == {EvaluationState.PUBLISHED}
    for evaluation in evaluations:
        assert evaluation.predikat is not None and evaluation.review_summary
        assert all(i.realisation is not None and i.feedback for i in evaluation.indicators)
        assert all(note.feedback for note in evaluation.behaviour)
    assert len({e.predikat for e in evaluations}) >= 3  # not everyone Baik
    assert cycle.published_totals["names"] == len(evaluations)

    [appeal] = db.session.scalars(sa.select(Appeal)).all()
    camat = db.session.scalars(sa.select(Employee).where(Employee.nip == logins["Camat"].login)).one()
    assert appeal.evaluation.cycle == cycle
    assert appeal.decided_by_id == camat.id == appeal.evaluation.appeal_handler_id
    assert appeal.outcome is AppealOutcome.CHANGED
    assert appeal.filed_at < appeal.decided_at < cycle.published_at
    thread = [c for c in appeal.evaluation.comments if c.topic == "appeal"]
    assert [c.author.employee for c in thread] == [camat, appeal.evaluation.rater]
    decided = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "evaluation.decide_appeal")
    ).one()
    assert decided.actor.employee == camat and decided.occurred_at == appeal.decided_at
    # Everyone was told, as in real life: results, the decision to both sides, the announcement.
    kinds = dict(
        db.session.execute(sa.select(OutboxMessage.kind, sa.func.count()).group_by(OutboxMessage.kind)).all()
    )
    assert kinds["result_delivered"] == kinds["results_published"] == len(evaluations)
    assert kinds["appeal_decided"] == 2
    # The story happened in time order, on weekdays in office hours (a submission a few minutes
    # after 16:00 at most), done by HR and the people themselves.
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action != "demo.loaded").order_by(AuditEvent.id)
    ).all()
    moments = [event.occurred_at for event in events]
    assert moments == sorted(moments)
    for moment in moments:
        local = moment.astimezone(WIB)
        assert local.weekday() < 5 and 8 <= local.hour < 17, local
    acted = {e.action for e in events if e.actor_id is not None}
    assert {
        "evaluation.submit_targets",
        "evaluation.review",
        "evaluation.file_appeal",
        "cycle.publish",
    } <= acted


def test_this_years_cycle_has_skps_in_every_state_and_work_for_each_login(app, db):
    """Drafted, submitted, returned with a comment and approved SKPs, before a deadline ahead;
    each printed sign-in has something to do."""
    logins = load_on(TODAY)
    cycle = cycle_of(db, 2026)
    assert cycle.state == CycleState.TARGET_SETTING
    assert TODAY - timedelta(days=10) < cycle.opened_at < TODAY < cycle.target_deadline
    assert cycle.target_deadline < TODAY + timedelta(days=14)
    evaluations = db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id)).all()

    def returned(evaluation):
        return any(comment.topic == "targets" for comment in evaluation.comments)

    drafts = [e for e in evaluations if e.state == EvaluationState.TARGETS_DRAFT]
    assert [e for e in drafts if e.rhks and not returned(e)], "a draft in progress"
    assert [e for e in drafts if returned(e)], "an SKP returned with a comment"
    assert [e for e in drafts if not e.rhks], "someone not started"
    states = {e.state for e in evaluations}
    assert {EvaluationState.TARGETS_SUBMITTED, EvaluationState.TARGETS_APPROVED} <= states

    def mine(role):
        return evaluation_of(db, cycle, logins[role].login)

    def waiting_for(role):
        me = db.session.scalars(sa.select(Employee).where(Employee.nip == logins[role].login)).one()
        return [
            e for e in evaluations if e.rater_id == me.id and e.state == EvaluationState.TARGETS_SUBMITTED
        ]

    nurse = mine("Perawat")
    assert nurse.state == EvaluationState.TARGETS_DRAFT and returned(nurse)
    assert nurse.comments[-1].author.employee == nurse.rater
    colleague = mine("Perawat (rekan kerja)")
    assert colleague.state == EvaluationState.TARGETS_DRAFT and colleague.rhks and not returned(colleague)
    assert len(waiting_for("Kepala Puskesmas")) >= 3
    assert len(waiting_for("Camat")) >= 2
    assert waiting_for("Kepala Seksi")
    assert mine("Kepala Puskesmas").state == EvaluationState.TARGETS_SUBMITTED
    assert mine("Admin kepegawaian (HR)").state == EvaluationState.TARGETS_APPROVED
    # Everything the story did happened before now, with the clock as it was when it started.
    assert clock.now() == TODAY
    latest = db.session.scalar(sa.select(sa.func.max(AuditEvent.occurred_at)))
    assert latest <= TODAY


def test_dates_follow_the_day_of_the_first_load_and_a_later_load_adds_nothing(app, db):
    """Loaded in early January 2031 (the clock running), the demo shows 2030 closed and 2031 in
    target setting, the clock runs on from where it was; loaded again a year later, nothing is added."""
    today = datetime(2031, 1, 3, 7, 30, tzinfo=WIB)
    clock.travel_to(today, frozen=False)
    load_demo()
    assert timedelta(0) <= clock.now() - today < timedelta(minutes=5)
    assert [(c.year, c.state) for c in db.session.scalars(sa.select(Cycle).order_by(Cycle.year))] == [
        (2030, CycleState.CLOSED),
        (2031, CycleState.TARGET_SETTING),
    ]
    last, this = cycle_of(db, 2030), cycle_of(db, 2031)
    assert last.closed_at < this.opened_at < today < this.target_deadline
    assert db.session.scalar(sa.select(sa.func.max(AuditEvent.occurred_at))) <= clock.now()

    before = count(db, Evaluation), count(db, AuditEvent), count(db, OutboxMessage)
    load_on(today + timedelta(days=400))
    assert [c.year for c in db.session.scalars(sa.select(Cycle).order_by(Cycle.year))] == [2030, 2031]
    assert (count(db, Evaluation), count(db, AuditEvent), count(db, OutboxMessage)) == before


def test_the_story_data_fits_the_agency():
    """Every position with a rater has an SKP; every person named in the story exists."""
    data = story()
    positions = {person.position for person in EMPLOYEES if person.supervisor}
    assert positions <= set(data["skp"])
    named = set(data["previous"]["ratings"]) | set(data["current"]["return_comments"])
    named |= {key for keys in data["current"]["skp"].values() for key in keys}
    named.add(data["previous"]["appeal"]["employee"])
    assert named <= set(PERSON)
    assert set(data["current"]["return_comments"]) == set(data["current"]["skp"]["returned"])


def test_office_hours_skip_the_weekend():
    """Moments spread over office hours only; a step after Friday's close lands on Monday."""
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=WIB)
    assert office_after(friday, 2) == datetime(2026, 11, 30, 9, 0, tzinfo=WIB)
    moments = office_moments(friday, friday + timedelta(days=3), 4)
    assert [(m.day, m.hour) for m in moments] == [(30, 8), (30, 10), (30, 12), (30, 14)]


def test_last_years_monitoring_stage_has_verified_logs_and_confirmed_records(app, db):
    """Four people logged the first indicator of their SKP each month from February to November,
    their raters verified every entry; the dialog kinerja and the bimbingan were confirmed by the
    employees and their follow-ups done, all before the results were announced."""
    load_on(TODAY)
    cycle = cycle_of(db, 2025)
    entries = db.session.scalars(sa.select(ProgressEntry)).all()
    assert len(entries) == 4 * 10
    assert all(entry.verified_at is not None for entry in entries)
    assert {entry.entry_date.month for entry in entries} == set(range(2, 12))
    records = db.session.scalars(sa.select(FeedbackRecord).order_by(FeedbackRecord.held_on)).all()
    assert [r.kind.value for r in records] == ["dialog", "coaching"]
    assert all(r.evaluation.cycle_id == cycle.id and r.acknowledged_at is not None for r in records)
    assert all(f.done_at is not None for r in records for f in r.follow_ups)
    last = max([e.verified_at for e in entries] + [f.done_at for r in records for f in r.follow_ups])
    assert last < cycle.published_at
