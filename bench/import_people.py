"""Benchmark: import N employees from CSV (plan + apply), fresh and unchanged, beside the floor.

    .venv/bin/python bench/import_people.py [N] [--database-url URL] [--before FILE]

Builds a synthetic agency (a unit tree and a supervisor tree 3-12 wide), writes it as the CSV
HR would upload, imports it into an empty migrated database (plan, then apply), then imports the
same file again (nothing to change: plan, then apply).

The floor is the same work in plain SQL, the fastest way it can be written: the file loaded
into a temporary staging table (PostgreSQL: `COPY ... FROM STDIN`; SQLite: one executemany),
set-based checks (NIP format, names, e-mail shape, employment type and jenis jabatan, NIPs and
e-mails unique in the file, units known, supervisors known, e-mails not held by someone else),
the new positions with one INSERT ... SELECT, and the employees with one INSERT ... SELECT
whose ids are taken from the sequence as the file is loaded, so each row carries its
supervisor. The re-import floor is the load, the checks and one set-based comparison with the
stored rows (none differ). Both pay what the database does for every row the import writes:
index entries and foreign-key checks (about half of the INSERT at 100 000).

--before FILE times another version of app/imports/people.py first (e.g. `git show
733cb98:app/imports/people.py > /tmp/people_before.py`), on the schema of its time (without
the search index of migration b626b9d82ee0), so one run gives before and after.
"""

import argparse
import csv
import importlib.util
import io
import os
import random
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import downgrade, upgrade  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.database import long_statements  # noqa: E402
from app.extensions import db  # noqa: E402
from app.imports import people as csv_import  # noqa: E402
from app.models import OrgUnit, Position  # noqa: E402


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
    print(f"  {label:<46} {elapsed:8.2f} s", flush=True)
    return result, elapsed


STAGING_COLUMNS = (
    "nip",
    "nama",
    "email",
    "jenis_pegawai",
    "kode_unit",
    "jabatan",
    "jenis_jabatan",
    "nip_atasan",
)
KINDS = ("JPT", "Administrator", "Pengawas", "Fungsional", "Pelaksana")


def floor_checks(postgresql: bool) -> list[str]:
    """The set-based checks of the floor: each counts the rows it refuses (all must be 0)."""
    if postgresql:
        nip_bad = r"s.nip !~ '^[0-9]{18}$'"
        email_bad = r"s.email !~ '^[^@ ]+@[^@ ]+\.[^@ ]+$'"
    else:
        nip_bad = "length(s.nip) <> 18 OR s.nip GLOB '*[^0-9]*'"
        email_bad = "s.email NOT LIKE '%_@_%._%' OR s.email LIKE '% %'"
    kinds = ", ".join(f"'{kind}'" for kind in KINDS)
    return [
        f"SELECT count(*) FROM staging s WHERE {nip_bad} OR s.nama = '' OR length(s.nama) > 200 "
        f"OR {email_bad} OR s.jenis_pegawai NOT IN ('PNS', 'PPPK') OR s.jenis_jabatan NOT IN ({kinds}) "
        "OR s.jabatan = ''",
        "SELECT count(*) FROM (SELECT nip FROM staging GROUP BY nip HAVING count(*) > 1) d",
        "SELECT count(*) FROM (SELECT lower(email) FROM staging GROUP BY lower(email) HAVING count(*) > 1) d",
        "SELECT count(*) FROM staging s LEFT JOIN org_unit u ON u.code = s.kode_unit WHERE u.id IS NULL",
        "SELECT count(*) FROM staging s WHERE s.nip_atasan <> '' "
        "AND NOT EXISTS (SELECT 1 FROM staging t WHERE t.nip = s.nip_atasan) "
        "AND NOT EXISTS (SELECT 1 FROM employee e WHERE e.nip = s.nip_atasan)",
        "SELECT count(*) FROM staging s JOIN employee e ON e.email = lower(s.email) WHERE e.nip <> s.nip",
    ]


