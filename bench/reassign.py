"""Benchmark: "semua yang dinilai X → Y" over N evaluations, beside its raw-SQL floor.

    .venv/bin/python -m bench.reassign [N ...] [--database-url URL]

One official (a Kasi) rates N employees in an open annual cycle. HR hands all of them to a Plt.
through the service (`reassign_all`: checks, the preview count, the reassignment rows, their
audit rows, the evaluations, the employees' shared email and the two officials' digests), then
the floor moves them back with the same writes done by hand: INSERT ... SELECT of the
reassignment rows, the UPDATE ending the previous ones, INSERT ... SELECT of the audit rows,
the UPDATE of the evaluations, one outbox body and INSERT ... SELECT of the messages, two
digests. The service runs twice: there (nothing to end yet), and, after the floor, there again,
ending the floor's rows as the floor ended the first run's; that second run is the one compared
with the floor. Target: within 3x.
"""

import argparse
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import (
    AuditEvent,
    Employee,
    EmploymentType,
    Evaluation,
    MessageState,
    OrgUnit,
    OutboxBody,
    OutboxMessage,
    Position,
    PositionKind,
    Reassignment,
)
from app.models.types import UTCDateTime
from app.workflow import cycles, reassign
from bench.common import fresh_app

REASON = "Plt. selama Kepala Seksi menjalani cuti besar"


def nip(n: int) -> str:
    """A valid NIP numbered n (unique up to 999 999 per birth day used)."""
    return f"1985{1 + n % 12:02d}{1 + n % 28:02d}2010{1 + n % 12:02d}1{n % 1000:03d}"


def build(n: int):
    """A kecamatan: the camat, the Kasi with n staff, a Plt.; an annual cycle opened over them."""
    unit = OrgUnit(code="KEC", name="Kecamatan Rakumpit")
    position = Position(name="Pengolah Data", kind=PositionKind.PELAKSANA)
    db.session.add_all([unit, position])
    db.session.flush()
    people = db.metadata.tables["employee"]
    base = {"employment_type": EmploymentType.PNS.value, "unit_id": unit.id, "position_id": position.id}
    rows = [
        {**base, "nip": f"19800101200501{k}{k:03d}", "name": name, "email": f"{key}@contoh.go.id"}
        for k, (key, name) in enumerate(
            [("camat", "Camat Rakumpit"), ("kasi", "Kepala Seksi Pelayanan"), ("plt", "Plt. Kepala Seksi")],
            start=1,
        )
    ]
    db.session.execute(sa.insert(people), rows)
    camat, kasi, plt = (
        db.session.scalar(sa.select(Employee).where(Employee.email == f"{k}@contoh.go.id"))
        for k in ("camat", "kasi", "plt")
    )
    kasi.supervisor_id = plt.supervisor_id = camat.id
    staff = [
        {
            **base,
            "nip": f"19{60 + i % 35:02d}{1 + i % 12:02d}{1 + i % 28:02d}2010{1 + i % 12:02d}1{i % 1000:03d}",
            "name": f"Pegawai {i:05d}",
            "email": f"pegawai{i}@contoh.go.id",
            "supervisor_id": kasi.id,
        }
        for i in range(n)
    ]
    db.session.execute(sa.insert(people), staff)
    db.session.commit()
    start = clock.now()
    data = {
        "name": "SKP Tahunan 2027",
        "kind": "annual",
        "year": 2027,
        "period": None,
        "annual_cycle_id": None,
        "unit_ids": [unit.id],
        "target_deadline": start + timedelta(days=25),
        "assessment_deadline": start + timedelta(days=60),
        "review_deadline": start + timedelta(days=80),
        "appeal_deadline": start + timedelta(days=110),
        "appeal_window_days": 14,
        "appeal_decision_days": 14,
    }
    cycle = cycles.save_cycle(None, data, None)
    cycles.open_cycle(cycle, None)
    return kasi, plt


