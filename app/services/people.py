"""Employees: create, edit, deactivate, set the supervisor; every change audited."""

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit
from app.extensions import db
from app.models import Account, Employee, EmploymentType, OrgUnit, Position, ReassignedRole
from app.nip import nip_problem, normalise_nip
from app.policy import rights_beyond
from app.services import Refused
from app.services.accounts import role_names, void_reset_links
from app.services.hierarchy import would_loop
from app.services.reassign import held_count, returning_count

AUDITED_FIELDS = (
    "nip",
    "name",
    "email",
    "employment_type",
    "rank",
    "unit_id",
    "position_id",
    "supervisor_id",
)


# The search index holds runs of three characters: shorter text is looked for by a scan.
TRIGRAM = 3
ASCII_DIGITS = frozenset("0123456789")


def _digits_after(digits: str) -> str | None:
    """The smallest digit string above every string that starts with `digits` ("1239" → "124"),
    None for all nines."""
    stem = digits.rstrip("9")
    return stem[:-1] + str(int(stem[-1]) + 1) if stem else None


def matching(query: str):
    """Employees whose name or email contains `query`, or whose NIP starts with it when it is all
    digits (spaces allowed): the search of the employee list, the overdue list and the audit log.

    On PostgreSQL a trigram index (migration b626b9d82ee0) serves the name and email conditions
    as they are, and the NIP prefix is also given as a range, which the unique index of `nip`
    serves under any collation (LIKE 'd%' only uses it under "C"). On SQLite the FTS5 table
    `employee_search` first narrows the rows to those holding the text anywhere in name, email
    or NIP (case folded), and the same conditions then decide. Either way the people found are
    exactly those of a plain scan.
    """
    pattern = query.lower()
    digits = "".join(ch for ch in query if ch in ASCII_DIGITS)  # a NIP's; "²" and "٣" are not
    by_nip = bool(digits) and len(digits) == len(query.replace(" ", ""))
    conditions = [
        sa.func.lower(Employee.name).contains(pattern, autoescape=True),
        Employee.email.contains(pattern, autoescape=True),  # stored lower-cased
    ]
    dialect = db.session.get_bind().dialect.name
    if by_nip:
        prefix = Employee.nip.startswith(digits)
        if dialect == "postgresql":
            after = _digits_after(digits)
            prefix = sa.and_(prefix, Employee.nip >= digits, *([Employee.nip < after] if after else []))
        conditions.append(prefix)
    condition = sa.or_(*conditions)
    texts = [pattern, digits] if by_nip else [pattern]
    if dialect == "sqlite" and min(map(len, texts)) >= TRIGRAM:
        phrases = " OR ".join('"' + text.replace('"', '""') + '"' for text in texts)
        holding = sa.select(sa.literal_column("rowid")).select_from(sa.table("employee_search"))
        holding = holding.where(sa.text("employee_search MATCH :phrases").bindparams(phrases=phrases))
        condition = sa.and_(Employee.id.in_(holding), condition)
    return condition


def _snapshot(employee: Employee) -> dict:
    return {
        field: str(getattr(employee, field)) if getattr(employee, field) is not None else None
        for field in AUDITED_FIELDS
    }


def check_supervisor(employee: Employee | None, supervisor: Employee | None) -> str | None:
    """Why `supervisor` cannot supervise `employee`, or None."""
    if supervisor is None:
        return None
    if employee is not None and supervisor.id == employee.id:
        return _("Pegawai tidak dapat menjadi atasan dirinya sendiri.")
    if not supervisor.active:
        return _("Atasan %(name)s sudah tidak aktif.", name=supervisor.name)
    if employee is not None and would_loop(Employee.supervisor_id, Employee.id, employee.id, supervisor.id):
        return _(
            "%(sup)s berada di bawah %(emp)s dalam rantai atasan; pilihan ini membuat lingkaran.",
            sup=supervisor.name,
            emp=employee.name,
        )
    return None


