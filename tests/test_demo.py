"""The demo agency Kecamatan Rakumpit: plausible data, a sound hierarchy, and a safe re-run."""

import sqlalchemy as sa

from app.demo import ADMIN_EMAIL, EMAIL_DOMAIN, EMPLOYEES, load_demo
from app.models import (
    Account,
    AccountRole,
    AuditEvent,
    Employee,
    EmploymentType,
    OrgUnit,
    Position,
    PositionKind,
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
    load_demo()
    people = employees(db)
    assert 35 <= len(people) <= 45
    for employee in people:
        assert nip_problem(employee.nip, employee.employment_type.value) is None, employee.name
        is_pppk = employee.nip[12:14] == "21"
        assert (employee.employment_type == EmploymentType.PPPK) == is_pppk, employee.name
    assert sum(e.employment_type == EmploymentType.PPPK for e in people) >= 5


def test_nips_and_emails_are_unique_lowercase_ascii(app, db):
    """NIPs and e-mails are unique; e-mails are lowercase ASCII on the agency domain."""
    load_demo()
    people = employees(db)
    assert len({e.nip for e in people}) == len(people)
    assert len({e.email for e in people}) == len(people)
    for employee in people:
        assert employee.email.isascii() and employee.email == employee.email.lower()
        assert employee.email.endswith("@" + EMAIL_DOMAIN)


def test_pppk_hold_no_structural_post(app, db):
    """PPPK employees hold functional or pelaksana posts only."""
    load_demo()
    structural = {PositionKind.ADMINISTRATOR, PositionKind.PENGAWAS, PositionKind.JPT}
    for employee in employees(db):
        if employee.employment_type == EmploymentType.PPPK:
            assert employee.position.kind not in structural, employee.name


def test_only_the_camat_has_no_supervisor_and_there_are_no_loops(app, db):
    """Every supervisor chain ends at the camat, who has no rater."""
    load_demo()
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
    load_demo()
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
    load_demo()
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
    logins = {login.role: login for login in load_demo()}
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
    load_demo()
    kecamatan = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "RKP"))
    assert kecamatan.parent.name == "Pemerintah Kota Palangka Raya"
    assert kecamatan.parent.parent is None
    children = {unit.name for unit in kecamatan.children}
    assert {"Seksi Pemerintahan", "Puskesmas Rakumpit", "Kelurahan Mungku Baru"} <= children


def test_accounts_roles_hr_and_admin(app, db):
    """Everyone has an employee account; one HR officer; the admin has no employee record."""
    load_demo()
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
    logins = load_demo()
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
    models = (OrgUnit, Position, Employee, Account, AccountRole, AuditEvent)
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
    logins = load_demo()
    nurse_nip = next(login.login for login in logins if login.role == "Perawat")
    nurse = db.session.scalar(sa.select(Employee).where(Employee.nip == nurse_nip))
    nurse.account.password_hash = hash_password("kata-sandi-baru")
    camat = by_position(db, "Camat")[0]
    db.session.delete(camat.account)
    db.session.commit()

    load_demo()
    assert authenticate(nurse_nip, "kata-sandi-baru") is not None
    assert camat.account is not None
    assert count(db, Account) == count(db, Employee) + 1
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "demo.loaded"))
    assert [e.data["accounts"] for e in events] == [len(EMPLOYEES) + 1, 1]


def test_the_demo_password_can_come_from_the_environment(app, db, monkeypatch):
    """DEMO_PASSWORD in the environment replaces the built-in demo password."""
    monkeypatch.setenv("DEMO_PASSWORD", "coba-sandi-lain")
    logins = load_demo()
    assert {login.password for login in logins} == {"coba-sandi-lain"}
    assert authenticate(logins[0].login, "coba-sandi-lain") is not None