def load_staging(people_csv: str, postgresql: bool) -> None:
    """The file into a temporary staging table: COPY on PostgreSQL, one executemany on SQLite."""
    columns = ", ".join(f"{name} TEXT" for name in STAGING_COLUMNS)
    db.session.execute(sa.text("DROP TABLE IF EXISTS staging"))  # SQLite keeps it until the connection closes
    # PostgreSQL: each row takes its employee id from the sequence as it is loaded.
    id_column = "id INTEGER DEFAULT nextval('employee_id_seq')" if postgresql else "id INTEGER"
    db.session.execute(sa.text(f"CREATE TEMPORARY TABLE staging ({id_column}, {columns})"))
    names = ", ".join(STAGING_COLUMNS)
    if postgresql:
        cursor = db.session.connection().connection.cursor()
        with cursor.copy(f"COPY staging ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(people_csv)
        cursor.close()
    else:
        rows = list(csv.reader(io.StringIO(people_csv)))[1:]
        marks = ", ".join("?" for _name in STAGING_COLUMNS)
        db.session.connection().connection.cursor().executemany(
            f"INSERT INTO staging ({names}) VALUES ({marks})", rows
        )


def floor_checked(people_csv: str, postgresql: bool) -> None:
    """Load and check (the part every import does), with the bulk statement timeout."""
    with long_statements():
        pass  # SET LOCAL for the transaction that has just begun
    load_staging(people_csv, postgresql)
    if not postgresql:  # SQLite joins by nested loops: without an index the checks are quadratic
        db.session.execute(sa.text("CREATE INDEX staging_nip ON staging (nip)"))
    db.session.execute(sa.text("ANALYZE staging"))
    for check in floor_checks(postgresql):
        refused = db.session.scalar(sa.text(check))
        assert refused == 0, (check, refused)


def floor_import(people_csv: str, postgresql: bool) -> None:
    """The fresh import in plain SQL: load, check, positions, employees (supervisors set)."""
    floor_checked(people_csv, postgresql)
    now = clock.utcnow().isoformat()
    db.session.execute(
        sa.text(
            "INSERT INTO position (name, kind) SELECT min(jabatan), min(jenis_jabatan) FROM staging "
            "WHERE lower(jabatan) NOT IN (SELECT lower(name) FROM position) GROUP BY lower(jabatan)"
        )
    )
    if not postgresql:
        db.session.execute(
            sa.text("UPDATE staging SET id = rowid + coalesce((SELECT max(id) FROM employee), 0)")
        )
    db.session.execute(
        sa.text(
            "INSERT INTO employee (id, nip, name, email, employment_type, unit_id, position_id, "
            "supervisor_id, active, version, created_at, updated_at) "
            "SELECT s.id, s.nip, s.nama, lower(s.email), s.jenis_pegawai, u.id, p.id, "
            "coalesce(sup.id, e.id), true, 1, :now, :now FROM staging s "
            "JOIN org_unit u ON u.code = s.kode_unit "
            "JOIN (SELECT lower(name) AS key, min(id) AS id FROM position GROUP BY lower(name)) p "
            "ON p.key = lower(s.jabatan) "
            "LEFT JOIN staging sup ON sup.nip = s.nip_atasan "
            "LEFT JOIN employee e ON e.nip = s.nip_atasan"
        ),
        {"now": now},
    )
    db.session.commit()


def floor_reimport(people_csv: str, postgresql: bool) -> None:
    """The unchanged re-import in plain SQL: load, check, compare with the stored rows."""
    floor_checked(people_csv, postgresql)
    changed = db.session.scalar(
        sa.text(
            "SELECT count(*) FROM staging s JOIN employee e ON e.nip = s.nip "
            "JOIN org_unit u ON u.code = s.kode_unit JOIN position p ON p.id = e.position_id "
            "LEFT JOIN employee sup ON sup.id = e.supervisor_id "
            "WHERE e.name <> s.nama OR e.email <> lower(s.email) OR e.employment_type <> s.jenis_pegawai "
            "OR e.unit_id <> u.id OR lower(p.name) <> lower(s.jabatan) "
            "OR coalesce(sup.nip, '') <> s.nip_atasan OR NOT e.active"
        )
    )
    assert changed == 0, changed
    db.session.commit()


def load_module(path: str):
    """Another version of app/imports/people.py, loaded from a file."""
    spec = importlib.util.spec_from_file_location("people_import_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def empty_people(postgresql: bool) -> None:
    """No employees, positions or audit rows (the units stay)."""
    if postgresql:
        db.session.execute(sa.text("TRUNCATE employee, position, audit_event CASCADE"))
    else:
        db.session.execute(sa.text("PRAGMA foreign_keys=OFF"))  # no-op inside a transaction; nothing refers
        for table in ("audit_event", "account", "employee", "position"):
            db.session.execute(sa.text(f"DELETE FROM {table}"))
    db.session.commit()


def run_importer(importer, label: str, people_csv: str, n: int) -> dict:
    """Fresh import and unchanged re-import through `importer`; their seconds."""
    print(f"  {label}")
    plan, t_plan = timed(
        "fresh: plan (read and check everything)",
        lambda: importer.plan_import("employees", people_csv.encode()),
    )
    assert plan.ok, plan.errors[:5]
    _, t_apply = timed("fresh: apply (write)", lambda: importer.apply_import(plan))
    again, t_replan = timed(
        "unchanged re-import: plan", lambda: importer.plan_import("employees", people_csv.encode())
    )
    assert again.ok and again.unchanged == n, (again.created, again.updated, again.unchanged)
    _, t_reapply = timed("unchanged re-import: apply", lambda: importer.apply_import(again))
    return {"fresh": t_plan + t_apply, "plan": t_plan, "reimport": t_replan + t_reapply}


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--before", help="another version of app/imports/people.py to time first")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    postgresql = url.startswith("postgresql")
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "TESTING": False})
    units_csv, people_csv = synthetic_agency(args.n)
    print(f"import of {args.n} employees on {url.split(':')[0]} ({len(people_csv) / 1e6:.1f} MB CSV)")
    print("  load average at start: " + " ".join(f"{load:.2f}" for load in os.getloadavg()), flush=True)
    with app.app_context():
        if postgresql:
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        timed(
            "units: plan + apply",
            lambda: csv_import.apply_import(csv_import.plan_import("units", units_csv.encode())),
        )
        results = {}
        if args.before:
            downgrade(revision="768057c70d91")  # the schema before the search index
            results["before"] = run_importer(
                load_module(args.before), f"before ({args.before})", people_csv, args.n
            )
            empty_people(postgresql)
            upgrade()
        results["now"] = run_importer(csv_import, "now", people_csv, args.n)
        empty_people(postgresql)
        _, fresh_floor = timed(
            "floor: load, check, INSERT ... SELECT", lambda: floor_import(people_csv, postgresql)
        )
        _, reimport_floor = timed(
            "floor: load, check, compare (re-import)", lambda: floor_reimport(people_csv, postgresql)
        )
        print(f"  load average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
        for key, figures in results.items():
            print(
                f"  {key:<7} fresh {figures['fresh']:6.2f} s = {figures['fresh'] / fresh_floor:4.1f}x floor "
                f"(plan {figures['plan']:.2f} s);  re-import {figures['reimport']:6.2f} s = "
                f"{figures['reimport'] / reimport_floor:4.1f}x floor"
            )
        print(
            f"  units {db.session.scalar(sa.select(sa.func.count()).select_from(OrgUnit))}, "
            f"positions {db.session.scalar(sa.select(sa.func.count()).select_from(Position))}"
        )


if __name__ == "__main__":
    main()
