"""Benchmark: finding people by part of a name (employee list, audit search), with and without
the search index, in one run.

    .venv/bin/python -m bench.search --n 100000 [--database-url URL] [--repeat 40]

The agency of bench.scale (same seed and tree) is imported with realistic names instead of
"Pegawai i": a first name and a family name from lists of 40 each, a quarter with a middle
name, so "hane" (Yohanes, Johanes, Stephanie...) matches a few percent of the people, as it
would in a real agency. Everyone gets an account and three audit entries. Each page is
measured as bench.scale does (median and p95 of --repeat requests signed in as HR, the SQL
count, the same statements run bare), first with the index (PostgreSQL: the trigram index;
SQLite: the FTS5 table), then as a scan (PostgreSQL: the index dropped; SQLite: the FTS5
narrowing turned off), then with the index again.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import clock  # noqa: E402
from app.extensions import db  # noqa: E402
from app.imports import people as csv_import  # noqa: E402
from app.models import Account, AuditEvent, Employee  # noqa: E402
from app.services import people as people_service  # noqa: E402
from bench.common import fresh_app  # noqa: E402
from bench.import_people import synthetic_people  # noqa: E402
from bench.scale import Report, analyze, create_accounts, measure_page, sign_in  # noqa: E402

FIRST = (
    "Yohanes Agus Budi Citra Dewi Eko Fajar Gita Hendra Indah Joko Kartika Lestari Made Nur Putri "
    "Rina Sari Teguh Wahyu Yusuf Andreas Maria Stephanie Ni Ketut Siti Ahmad Bayu Dimas Fitri "
    "Galih Hana Ilham Johanes Kurnia Lukman Melati Novi Oktavia"
).split()
FAMILY = (
    "Saputra Wijaya Santoso Hidayat Pratama Kusuma Nugroho Siregar Nasution Lubis Harahap Simanjuntak "
    "Tanjung Hutapea Manurung Sitompul Purba Ginting Sembiring Tarigan Rahman Hakim Setiawan "
    "Gunawan Halim Susanto Wibowo Utomo Suryadi Permana Firmansyah Ramadhan Kurniawan Syahputra "
    "Anggraini Lestari Wulandari Puspita Maharani Rahayu"
).split()
SEED = 20261130


def realistic_names(n: int, seed: int = SEED) -> list[str]:
    """n names, the same for the same n and seed."""
    rng = random.Random(seed)
    names = []
    for _ in range(n):
        parts = [rng.choice(FIRST)]
        if rng.random() < 0.25:
            parts.append(rng.choice(FIRST))
        parts.append(rng.choice(FAMILY))
        names.append(" ".join(parts))
    return names


def agency_csv(n: int) -> tuple[str, str]:
    """The units and employees CSV of bench.scale's agency, with realistic names."""
    units, people = synthetic_people(n)
    names = realistic_names(n)
    unit_lines = ["kode,nama,kode_induk"] + [f"{c},{name},{parent or ''}" for c, name, parent in units]
    people_lines = ["nip,nama,email,jenis_pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan"] + [
        f"{p['nip']},{name},{p['email']},{p['type']},{p['unit']},{p['position']},"
        f"{p['position_kind']},{p['supervisor']}"
        for p, name in zip(people, names, strict=True)
    ]
    return "\n".join(unit_lines) + "\n", "\n".join(people_lines) + "\n"


def audit_trail(per_account: int = 3) -> int:
    """`per_account` entries by every account, set-based; their number."""
    now = clock.utcnow()
    copies = sa.union_all(*[sa.select(sa.literal(i).label("k")) for i in range(per_account)]).subquery()
    db.session.execute(
        sa.insert(AuditEvent).from_select(
            ["occurred_at", "actor_id", "action", "object_type", "object_id"],
            sa.select(
                sa.literal(now, AuditEvent.occurred_at.type),
                Account.id,
                sa.literal("people.updated"),
                sa.literal("employee"),
                sa.cast(Account.employee_id, sa.String),
            ).select_from(sa.join(Account, copies, sa.true())),
        )
    )
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def without_index(dialect: str):
    """Turn the search index off (PostgreSQL: drop it; SQLite: no FTS5 narrowing)."""
    if dialect == "postgresql":
        db.session.execute(sa.text("DROP INDEX ix_employee_search"))
        db.session.commit()
    else:
        people_service.TRIGRAM = 10**9


def with_index(dialect: str) -> float:
    """Turn it on again; PostgreSQL: the seconds CREATE INDEX took."""
    start = time.perf_counter()
    if dialect == "postgresql":
        db.session.execute(
            sa.text(
                "CREATE INDEX ix_employee_search ON employee USING gin "
                "(lower(name) gin_trgm_ops, email gin_trgm_ops)"
            )
        )
        db.session.commit()
        analyze()
    else:
        people_service.TRIGRAM = 3
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    print(
        f"bench.search, N = {args.n}, {os.cpu_count()} cores; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    app = fresh_app(args.database_url)
    with app.app_context():
        dialect = db.engine.dialect.name
        units_csv, people_csv = agency_csv(args.n)
        csv_import.apply_import(csv_import.plan_import("units", units_csv.encode()))
        plan = csv_import.plan_import("employees", people_csv.encode())
        assert plan.ok, plan.errors[:3]
        csv_import.apply_import(plan)
        hr_id, _seconds = create_accounts()
        events = audit_trail()
        analyze()
        hr = sign_in(app, db.session.scalar(sa.select(Account.employee_id).where(Account.id == hr_id)))
        nip = db.session.scalar(sa.select(Employee.nip).order_by(Employee.id).offset(args.n // 2).limit(1))
        queries = [
            ("employee search 'hane'", "/people/?q=hane"),
            ("employee search 'hanes sap'", "/people/?q=hanes+sap"),
            ("employee search, NIP's first 14 digits", f"/people/?q={nip[:14]}"),
            ("audit search 'hane'", "/audit/?who=hane"),
            ("audit search 'hanes sap'", "/audit/?who=hanes+sap"),
        ]
        for query in ("hane", "hanes sap"):
            hits = db.session.scalar(
                sa.select(sa.func.count()).select_from(Employee).where(people_service.matching(query))
            )
            print(f"  '{query}' matches {hits} of {args.n} employees; {events} audit entries")
        options = SimpleNamespace(profile=set())
        report = Report(dialect, args.n)
        print("\n  with the search index")
        for label, url in queries:
            measure_page(report, app, hr, label, url, args.repeat, options)
        without_index(dialect)
        print("\n  without it (a scan, as before)")
        for label, url in queries:
            measure_page(report, app, hr, label + " [scan]", url, args.repeat, options)
        seconds = with_index(dialect)
        built = f" (CREATE INDEX {seconds:.1f} s)" if dialect == "postgresql" else ""
        print(f"\n  with the index again{built}")
        for label, url in queries:
            measure_page(report, app, hr, label + " [again]", url, args.repeat, options)
        print("  load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
