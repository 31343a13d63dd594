"""Evidence files follow their rows: a file exists only for committed evidence, whatever fails.

Refusals, conflicts, database errors and a process killed between the write and the commit
leave no file behind (a crash leaves a pending one the daily sweep removes); deleting
evidence removes its file only once the deletion committed.
"""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock, storage
from app.extensions import db as _db
from app.jobs import run_due
from app.jobs.files import sweep_evidence_files
from app.models import AuditEvent, Evaluation, Evidence
from app.services import Refused
from app.workflow import cycles, evaluations
from tests.conftest import login
from tests.workflow_helpers import agency, open_annual, write_skp

PDF = b"%PDF-1.4 laporan kegiatan triwulan"
ROOT = Path(__file__).resolve().parent.parent


def stored_files(app) -> list[str]:
    """Every file in the evidence folder, pending and half-written ones included."""
    folder = Path(app.instance_path) / "evidence"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def evidence_rows() -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(Evidence))


@pytest.fixture
def assessing(make, db):
    """The nurse's evaluation in the self-assessment phase, targets approved."""
    org = agency(make)
    cycle = open_annual(org)
    ev = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, org["nurse"].account)
    evaluations.approve_targets(ev, org["head"].account)
    clock.travel_to(cycle.target_deadline + timedelta(days=1))
    cycles.advance(cycle, org["hr"].account)
    db.session.refresh(ev)
    return org, cycle, ev


