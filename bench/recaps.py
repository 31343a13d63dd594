"""Benchmark: the results recap (.xlsx) of a cycle of N employees, beside its floor.

    .venv/bin/python -m bench.recaps [N] [--database-url URL] [--repeat 2]

Setup (untimed): the synthetic agency of bench.scale imported through the CSV importer, an annual
cycle over it with one evaluation per employee, its results set-based (ratings and predikat spread
over the table, a few withdrawn or marked 'tidak dinilai', the functional posts given a jenjang so
they earn angka kredit, every PNS a pangkat/golongan).

Measured, each in a fresh Python process so its peak RSS (VmHWM) is its own: the recap as HR downloads it
(app.output.xlsx.write_results), and the floor: the same SQL run once on a raw DBAPI cursor
(server-side on PostgreSQL) and its rows written with XlsxWriter alone (constant-memory mode,
`write_row`, no labels or formats). Goal at 100 000 on PostgreSQL: < 10 s and < 250 MB peak RSS.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
import xlsxwriter

from app import clock, create_app
from app.domain import PREDIKAT_TABLE
from app.extensions import db
from app.models import (
    Account,
    Cycle,
    Employee,
    EmploymentType,
    Evaluation,
    OrgUnit,
    Position,
    PositionKind,
)
from app.models.people import PNS_RANKS
from app.output import xlsx
from app.workflow import cycles
from bench.common import fresh_app, load_agency
from bench.scale import create_accounts, cycle_data

GOAL_SECONDS, GOAL_MB = 10.0, 250.0


def peak_mb() -> float:
    """This process's peak resident set size so far, in MB: VmHWM on Linux (ru_maxrss would carry
    the parent's peak over fork and exec), else ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / (1024 if sys.platform == "darwin" else 1)
    )


def build(n: int) -> int:
    """The agency, a cycle over it and its results (setup); returns the cycle's id."""
    load_agency(n)
    hr_id, _seconds = create_accounts()
    hr = db.session.get(Account, hr_id)
    root = db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
    cycle = cycles.save_cycle(None, cycle_data(root, clock.utcnow() + timedelta(days=30)), hr)
    cycles.open_cycle(cycle, hr)
    # The results, spread over the table by evaluation id (set-based).
    bucket = Evaluation.id % 100
    results = sa.case((bucket < 15, "above"), (bucket < 90, "meets"), else_="below")
    behaviour = sa.case((bucket % 7 == 0, "above"), (bucket % 13 == 0, "below"), else_="meets")
    db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.cycle_id == cycle.id)
        .values(
            state=sa.case((bucket == 98, "withdrawn"), (bucket == 99, "not_rated"), else_="reviewed"),
            results_rating=sa.case((bucket < 98, results)),
            behaviour_rating=sa.case((bucket < 98, behaviour)),
            withdrawal_reason=sa.case((bucket == 98, "pensiun")),
            set_aside_note=sa.case((bucket == 99, "Atasan langsung cuti sakit panjang")),
        )
        .execution_options(synchronize_session=False)
    )
    predikat = sa.case(
        *(
            (sa.and_(Evaluation.results_rating == r.value, Evaluation.behaviour_rating == b.value), p.value)
            for (r, b), p in PREDIKAT_TABLE.items()
        )
    )
    db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.cycle_id == cycle.id, Evaluation.state == "reviewed")
        .values(predikat=predikat)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Position)
        .where(Position.kind == PositionKind.FUNGSIONAL)
        .values(jenjang_code="ahli_pertama")
    )
    rank = sa.case(*((Employee.id % len(PNS_RANKS) == i, name) for i, name in enumerate(PNS_RANKS)))
    db.session.execute(
        sa.update(Employee)
        .where(Employee.employment_type == EmploymentType.PNS)
        .values(rank=rank)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    return cycle.id


def floor(cycle, out: str) -> int:
    """The same SQL on a raw cursor, its rows written with XlsxWriter alone."""
    sql = str(
        xlsx.results_query(cycle).compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    )
    raw = db.engine.raw_connection()
    try:
        postgres = db.engine.dialect.name == "postgresql"
        cursor = raw.driver_connection.cursor(name="floor") if postgres else raw.cursor()
        if postgres:
            cursor.itersize = xlsx.BATCH
        cursor.execute(sql)
        book = xlsxwriter.Workbook(out, {"constant_memory": True})
        ws = book.add_worksheet()
        row = 0
        while batch := cursor.fetchmany(xlsx.BATCH):
            for values in batch:
                ws.write_row(row, 0, values)
                row += 1
        book.close()
        cursor.close()
    finally:
        raw.close()
    return row


def measure(kind: str, url: str, cycle_id: int) -> dict:
    """In this (fresh) process: write the recap or the floor, report its time and peak RSS."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-recap-"))
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "TESTING": False})
    out = str(workdir / f"{kind}.xlsx")
    with app.test_request_context():  # as a download runs: in a request, labels in Indonesian
        cycle = db.session.get(Cycle, cycle_id)
        before = peak_mb()
        start = time.perf_counter()
        rows = xlsx.write_results(cycle, out) if kind == "recap" else floor(cycle, out)
        seconds = time.perf_counter() - start
    size = os.path.getsize(out)
    return {
        "kind": kind,
        "rows": rows,
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "before_mb": before,
        "bytes": size,
    }


def child(kind: str, url: str, cycle_id: int) -> dict:
    """Run `measure` in a new interpreter."""
    command = [
        sys.executable,
        "-m",
        "bench.recaps",
        "--measure",
        kind,
        "--database-url",
        url,
        "--cycle",
        str(cycle_id),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 (our own module)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Set up, then measure the recap and the floor alternately."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (the best is reported)")
    parser.add_argument("--measure", choices=["recap", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--cycle", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.database_url, args.cycle)))
        return

    app = fresh_app(args.database_url)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    database = url.split(":")[0].split("+")[0]
    print(f"Results recap of {args.n} employees on {database} (load average {os.getloadavg()[0]:.2f})")
    with app.app_context():
        start = time.perf_counter()
        cycle_id = build(args.n)
        print(f"  setup (agency, cycle, results)                 {time.perf_counter() - start:8.1f} s")
    runs: dict[str, list[dict]] = {"recap": [], "floor": []}
    for _ in range(args.repeat):
        for kind in ("floor", "recap"):
            result = child(kind, url, cycle_id)
            runs[kind].append(result)
            print(
                f"  {kind:<6} {result['rows']:>7} rows  {result['seconds']:7.2f} s"
                f"  peak RSS {result['peak_mb']:6.1f} MB"
                f"  (before writing {result['before_mb']:.1f} MB)  {result['bytes'] / 1e6:.1f} MB file",
                flush=True,
            )
    best = {kind: min(results, key=lambda r: r["seconds"]) for kind, results in runs.items()}
    recap, bare = best["recap"], best["floor"]
    ratio = recap["seconds"] / bare["seconds"] if bare["seconds"] else float("inf")
    peak = max(r["peak_mb"] for r in runs["recap"])
    print(
        f"\n  recap {recap['seconds']:.2f} s, floor {bare['seconds']:.2f} s ({ratio:.2f}x floor); "
        f"peak RSS {peak:.1f} MB (floor {max(r['peak_mb'] for r in runs['floor']):.1f} MB)"
    )
    verdict = "met" if recap["seconds"] < GOAL_SECONDS and peak < GOAL_MB else "NOT met"
    print(f"  goal < {GOAL_SECONDS:.0f} s and < {GOAL_MB:.0f} MB peak RSS: {verdict}")


if __name__ == "__main__":
    main()
