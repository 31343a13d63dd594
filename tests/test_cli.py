"""The command line: create an administrator, load the demo, import and export people."""

import sqlalchemy as sa

from app.models import Account, Employee, OrgUnit, Role
from app.services.accounts import authenticate


def test_create_admin_then_sign_in(runner, db):
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "Admin@Kota.go.id",
            "--name",
            "Admin Kota",
            "--password",
            "sangat-rahasia-1",
        ]
    )
    assert result.exit_code == 0, result.output
    account = db.session.scalar(sa.select(Account).where(Account.email == "admin@kota.go.id"))
    assert account.roles == {Role.ADMIN} and account.employee is None
    assert authenticate("admin@kota.go.id", "sangat-rahasia-1") is not None


def test_create_admin_refuses_a_weak_password_and_a_taken_email(runner, make, db):
    employee = make.employee()
    weak = runner.invoke(args=["users", "create-admin", "--email", "a@kota.go.id", "--password", "pendek"])
    assert weak.exit_code != 0 and "minimal 8 karakter" in weak.output
    taken = runner.invoke(
        args=["users", "create-admin", "--email", employee.email, "--password", "sangat-rahasia-1"]
    )
    assert taken.exit_code != 0 and "sudah dipakai" in taken.output
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Account).where(Account.employee_id.is_(None))
        )
        == 0
    )


def test_demo_load_prints_the_logins_and_is_idempotent(runner, db):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "admin@rakumpit.palangkaraya.go.id" in first.output and "Camat" in first.output
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Employee))
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Employee)) == count


def test_people_import_and_export_round_trip(runner, db, tmp_path):
    units = tmp_path / "unit.csv"
    units.write_text(
        "kode;nama;kode_induk\nRKP;Kecamatan Rakumpit;\nPKM;Puskesmas Rakumpit;RKP\n", encoding="utf-8-sig"
    )
    people = tmp_path / "pegawai.csv"
    people.write_text(
        "nip,nama,email,jenis_pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan\n"
        "198208082010031005,dr. Yohanes,yohanes@contoh.go.id,PNS,PKM,Kepala Puskesmas,Fungsional,\n"
        "199212192019032004,Debora,debora@contoh.go.id,PNS,PKM,Perawat Ahli Pertama,Fungsional,"
        "198208082010031005\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["people", "import", str(units), "--kind", "units"])
    assert result.exit_code == 0, result.output
    dry = runner.invoke(args=["people", "import", str(people), "--dry-run"])
    assert dry.exit_code == 0 and "--dry-run" in dry.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Employee)) == 0
    result = runner.invoke(args=["people", "import", str(people)])
    assert result.exit_code == 0 and "2 baru" in result.output, result.output
    debora = db.session.scalar(sa.select(Employee).where(Employee.nip == "199212192019032004"))
    assert debora.supervisor.name == "dr. Yohanes"
    assert db.session.scalar(sa.select(OrgUnit.parent_id).where(OrgUnit.code == "PKM")) is not None

    out = tmp_path / "ekspor.csv"
    assert runner.invoke(args=["people", "export", "-o", str(out)]).exit_code == 0
    again = runner.invoke(args=["people", "import", str(out)])
    assert again.exit_code == 0 and "0 baru, 0 diubah, 2 tidak berubah" in again.output, again.output


def test_people_import_reports_bad_rows_and_writes_nothing(runner, db, tmp_path):
    bad = tmp_path / "buruk.csv"
    bad.write_text(
        "nip,nama,email,jenis_pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan\n"
        "12345,Siapa,siapa@contoh.go.id,PNS,TIDAKADA,Staf,Pelaksana,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["people", "import", str(bad)])
    assert result.exit_code != 0
    assert "baris 2" in result.output and "NIP harus 18 digit" in result.output
    assert "tidak ada yang disimpan" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Employee)) == 0