def floor(source: Employee, to: Employee) -> float:
    """The same writes as the service, by hand in one transaction; seconds."""
    start = time.perf_counter()
    now = clock.utcnow()
    batch = uuid.uuid4().hex
    chosen = sa.select(Evaluation.id).where(Evaluation.rater_id == source.id)
    db.session.execute(
        sa.insert(Reassignment).from_select(
            ["batch", "evaluation_id", "role", "from_id", "to_id", "reason", "created_at"],
            sa.select(
                sa.literal(batch),
                Evaluation.id,
                sa.literal("rater"),
                Evaluation.rater_id,
                sa.literal(to.id),
                sa.literal(REASON),
                sa.literal(now, UTCDateTime()),
            ).where(Evaluation.rater_id == source.id),
        )
    )
    db.session.execute(
        sa.update(Reassignment)
        .where(
            Reassignment.ended_at.is_(None),
            Reassignment.batch != batch,
            Reassignment.evaluation_id.in_(chosen),
        )
        .values(ended_at=now)
    )
    db.session.execute(
        sa.insert(AuditEvent).from_select(
            ["occurred_at", "action", "object_type", "object_id", "comment"],
            sa.select(
                sa.literal(now, UTCDateTime()),
                sa.literal("evaluation.reassigned"),
                sa.literal("evaluation"),
                sa.cast(Evaluation.id, sa.String),
                sa.literal(f"Pejabat penilai: {source.name} → {to.name}. Alasan: {REASON}"),
            ).where(Evaluation.rater_id == source.id),
        )
    )
    employees = sa.select(Evaluation.employee_id).where(Evaluation.rater_id == source.id)
    body_id = db.session.scalar(
        sa.insert(OutboxBody)
        .values(body_text="x" * 600, body_html="x" * 1500, created_at=now)
        .returning(OutboxBody.id)
    )
    stamp = sa.literal(now, UTCDateTime())
    db.session.execute(
        sa.insert(OutboxMessage).from_select(
            [
                "key",
                "kind",
                "recipient_id",
                "to_address",
                "subject",
                "body_id",
                "state",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            sa.select(
                sa.literal(f"floor:{batch}:") + sa.cast(Employee.id, sa.String),
                sa.literal("reassigned"),
                Employee.id,
                Employee.email,
                sa.literal("Perubahan pejabat penilai kinerja Anda"),
                sa.literal(body_id),
                sa.literal(MessageState.PENDING.value),
                sa.literal(0),
                stamp,
                stamp,
            ).where(Employee.id.in_(employees)),
        )
    )
    for person in (source, to):
        digest = db.session.scalar(
            sa.insert(OutboxBody)
            .values(body_text="x" * 900, body_html="x" * 2000, created_at=now)
            .returning(OutboxBody.id)
        )
        db.session.execute(
            sa.insert(OutboxMessage).values(
                key=f"floor:{batch}:official:{person.id}",
                kind="reassigned_official",
                recipient_id=person.id,
                to_address=person.email,
                subject="Perubahan penugasan",
                body_id=digest,
                state=MessageState.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.rater_id == source.id)
        .values(rater_id=to.id, version=Evaluation.version + 1, updated_at=now)
    )
    db.session.commit()
    return time.perf_counter() - start


def service(source: Employee, to: Employee, n: int) -> float:
    """HR's bulk reassignment, with the count the preview showed; seconds."""
    start = time.perf_counter()
    moved = reassign.reassign_all("rater", source, to, REASON, None, None, expected_count=n)
    elapsed = time.perf_counter() - start
    assert moved == n, moved
    return elapsed


def main() -> None:
    """Run for each N."""
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    for n in args.sizes:
        app = fresh_app(args.database_url)
        print(f"N = {n} on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}", flush=True)
        with app.app_context():
            kasi, plt = build(n)
            first = service(kasi, plt, n)
            print(f"  reassign_all Kasi -> Plt. ({n} evaluations)      {first:8.3f} s", flush=True)
            raw = floor(plt, kasi)
            print(f"  raw SQL floor Plt. -> Kasi (same writes)           {raw:8.3f} s", flush=True)
            second = service(kasi, plt, n)
            print(f"  reassign_all Kasi -> Plt. again                    {second:8.3f} s", flush=True)
            print(f"  second run / floor: {second / raw:5.2f}x (target <= 3x)", flush=True)


if __name__ == "__main__":
    main()