@pytest.fixture
def failing_statement(db):
    """Make the database fail every statement that starts with a given SQL prefix; returns the
    function that stops it."""
    armed = []

    def disarm():
        while armed:
            sa.event.remove(db.engine, "before_cursor_execute", armed.pop())

    def arm(prefix: str):
        def fail(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith(prefix):
                raise sa.exc.OperationalError(statement, parameters, Exception("disk I/O error"))

        sa.event.listen(db.engine, "before_cursor_execute", fail)
        armed.append(fail)
        return disarm

    yield arm
    disarm()


def test_an_upload_leaves_exactly_one_file_holding_its_bytes(app, assessing):
    org, _cycle, ev = assessing
    evidence = evaluations.add_evidence_file(
        ev, org["nurse"].account, ev.indicators[0], "laporan.pdf", PDF, expected_version=ev.version
    )
    assert stored_files(app) == [evidence.stored_name]
    assert evaluations.evidence_path(evidence.stored_name).read_bytes() == PDF
    assert evidence_rows() == 1


def test_refused_uploads_leave_no_file(app, make, assessing, monkeypatch):
    org, cycle, ev = assessing
    nurse = org["nurse"].account
    attempts = [
        ("bukan PDF", lambda: evaluations.add_evidence_file(ev, nurse, ev.indicators[0], "a.pdf", b"MZ exe")),
        (
            "versi lama",
            lambda: evaluations.add_evidence_file(
                ev, nurse, ev.indicators[0], "a.pdf", PDF, expected_version=ev.version - 1
            ),
        ),
        (
            "bukan pegawainya",
            lambda: evaluations.add_evidence_file(ev, org["head"].account, ev.indicators[0], "a.pdf", PDF),
        ),
    ]
    for _reason, attempt in attempts:
        with pytest.raises(Refused):
            attempt()
    assert stored_files(app) == [] and evidence_rows() == 0

    # A concurrent change of the evaluation lands between the write and the commit: the
    # upload loses at its commit, after its bytes were written.
    stage = storage.put_on_commit

    def stage_then_someone_else_saves(*args):
        stage(*args)
        with _db.engine.begin() as other:
            other.execute(
                sa.update(Evaluation).where(Evaluation.id == ev.id).values(version=Evaluation.version + 1)
            )

    monkeypatch.setattr(storage, "put_on_commit", stage_then_someone_else_saves)
    with pytest.raises(Refused, match="diubah"):
        evaluations.add_evidence_file(ev, nurse, ev.indicators[0], "bersamaan.pdf", PDF)
    monkeypatch.undo()
    assert stored_files(app) == [] and evidence_rows() == 0

    # The phase is over: the deadline passed.
    clock.travel_to(cycle.assessment_deadline + timedelta(minutes=1))
    with pytest.raises(Refused, match="Tenggat"):
        evaluations.add_evidence_file(ev, nurse, ev.indicators[0], "telat.pdf", PDF)
    assert stored_files(app) == [] and evidence_rows() == 0


def test_a_database_error_at_the_commit_leaves_no_file(app, assessing, failing_statement):
    org, _cycle, ev = assessing
    failing_statement("INSERT INTO EVIDENCE")
    with pytest.raises(sa.exc.OperationalError):
        evaluations.add_evidence_file(ev, org["nurse"].account, ev.indicators[0], "laporan.pdf", PDF)
    assert stored_files(app) == []
    assert evidence_rows() == 0


@pytest.mark.postgres_only
def test_a_file_name_the_database_refuses_leaves_no_file(app, assessing):
    """PostgreSQL refuses a NUL in text: the upload fails at its commit, no orphan on disk."""
    org, _cycle, ev = assessing
    with pytest.raises(sa.exc.DataError):
        evaluations.add_evidence_file(ev, org["nurse"].account, ev.indicators[0], "lapor\x00an.pdf", PDF)
    assert stored_files(app) == [] and evidence_rows() == 0


def test_deleting_evidence_removes_its_file_only_after_the_commit(app, assessing, failing_statement):
    org, _cycle, ev = assessing
    nurse = org["nurse"].account
    evidence = evaluations.add_evidence_file(ev, nurse, ev.indicators[0], "laporan.pdf", PDF)
    name = evidence.stored_name

    with pytest.raises(Refused):  # a stale form: nothing deleted, the file stays
        evaluations.delete_evidence(ev, nurse, evidence, expected_version=ev.version - 1)
    assert stored_files(app) == [name]

    disarm = failing_statement("DELETE FROM EVIDENCE")
    with pytest.raises(sa.exc.OperationalError):
        evaluations.delete_evidence(ev, nurse, evidence)
    disarm()
    assert stored_files(app) == [name] and evidence_rows() == 1

    seen_at_commit = []

    def look(session):
        seen_at_commit.append(stored_files(app))

    sa.event.listen(Session, "before_commit", look)
    try:
        evidence = _db.session.get(Evidence, evidence.id)
        evaluations.delete_evidence(ev, nurse, evidence, expected_version=ev.version)
    finally:
        sa.event.remove(Session, "before_commit", look)
    assert seen_at_commit == [[name]]  # still there while the deletion was being committed
    assert stored_files(app) == [] and evidence_rows() == 0


CRASHING_UPLOAD = """
import json, os, sys
from datetime import datetime
from sqlalchemy import event
from sqlalchemy.orm import Session
from app import clock, create_app
from app.extensions import db
from app.models import Account, Evaluation, Indicator
from app.storage import DirectoryStore
from app.workflow import evaluations

args = json.loads(sys.argv[1])
app = create_app({"DATABASE_URL": args["url"], "INSTANCE_PATH": args["instance"]})
with app.app_context():
    clock.travel_to(datetime.fromisoformat(args["now"]))
    if args["crash"] == "before_commit":
        event.listen(Session, "before_commit", lambda session: os._exit(9))
    else:  # killed after the commit, before the file took its name
        DirectoryStore.rename = lambda self, source, target: os._exit(9)
    evaluations.add_evidence_file(
        db.session.get(Evaluation, args["evaluation"]),
        db.session.get(Account, args["account"]),
        db.session.get(Indicator, args["indicator"]),
        "laporan.pdf",
        args["data"].encode(),
    )
sys.exit(0)
"""


def upload_in_a_process_killed(app, org, ev, crash: str) -> None:
    """Upload from another process that is killed at `crash` (no handler runs, as in a real kill)."""
    args = {
        "url": app.config["SQLALCHEMY_DATABASE_URI"],
        "instance": app.instance_path,
        "now": clock.utcnow().isoformat(),
        "crash": crash,
        "evaluation": ev.id,
        "account": org["nurse"].account.id,
        "indicator": ev.indicators[0].id,
        "data": PDF.decode(),
    }
    _db.session.commit()  # release SQLite for the other process
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_UPLOAD, json.dumps(args)], cwd=ROOT, capture_output=True, timeout=120
    )
    assert done.returncode == 9, done.stderr.decode()[-2000:]


