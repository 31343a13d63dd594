"""Backup and restore as docs/operations.md writes them down: the restored copy serves a cycle in flight.

PostgreSQL: pg_dump (custom format), createdb, pg_restore into a new database. SQLite: the online
backup API while the app holds the database open. Both: the evidence folder copied after the
database. The restored app signs people in, shows the SKP with its evidence and the cycle, and its
schema is at the migration head.
"""

import shutil
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from app import clock, create_app
from app.extensions import db as _db
from app.models import Evaluation
from app.workflow import cycles, evaluations
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, IsolatedClient, login
from tests.workflow_helpers import agency, open_annual, write_skp

EVIDENCE = b"%PDF-1.4 laporan kunjungan pasien"
PG_TOOLS = ("pg_dump", "pg_restore", "createdb", "dropdb")


def cycle_in_flight(make, db) -> tuple[dict, object, Evaluation, int]:
    """An annual cycle in self-assessment: the nurse's targets approved, a realisation and a PDF in."""
    org = agency(make)
    cycle = open_annual(org)
    ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == org["nurse"].id))
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, org["nurse"].account)
    evaluations.approve_targets(ev, org["head"].account)
    clock.advance(timedelta(days=26))
    cycles.advance(cycle, org["hr"].account)
    db.session.refresh(ev)
    evaluations.save_realisation(ev, org["nurse"].account, ev.indicators[0], "25", "Data SIMPUS")
    evidence = evaluations.add_evidence_file(
        ev, org["nurse"].account, ev.indicators[0], "laporan.pdf", EVIDENCE
    )
    db.session.commit()
    return org, cycle, ev, evidence.id


def copy_evidence(instance_from: Path, instance_to: Path) -> None:
    """The evidence folder, as `cp -a instance/evidence` (taken after the database, restored with it)."""
    shutil.copytree(instance_from / "evidence", instance_to / "evidence")


def assert_serves_the_cycle(restored, org, cycle, ev, evidence_id) -> None:
    """Migration head, sign-in, the SKP with its realisation and evidence file, the cycle page."""
    with restored.app_context():
        script = ScriptDirectory.from_config(restored.extensions["migrate"].migrate.get_config())
        with _db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        assert current == set(script.get_heads()) and current
    restored.test_client_class = IsolatedClient

    nurse = restored.test_client()
    assert login(nurse, org["nurse"].nip).status_code == 302
    page = nurse.get(f"/evaluations/{ev.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Pelayanan pasien yang cepat" in html and "laporan.pdf" in html and "Data SIMPUS" in html
    download = nurse.get(f"/evaluations/{ev.id}/evidence/{evidence_id}")
    assert download.status_code == 200 and download.data == EVIDENCE

    hr = restored.test_client()
    login(hr, org["hr"].nip)
    page = hr.get(f"/cycles/{cycle.id}")
    assert page.status_code == 200 and "SKP Tahunan 2027" in page.get_data(as_text=True)


def run(*command: str) -> None:
    """Run a PostgreSQL client tool; its own message if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)  # noqa: S603 - fixed tools
    assert done.returncode == 0, f"{' '.join(command[:2])}: {done.stderr}"


@pytest.mark.postgres_only
def test_pg_dump_restored_into_a_new_database_serves_the_cycle_in_flight(app, db, make, tmp_path):
    missing = [tool for tool in PG_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"PostgreSQL client tools missing: {', '.join(missing)} (Debian package postgresql-client)"
        )
    org, cycle, ev, evidence_id = cycle_in_flight(make, db)
    source = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    target = source.set(database=f"{source.database}_restore")
    server = [f"--host={source.host or 'localhost'}", f"--port={source.port or 5432}"]
    server += [f"--username={source.username}"] if source.username else []
    backup = tmp_path / "backup"
    backup.mkdir()

    # Back up: the database first, then the evidence folder (docs/operations.md).
    dump = backup / "kinerja.dump"
    run("pg_dump", "--format=custom", f"--file={dump}", source.render_as_string(hide_password=False))
    copy_evidence(Path(app.instance_path), backup)

    # Restore into a new database and a new instance folder.
    run("dropdb", *server, "--if-exists", "--force", target.database)
    run("createdb", *server, target.database)
    restored = None
    try:
        target_url = target.render_as_string(hide_password=False)
        run("pg_restore", "--exit-on-error", "--no-owner", f"--dbname={target_url}", str(dump))
        copy_evidence(backup, tmp_path / "restored")
        restored = create_app(
            {
                "DATABASE_URL": target.set(drivername="postgresql+psycopg").render_as_string(False),
                "INSTANCE_PATH": str(tmp_path / "restored"),
            }
        )
        assert_serves_the_cycle(restored, org, cycle, ev, evidence_id)
    finally:
        if restored is not None:
            with restored.app_context():
                _db.engine.dispose()
        run("dropdb", *server, "--if-exists", "--force", target.database)


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite backup (the suite runs on PostgreSQL)")
def test_sqlite_online_backup_restored_serves_the_cycle_in_flight(app, db, make, tmp_path):
    org, cycle, ev, evidence_id = cycle_in_flight(make, db)
    live = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    backup = tmp_path / "backup"
    backup.mkdir()

    # Back up while the app holds the database open (WAL): the online backup API, then the evidence.
    db.session.execute(sa.text("SELECT 1"))  # a connection of the running app stays open meanwhile
    source, copy = sqlite3.connect(live), sqlite3.connect(backup / "kinerja.db")
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    copy_evidence(Path(app.instance_path), backup)

    # Restore: the file and the evidence folder into a new instance folder.
    restored_instance = tmp_path / "restored"
    restored_instance.mkdir()
    shutil.copy(backup / "kinerja.db", restored_instance / "kinerja.db")
    copy_evidence(backup, restored_instance)
    check = sqlite3.connect(restored_instance / "kinerja.db")
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()
    restored = create_app(
        {
            "DATABASE_URL": f"sqlite:///{restored_instance / 'kinerja.db'}",
            "INSTANCE_PATH": str(restored_instance),
        }
    )
    try:
        assert_serves_the_cycle(restored, org, cycle, ev, evidence_id)
    finally:
        with restored.app_context():
            _db.engine.dispose()
