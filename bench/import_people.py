"""Benchmark: import N employees from CSV (plan + apply), beside the raw-SQL floor.

    .venv/bin/python bench/import_people.py [N] [--database-url URL]

Builds a synthetic agency (a unit tree and a supervisor tree 3-12 wide), writes it as the CSV
HR would upload, imports it into an empty migrated database, then re-imports it unchanged
(the upsert path), and finally inserts the same rows with plain executemany as the floor. On
PostgreSQL a second floor inserts them in one INSERT ... SELECT from a JSON parameter, the way
the import writes them, since that beats executemany there.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.imports import people as csv_import  # noqa: E402
from app.models import Employee, OrgUnit, Position  # noqa: E402


def random_nip(rng: random.Random, pppk: bool = False) -> str:
    """A valid NIP (birth 1965-1999, appointed at 22-31, not after 2025); PPPK carry "21" as month."""
    year = 1965 + rng.randrange(35)
    birth = f"{year}{1 + rng.randrange(12):02d}{1 + rng.randrange(28):02d}"
    month = "21" if pppk else f"{1 + rng.randrange(12):02d}"
    appointed = f"{min(year + 22 + rng.randrange(10), 2025)}{month}"
    return f"{birth}{appointed}{1 + rng.randrange(2)}{1 + rng.randrange(999):03d}"


# Jabatan by depth in the supervisor tree: (name, kind). Depth 0 heads the agency; from depth 3
# down people hold functional or executor posts (some of them still lead a team).
LEVEL_POSITIONS = [
    [("Kepala Badan", "JPT")],
    [("Kepala Bidang", "Administrator"), ("Sekretaris Badan", "Administrator")],
    [("Kepala Subbidang", "Pengawas"), ("Kepala Seksi", "Pengawas"), ("Kepala Subbagian", "Pengawas")],
]
STAFF_POSITIONS = [
    ("Analis Kebijakan Ahli Muda", "Fungsional"),
    ("Analis Kebijakan Ahli Pertama", "Fungsional"),
    ("Perawat Terampil", "Fungsional"),
    ("Pranata Komputer Ahli Pertama", "Fungsional"),
    ("Arsiparis Terampil", "Fungsional"),
    ("Pengolah Data", "Pelaksana"),
    ("Pengadministrasi Umum", "Pelaksana"),
    ("Pengelola Keuangan", "Pelaksana"),
    ("Pengelola Program dan Kegiatan", "Pelaksana"),
    ("Penelaah Kebijakan", "Pelaksana"),
]
UNIT_NAMES = ["Bidang", "Subbidang", "Seksi"]


def synthetic_people(n: int, seed: int = 20261128) -> tuple[list[tuple], list[dict]]:
    """An agency of n people filled breadth-first: every supervisor gets 3-12 subordinates.

    Returns (units as (code, name, parent code), people as dicts with nip, name, email, kind,
    unit, position, position kind, supervisor nip, depth). People at depth 1 and 2 head a unit
    of their own, a quarter of those at depth 3 too; everyone else works in their supervisor's
    unit. 10 % are PPPK. The same n and seed give the same agency.
    """
    rng = random.Random(seed)
    units = [("ROOT", "Pemerintah Kota", None)]
    people: list[dict] = []
    seen: set[str] = set()
    frontier: deque[tuple[str, str, int]] = deque()  # (nip, unit code, depth) of possible supervisors
    while len(people) < n:
        if frontier:
            sup_nip, unit, depth = frontier.popleft()
            width = rng.randint(3, 12)
        else:
            sup_nip, unit, depth, width = "", "ROOT", -1, 1
        if depth in (1, 2) or (depth == 3 and rng.random() < 0.25):
            code = f"U{len(units)}"
            units.append((code, f"{UNIT_NAMES[depth - 1]} {len(units)}", unit))
            unit = code
        for _ in range(width):
            if len(people) >= n:
                break
            i = len(people)
            pppk = sup_nip != "" and rng.random() < 0.10
            candidate = random_nip(rng, pppk)
            while candidate in seen:
                candidate = random_nip(rng, pppk)
            seen.add(candidate)
            level = depth + 1
            position, kind = rng.choice(LEVEL_POSITIONS[level] if level < 3 else STAFF_POSITIONS)
            people.append(
                {
                    "nip": candidate,
                    "name": f"Pegawai {i}",
                    "email": f"p{i}@contoh.go.id",
                    "type": "PPPK" if pppk else "PNS",
                    "unit": unit,
                    "position": position,
                    "position_kind": kind,
                    "supervisor": sup_nip,
                    "depth": level,
                }
            )
            frontier.append((candidate, unit, level))
    return units, people


def synthetic_agency(n: int, seed: int = 20261128) -> tuple[str, str]:
    """Units CSV and employees CSV (the import format) for an agency of n people."""
    units, people = synthetic_people(n, seed)
    unit_lines = ["kode,nama,kode_induk"] + [f"{c},{name},{parent or ''}" for c, name, parent in units]
    people_lines = ["nip,nama,email,jenis_pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan"] + [
        f"{p['nip']},{p['name']},{p['email']},{p['type']},{p['unit']},{p['position']},"
        f"{p['position_kind']},{p['supervisor']}"
        for p in people
    ]
    return "\n".join(unit_lines) + "\n", "\n".join(people_lines) + "\n"


def timed(label: str, func):
    """Run func, print and return its duration."""
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    print(f"  {label:<42} {elapsed:8.2f} s")
    return result, elapsed


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "TESTING": False})
    units_csv, people_csv = synthetic_agency(args.n)
    print(f"import of {args.n} employees on {url.split(':')[0]} ({len(people_csv) / 1e6:.1f} MB CSV)")
    print("  load average at start: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        plan, _ = timed(
            "units: plan + apply",
            lambda: csv_import.apply_import(csv_import.plan_import("units", units_csv.encode())),
        )
        plan, t_plan = timed(
            "employees: plan (validate everything)",
            lambda: csv_import.plan_import("employees", people_csv.encode()),
        )
        assert plan.ok, plan.errors[:5]
        _, t_apply = timed("employees: apply (write)", lambda: csv_import.apply_import(plan))
        print(f"  {'employees: total':<42} {t_plan + t_apply:8.2f} s")
        again, _ = timed(
            "re-import unchanged: plan", lambda: csv_import.plan_import("employees", people_csv.encode())
        )
        assert again.unchanged == args.n, (again.created, again.updated, again.unchanged)

        # The floor: the same rows inserted with one executemany into an empty employee table.
        rows = (
            db.session.execute(sa.select(*[c for c in Employee.__table__.c if c.name != "id"]))
            .mappings()
            .all()
        )
        rows = [dict(r) for r in rows]
        db.session.execute(sa.update(Employee).values(supervisor_id=None))
        db.session.execute(sa.delete(Employee))
        db.session.commit()
        for r in rows:
            r["supervisor_id"] = None
            r["created_at"] = r["updated_at"] = clock.utcnow()

        def floor():
            db.session.execute(sa.insert(Employee.__table__), rows)
            db.session.commit()

        _, t_floor = timed("floor: executemany INSERT of the same rows", floor)
        print(f"  ratio import / floor: {(t_plan + t_apply) / t_floor:.1f}x")
        if url.startswith("postgresql"):
            db.session.execute(sa.delete(Employee))
            db.session.commit()
            table = Employee.__table__
            names = list(rows[0])
            given = (
                sa.func.json_to_recordset(sa.bindparam("rows", type_=sa.JSON))
                .table_valued(*[sa.column(name, table.c[name].type) for name in names])
                .render_derived(with_types=True)
            )
            statement = sa.insert(table).from_select(names, sa.select(*[given.c[name] for name in names]))
            for r in rows:
                r["created_at"] = r["updated_at"] = r["created_at"].isoformat()

            def floor_json():
                db.session.execute(statement, {"rows": rows})
                db.session.commit()

            _, t_json = timed("floor: INSERT ... SELECT from one JSON param", floor_json)
            print(f"  ratio import / JSON floor: {(t_plan + t_apply) / t_json:.1f}x")
        print(
            f"  units {db.session.scalar(sa.select(sa.func.count()).select_from(OrgUnit))}, "
            f"positions {db.session.scalar(sa.select(sa.func.count()).select_from(Position))}"
        )


if __name__ == "__main__":
    main()
