"""Benchmark: import N employees from CSV (plan + apply), beside the raw-SQL floor.

    .venv/bin/python bench/import_people.py [N] [--database-url URL]

Builds a synthetic agency (a unit tree and a supervisor tree 3-12 wide), writes it as the CSV
HR would upload, imports it into an empty migrated database, then re-imports it unchanged
(the upsert path), and finally inserts the same rows with plain executemany as the floor.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Employee, OrgUnit, Position  # noqa: E402
from app.services import csv_io  # noqa: E402


def random_nip(rng: random.Random) -> str:
    """A valid NIP (birth 1965-1999, appointed at 22-31, not after 2025)."""
    year = 1965 + rng.randrange(35)
    birth = f"{year}{1 + rng.randrange(12):02d}{1 + rng.randrange(28):02d}"
    appointed = f"{min(year + 22 + rng.randrange(10), 2025)}{1 + rng.randrange(12):02d}"
    return f"{birth}{appointed}{1 + rng.randrange(2)}{1 + rng.randrange(999):03d}"


def synthetic_agency(n: int, seed: int = 20261128) -> tuple[str, str]:
    """Units CSV and employees CSV for an agency of n people."""
    rng = random.Random(seed)
    units = ["kode,nama,kode_induk", "ROOT,Pemerintah Kota,"]
    people = ["nip,nama,email,jenis_pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan"]
    seen: set[str] = set()
    frontier: list[tuple[str, str]] = []  # (nip, unit code) of people who may get subordinates
    i = 0
    while i < n:
        if not frontier:
            sup_nip, unit = "", "ROOT"
        else:
            sup_nip, unit = frontier.pop(0)
        width = 1 if not frontier and i == 0 else rng.randint(3, 12)
        if sup_nip and rng.random() < 0.5:
            code = f"U{i}"
            units.append(f"{code},Unit {i},{unit}")
            unit = code
        for _ in range(width):
            if i >= n:
                break
            candidate = random_nip(rng)
            while candidate in seen:
                candidate = random_nip(rng)
            seen.add(candidate)
            kind = "Pelaksana" if sup_nip else "JPT"
            people.append(
                f"{candidate},Pegawai {i},p{i}@contoh.go.id,PNS,{unit},Jabatan {kind},{kind},{sup_nip}"
            )
            frontier.append((candidate, unit))
            i += 1
    return "\n".join(units) + "\n", "\n".join(people) + "\n"


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
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        plan, _ = timed(
            "units: plan + apply",
            lambda: csv_io.apply_import(csv_io.plan_import("units", units_csv.encode())),
        )
        plan, t_plan = timed(
            "employees: plan (validate everything)",
            lambda: csv_io.plan_import("employees", people_csv.encode()),
        )
        assert plan.ok, plan.errors[:5]
        _, t_apply = timed("employees: apply (write)", lambda: csv_io.apply_import(plan))
        print(f"  {'employees: total':<42} {t_plan + t_apply:8.2f} s")
        again, _ = timed(
            "re-import unchanged: plan", lambda: csv_io.plan_import("employees", people_csv.encode())
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
        print(
            f"  units {db.session.scalar(sa.select(sa.func.count()).select_from(OrgUnit))}, "
            f"positions {db.session.scalar(sa.select(sa.func.count()).select_from(Position))}"
        )


if __name__ == "__main__":
    main()
