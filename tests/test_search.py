"""Finding people by part of a name, e-mail or NIP: the employee list, the audit search, and the
search index kept in step with every change (on SQLite an FTS5 table, on PostgreSQL a trigram
index; both must find exactly what a plain scan would)."""

import re

import sqlalchemy as sa

from app import clock
from app.imports.people import EMPLOYEE_REQUIRED, apply_import, plan_import
from app.models import AuditEvent, Employee
from app.services.people import matching
from tests.conftest import login


def shown(html: str) -> list[str]:
    """Names of the employee list's rows."""
    return re.findall(r'<td><a href="/people/\d+">([^<]+)</a></td>', html)


def found(db, query: str) -> set[str]:
    """Names of the employees `matching(query)` selects."""
    return set(db.session.scalars(sa.select(Employee.name).where(matching(query))))


def scanned(db, query: str) -> set[str]:
    """The same search as a plain scan, without any index (the reference)."""
    pattern = query.lower()
    digits = "".join(ch for ch in query if ch in "0123456789")
    conditions = [
        sa.func.lower(Employee.name).contains(pattern, autoescape=True),
        Employee.email.contains(pattern, autoescape=True),
    ]
    if digits and len(digits) == len(query.replace(" ", "")):
        conditions.append(Employee.nip.startswith(digits))
    return set(db.session.scalars(sa.select(Employee.name).where(sa.or_(*conditions))))


def test_hr_finds_yohanes_by_part_of_his_name(client, make, hr):
    make.employee("Yohanes Saputra")
    make.employee("Stefanus Johanes")
    make.employee("Maria Ulfah")
    login(client, hr.nip)
    page = client.get("/people/?q=hane").get_data(as_text=True)
    assert sorted(shown(page)) == ["Stefanus Johanes", "Yohanes Saputra"]
    assert sorted(shown(client.get("/people/?q=HANES+s").get_data(as_text=True))) == ["Yohanes Saputra"]
    assert shown(client.get("/people/?q=ulf").get_data(as_text=True)) == ["Maria Ulfah"]


def test_the_search_follows_renames_and_new_people(db, make):
    yohanes = make.employee("Yohanes Saputra")
    yohanes.name = "Yosef Saputra"
    db.session.commit()
    assert found(db, "hane") == set()
    assert found(db, "osef") == {"Yosef Saputra"}
    yohanes.email = "yohanes.baru@contoh.go.id"
    db.session.commit()
    assert found(db, "hanes.bar") == {"Yosef Saputra"}

    unit, position = make.unit(code="UX"), make.position("Pengolah Data")
    header = ",".join(EMPLOYEE_REQUIRED)
    line = f"199001012015031007,Yohana Pertiwi,yohana@contoh.go.id,PNS,{unit.code},{position.name},Pelaksana,"
    plan = plan_import("employees", f"{header}\n{line}\n".encode())
    assert plan.ok, plan.errors
    apply_import(plan)
    assert found(db, "ohana") == {"Yohana Pertiwi"}
    assert found(db, "19900101201503") == {"Yohana Pertiwi"}


def test_every_kind_of_query_finds_what_a_full_scan_finds(db, make):
    for name in ("Yohanes Saputra", "Ni Made Ayu", 'Andi "Ucok" Lubis', "Dra. Siti_Nur 100%", "Ébé Ündé"):
        make.employee(name)
    nip = db.session.scalar(sa.select(Employee.nip).where(Employee.name == "Ni Made Ayu"))
    queries = ["hane", "ni", "a", "made ayu", '"ucok"', 'i "u', "_nur", "100%", "%", "ébé", "ÜNDÉ"]
    queries += ["contoh.go", "saputra@x", "yohanes  saputra", "pegawai", "12"]
    queries += [nip[:3], nip[:8], f"{nip[:4]} {nip[4:10]}", "19", "1989", "199", "999", "1985 9"]
    queries += ["²", "١٩٨٥", f"{nip[:4]}²", "１９"]  # digits of other scripts: no NIP starts with them
    for query in queries:
        assert found(db, query) == scanned(db, query), query


def test_the_audit_search_finds_a_person_by_part_of_the_name(db, client, make, hr):
    yohanes = make.employee("Yohanes Saputra")
    other = make.employee("Maria Ulfah")
    for person, action in ((yohanes, "people.updated"), (other, "people.created")):
        db.session.add(AuditEvent(occurred_at=clock.utcnow(), actor_id=person.account.id, action=action))
    db.session.commit()
    login(client, hr.nip)
    page = client.get("/audit/?who=hane").get_data(as_text=True)
    assert "Yohanes Saputra" in page and "Maria Ulfah" not in page