def test_a_process_killed_between_the_write_and_the_commit_leaves_a_pending_file_the_sweep_removes(
    app, assessing
):
    org, _cycle, ev = assessing
    upload_in_a_process_killed(app, org, ev, "before_commit")
    _db.session.expire_all()
    assert evidence_rows() == 0
    (pending,) = stored_files(app)
    assert pending.endswith(storage.PENDING)  # never under a name a row could point at
    assert sweep_evidence_files().removed == 0  # an upload may still be under way: kept a day
    clock.advance(timedelta(days=1, minutes=1))
    assert sweep_evidence_files().removed == 1
    assert stored_files(app) == []


def test_a_process_killed_after_the_commit_still_serves_the_file(app, client, assessing):
    org, _cycle, ev = assessing
    upload_in_a_process_killed(app, org, ev, "after_commit")
    _db.session.expire_all()
    evidence = _db.session.scalar(sa.select(Evidence))
    assert stored_files(app) == [storage.pending_name(evidence.stored_name)]
    login(client, org["nurse"].nip)
    download = client.get(f"/evaluations/{ev.id}/evidence/{evidence.id}")
    assert download.status_code == 200 and download.data == PDF
    assert stored_files(app) == [evidence.stored_name]  # the move was finished by the reader


def test_the_sweep_removes_only_orphans_older_than_a_day(app, assessing):
    org, _cycle, ev = assessing
    store = storage.evidence_store()
    kept = evaluations.add_evidence_file(ev, org["nurse"].account, ev.indicators[0], "laporan.pdf", PDF)
    interrupted = evaluations.add_evidence_file(ev, org["nurse"].account, ev.indicators[1], "foto.pdf", PDF)
    # committed, but its move was interrupted: it must be finished, not removed
    store.rename(interrupted.stored_name, storage.pending_name(interrupted.stored_name))
    store.put("a" * 32, PDF)  # a file whose row was deleted while its removal failed
    store.put(storage.pending_name("b" * 32), PDF)  # an upload whose process died
    (Path(app.instance_path) / "evidence" / "tmp_x1y2z3.partial").write_bytes(b"%PDF")  # a half write
    os.utime(Path(app.instance_path) / "evidence" / "tmp_x1y2z3.partial", (clock.utcnow().timestamp(),) * 2)
    clock.advance(timedelta(hours=23))
    store.put("c" * 32, PDF)  # an orphan younger than a day: maybe an upload under way
    assert sweep_evidence_files().removed == 0  # nothing is a day old yet

    clock.advance(timedelta(hours=2))
    result = sweep_evidence_files()
    _db.session.commit()
    assert (result.removed, result.finished) == (3, 1)
    assert stored_files(app) == sorted([kept.stored_name, interrupted.stored_name, "c" * 32])
    assert evaluations.evidence_path(interrupted.stored_name).read_bytes() == PDF
    swept = _db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "evidence.files_swept")
    ).all()
    assert [event.data for event in swept] == [{"removed": 3, "finished": 1}]

    assert sweep_evidence_files().removed == 0  # idempotent: nothing left to do
    clock.advance(timedelta(days=30))
    assert sweep_evidence_files().removed == 1  # the young orphan, now old
    assert stored_files(app) == sorted([kept.stored_name, interrupted.stored_name])


def test_run_due_and_the_command_sweep_once_a_day(app, runner, assessing):
    store = storage.evidence_store()
    store.put("d" * 32, PDF)
    clock.advance(timedelta(days=2))
    assert run_due().orphan_files == 1
    clock.advance(timedelta(days=-3))
    store.put("e" * 32, PDF)  # old as soon as the clock is back
    clock.advance(timedelta(days=3))
    assert run_due().orphan_files == 0  # swept today already
    assert stored_files(app) == ["e" * 32]
    clock.advance(timedelta(days=1))
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    assert "orphan_files: 1" in result.output
    assert stored_files(app) == []
