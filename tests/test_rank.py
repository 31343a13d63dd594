"""Pangkat/golongan ruang of an employee: the HR form, the CSV import and export, the demo agency."""

import sqlalchemy as sa

from app.demo import load_demo
from app.imports.people import apply_import, plan_import
from app.models import AuditEvent, Employee
from app.output.people_csv import iter_employees_csv
from tests.conftest import login, post_form
from tests.test_people_views import employee_form

HEADER = "nip,nama,email,jenis_pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan,pangkat_golongan\n"


def test_hr_sets_a_pangkat_shown_on_the_profile_and_audited(client, make, hr, db):
    """HR picks the pangkat from the list; the profile shows it and the audit log has the change."""
    someone = make.employee("Andi Saputra")
    login(client, hr.nip)
    form = client.get(f"/people/{someone.id}/edit").get_data(as_text=True)
    assert "Penata Muda Tk. I, III/b (PNS)" in form and "Golongan IX (PPPK)" in form
    data = employee_form(
        make,
        nip=someone.nip,
        name=someone.name,
        email=someone.email,
        unit=someone.unit,
        position=someone.position,
        rank="Penata Muda Tk. I, III/b",
    )
    data["version"] = str(someone.version)
    assert post_form(client, f"/people/{someone.id}/edit", data, token_from="/").status_code == 302
    db.session.refresh(someone)
    assert someone.rank == "Penata Muda Tk. I, III/b"
    assert "Penata Muda Tk. I, III/b" in client.get(f"/people/{someone.id}").get_data(as_text=True)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "employee.updated"))
    assert event.data["rank"] == [None, "Penata Muda Tk. I, III/b"]


def test_a_pppk_golongan_is_refused_for_a_pns(client, make, hr, db):
    """A PNS has a pangkat with golongan ruang; the PPPK golongan list is not theirs."""
    login(client, hr.nip)
    response = post_form(client, "/people/new", employee_form(make, rank="IX"), token_from="/people/new")
    assert response.status_code == 200
    assert "Pegawai PNS memiliki pangkat/golongan ruang" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Employee).where(Employee.nip == "199001012015031001")) is None


def test_import_reads_pangkat_golongan_and_export_writes_it(make, db):
    """The optional column takes a full pangkat or just the golongan ruang; export gives it back."""
    unit = make.unit(code="KEC")
    data = (
        HEADER
        + "199001012015031001,Andi,andi@contoh.go.id,PNS,KEC,Staf,Pelaksana,,III/b\n"
        + "199202022022212001,Budi,budi@contoh.go.id,PPPK,KEC,Staf,Pelaksana,,golongan ix\n"
        + "199303032015031002,Cici,cici@contoh.go.id,PNS,KEC,Staf,Pelaksana,,\n"
    )
    plan = plan_import("employees", data.encode())
    assert plan.errors == [] and plan.created == 3
    apply_import(plan)
    ranks = dict(db.session.execute(sa.select(Employee.name, Employee.rank)).all())
    assert ranks == {"Andi": "Penata Muda Tk. I, III/b", "Budi": "IX", "Cici": None}
    exported = "".join(iter_employees_csv()).splitlines()
    assert exported[0].endswith("nip_atasan,pangkat_golongan,aktif")
    assert (
        f"199001012015031001,Andi,andi@contoh.go.id,PNS,{unit.code},Staf,Pelaksana,,"
        '"Penata Muda Tk. I, III/b",ya' in exported
    )


def test_import_refuses_an_unknown_pangkat_and_keeps_ranks_without_the_column(make, db):
    """A pangkat not on the list is a row error; a file without the column leaves ranks alone."""
    make.unit(code="KEC")
    bad = HEADER + "199001012015031001,Andi,andi@contoh.go.id,PNS,KEC,Staf,Pelaksana,,Penata Madya\n"
    plan = plan_import("employees", bad.encode())
    assert [error.message for error in plan.errors] == [
        'Pangkat/golongan ruang PNS tidak dikenal: "Penata Madya" '
        '(contoh: "Penata Muda Tk. I, III/b" atau "III/b").'
    ]
    apply_import(
        plan_import(
            "employees", (HEADER + bad.splitlines()[1].replace("Penata Madya", "III/c") + "\n").encode()
        )
    )
    without = (
        HEADER.rsplit(",", 1)[0]
        + "\n"
        + "199001012015031001,Andi Baru,andi@contoh.go.id,PNS,KEC,Staf,Pelaksana,\n"
    )
    plan = plan_import("employees", without.encode())
    assert plan.errors == [] and plan.updated == 1
    apply_import(plan)
    employee = db.session.scalar(sa.select(Employee))
    assert (employee.name, employee.rank) == ("Andi Baru", "Penata, III/c")


def test_every_demo_employee_has_a_pangkat_or_golongan(db):
    """The demo agency prints a rank on every document."""
    load_demo(with_cycles=False)
    assert db.session.scalar(sa.select(sa.func.count()).where(Employee.rank.is_(None))) == 0
    assert db.session.scalar(sa.select(Employee.rank).where(Employee.nip == "199212192019032004")) == (
        "Penata Muda Tk. I, III/b"
    )


def test_the_signature_place_is_a_setting(app):
    """Documents are signed at the agency's place, Palangka Raya unless configured."""
    assert app.config["AGENCY_PLACE"] == "Palangka Raya"