def save_employee(
    employee: Employee | None,
    data: dict,
    *,
    expected_version: int | None = None,
    actor: Account | None = None,
) -> Employee:
    """Create (employee None) or update an employee from validated form data; commits.

    `data` has nip, name, email, employment_type, rank (optional), unit_id, position_id, supervisor_nip.
    Raises Refused with per-field messages; nothing is written then. The e-mail of an account
    holding rights the actor lacks is not theirs to change: reset links go to that address.
    """
    errors: dict[str, str] = {}
    nip = normalise_nip(data["nip"])
    email = data["email"].strip().lower()
    problem = nip_problem(nip, data["employment_type"])
    if problem:
        errors["nip"] = problem
    else:
        other = db.session.scalar(sa.select(Employee).where(Employee.nip == nip))
        if other is not None and other is not employee:
            errors["nip"] = _("NIP %(nip)s sudah dipakai oleh %(name)s.", nip=nip, name=other.name)
    other = db.session.scalar(sa.select(Employee).where(Employee.email == email))
    if other is not None and other is not employee:
        errors["email"] = _("Email ini sudah dipakai oleh %(name)s.", name=other.name)
    elif db.session.scalar(sa.select(Account.id).where(Account.email == email)):
        errors["email"] = _("Email ini sudah dipakai oleh akun sistem.")
    if employee is not None and email != employee.email:
        beyond = rights_beyond(actor, employee.account)
        if beyond:
            errors["email"] = _(
                "Email pegawai ini hanya dapat diubah oleh administrator sistem: tautan atur ulang "
                "kata sandi dikirim ke email itu, dan akunnya memiliki hak yang tidak Anda miliki "
                "(%(roles)s).",
                roles=role_names(beyond),
            )
    unit = db.session.get(OrgUnit, data["unit_id"])
    if unit is None or not unit.active:
        errors["unit_id"] = _("Unit kerja tidak ditemukan atau tidak aktif.")
    if db.session.get(Position, data["position_id"]) is None:
        errors["position_id"] = _("Jabatan tidak ditemukan.")
    supervisor = None
    if data.get("supervisor_nip"):
        sup_nip = normalise_nip(data["supervisor_nip"])
        supervisor = db.session.scalar(sa.select(Employee).where(Employee.nip == sup_nip))
        if supervisor is None:
            errors["supervisor_nip"] = _("Tidak ada pegawai dengan NIP %(nip)s.", nip=sup_nip)
        else:
            problem = check_supervisor(employee, supervisor)
            if problem:
                errors["supervisor_nip"] = problem
    if employee is not None and expected_version is not None and employee.version != expected_version:
        errors[""] = _(
            "Data pegawai ini baru saja diubah oleh orang lain. Muat ulang halaman untuk melihat "
            "perubahan itu; isian Anda masih ada di formulir."
        )
    if errors:
        db.session.rollback()
        raise Refused(errors)

    created = employee is None
    before = None if created else _snapshot(employee)
    if not created and email != employee.email and employee.account is not None:
        void_reset_links(employee.account)  # they were sent to the old address
    if created:
        employee = Employee()
        db.session.add(employee)
    employee.nip = nip
    employee.name = data["name"].strip()
    employee.email = email
    employee.employment_type = EmploymentType(data["employment_type"])
    employee.unit_id = unit.id
    employee.position_id = data["position_id"]
    if "rank" in data:
        employee.rank = data["rank"] or None
    employee.supervisor = supervisor
    db.session.flush()
    after = _snapshot(employee)
    if created:
        audit.record("employee.created", employee, data=after)
    else:
        changes = {k: [before[k], after[k]] for k in AUDITED_FIELDS if before[k] != after[k]}
        if changes:
            audit.record("employee.updated", employee, data=changes)
    db.session.commit()
    return employee


class StillOfficiating(Refused):
    """Refused deactivation: the person still rates or handles evaluations in flight."""


def set_active(employee: Employee, active: bool) -> None:
    """Deactivate (leaves, retires) or reactivate an employee; commits."""
    if employee.active == active:
        return
    if not active:
        team = db.session.scalar(
            sa.select(sa.func.count()).where(Employee.supervisor_id == employee.id, Employee.active)
        )
        if team:
            raise Refused(
                _(
                    "%(name)s masih menjadi atasan %(n)d pegawai aktif. Pindahkan dulu bawahan "
                    "tersebut ke atasan lain.",
                    name=employee.name,
                    n=team,
                )
            )
        held = held_count(employee)
        parts = []
        if held[ReassignedRole.RATER]:
            parts.append(_("sebagai pejabat penilai: %(n)d", n=held[ReassignedRole.RATER]))
        if held[ReassignedRole.APPEAL_HANDLER]:
            parts.append(_("sebagai atasan pejabat penilai: %(n)d", n=held[ReassignedRole.APPEAL_HANDLER]))
        returning = returning_count(employee)
        if returning:
            parts.append(_("kembali kepadanya setelah masa Plh. berakhir: %(n)d", n=returning))
        if parts:
            raise StillOfficiating(
                _(
                    "%(name)s tidak dapat dinonaktifkan: ia masih memegang penilaian kinerja yang "
                    "sedang berjalan (%(parts)s). Pindahkan dulu penilaian itu kepada pejabat lain.",
                    name=employee.name,
                    parts="; ".join(parts),
                )
            )
    employee.active = active
    audit.record("employee.activated" if active else "employee.deactivated", employee)
    db.session.commit()
