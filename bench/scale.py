"""Scale benchmark: one evaluation cycle of a synthetic agency, each step beside its raw floor.

    .venv/bin/python -m bench.scale --sizes 1000 100000 [--database-url URL] [--pages-repeat 40]
        [--approvals 200] [--no-scheduler] [--no-copy] [--profile STEP ...] [--json FILE]

For every N: import the agency from CSV, give everyone an account, open an annual cycle, write
every SKP (2-5 RHK with 1-3 indicators each, set-based), then walk the cycle: reminder digests,
rater approvals (the real service, a sample), the deadline lock (and the scheduler process
doing it, for its memory), the phases, the appeals, publication with the distribution check,
and the page set in between. Before the appeal-phase pages, `--progress-share` per cent of the
evaluations (and always the employee whose pages are measured) get a year of progress logs: five
entries per indicator per month, every other one verified.

The floor of a bulk step is the same rows written bare: every row the step inserted or changed
is captured, the step is undone (untimed), and the captured rows are written again with
SQLAlchemy Core executemany in one transaction (on PostgreSQL also with COPY for the inserts).
The floor of a page is the same SQL statements with the same parameters, run on a raw DBAPI
connection. States the benchmark does not measure (employees submitting, raters reviewing) are
simulated with set-based SQL that writes the audit rows those actions would.
"""

import argparse
import contextvars
import enum
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from app import clock
from app.domain import CoreValue, OrgPredikat
from app.extensions import db
from app.imports import people as csv_import
from app.jobs import DueReport, lock_overdue, run_due
from app.jobs.reminders import send_reminders
from app.models import (
    Account,
    AccountRole,
    Appeal,
    AppealOutcome,
    AuditEvent,
    Cycle,
    Employee,
    Evaluation,
    EvaluationState,
    Indicator,
    OrgUnit,
    ProgressEntry,
    Rhk,
    Role,
    UnitPredikat,
)
from app.services.accounts import hash_password, load_account
from app.workflow import cycles, set_aside
from app.workflow.distribution import curve_violations
from app.workflow.evaluations import approve_targets, for_action, return_targets, review, with_indicators
from bench.common import fresh_app
from bench.import_people import synthetic_agency

PASSWORD = "bench-rahasia-1"
SEED = 20261128
S = EvaluationState
BULK_GOAL_RATIO, BULK_GOAL_SECONDS, PAGE_GOAL_MS, RSS_GOAL_MB = 3.0, 10.0, 50.0, 200.0
PROFILE_DIR = Path(os.environ.get("BENCH_PROFILE_DIR", "/tmp/bench-profiles"))


# ---------------------------------------------------------------------------------- reporting


class Report:
    """Every figure of one run, printed as it comes and kept for the summary and --json."""

    def __init__(self, database: str, n: int):
        self.database, self.n = database, n
        self.steps: list[dict] = []
        self.pages: list[dict] = []
        self.extra: dict = {}

    def step(
        self,
        key: str,
        label: str,
        seconds: float,
        floor: float | None,
        *,
        bulk: bool = True,
        note: str = "",
        copy_floor: float | None = None,
    ) -> dict:
        """Record and print one step beside its floor."""
        ratio = seconds / floor if floor else None
        row = dict(
            key=key,
            label=label,
            seconds=seconds,
            floor=floor,
            ratio=ratio,
            bulk=bulk,
            note=note,
            copy_floor=copy_floor,
        )
        self.steps.append(row)
        shown = f"floor {floor:7.3f} s  {ratio:5.2f}x" if floor else "(setup, no floor)"
        copy = f"  [COPY floor {copy_floor:.3f} s, {seconds / copy_floor:.1f}x]" if copy_floor else ""
        print(f"  {label:<56} {seconds:8.3f} s   {shown}{copy}{'   ' + note if note else ''}", flush=True)
        return row

    def page(self, row: dict) -> None:
        """Record and print one page."""
        self.pages.append(row)
        print(
            f"  {row['label']:<44} median {row['median_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
            f"{row['queries']:3d} queries  floor {row['floor_ms']:6.1f} ms  "
            f"{row['median_ms'] / row['floor_ms']:5.1f}x  {row['kb']:7.1f} KB",
            flush=True,
        )

    def summary(self) -> None:
        """The goals of docs/performance.md, met or not, for this run."""
        print(f"\n  Goals at N = {self.n} on {self.database}:")
        for row in self.steps:
            if not row["bulk"] or row["floor"] is None:
                continue
            ok = row["ratio"] <= BULK_GOAL_RATIO and row["seconds"] < BULK_GOAL_SECONDS
            print(
                f"    {'met    ' if ok else 'NOT MET'}  {row['label']:<52} {row['seconds']:7.2f} s "
                f"{row['ratio']:5.2f}x floor"
            )
        for row in self.pages:
            ok = row["median_ms"] < PAGE_GOAL_MS
            print(f"    {'met    ' if ok else 'NOT MET'}  page {row['label']:<47} {row['median_ms']:7.1f} ms")
        if "scheduler_peak_mb" in self.extra:
            peak = self.extra["scheduler_peak_mb"]
            print(f"    {'met    ' if peak < RSS_GOAL_MB else 'NOT MET'}  scheduler peak RSS {peak:.0f} MB")

    def as_dict(self) -> dict:
        """For --json."""
        return dict(database=self.database, n=self.n, steps=self.steps, pages=self.pages, extra=self.extra)


@contextmanager
def profiled(key: str, wanted: set[str], report: Report):
    """Run the block under pyinstrument when `key` was asked for with --profile."""
    if key not in wanted:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
        path = PROFILE_DIR / f"{key.replace(':', '-')}-{report.database}-{report.n}.txt"
        path.write_text(
            profiler.output_text(
                unicode=True, color=False, show_all=os.environ.get("BENCH_PROFILE_ALL") == "1"
            )
        )
        print(f"    profile written to {path}")


def timed(func):
    """Run func; return (result, seconds)."""
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


# ------------------------------------------------------------------------------ the raw floor

# Tables in the order their rows may be inserted (foreign keys point backwards).
INSERT_ORDER = [
    "org_unit",
    "position",
    "employee",
    "account",
    "cycle",
    "evaluation",
    "rhk",
    "indicator",
    "appeal",
    "comment",
    "audit_event",
    "outbox_body",
    "outbox_message",
]
SELF_REFERENCES = {
    "org_unit": ["parent_id"],
    "employee": ["supervisor_id"],
    "rhk": ["parent_rhk_id", "source_rhk_id"],
}


def _plain(value):
    """A value as COPY wants it (enums by value, JSON as text)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


class Change:
    """The rows a step inserts and the rows it updates, captured to write them again bare.

    `begin()` before the step notes the highest id of every insert table and snapshots the
    update tables; `end()` after it collects the new rows and the changed columns. `undo()`
    puts the database back as it was before the step (untimed); `replay()` writes the same rows
    with Core executemany in one transaction and returns the seconds (the floor). After a replay
    the database holds exactly what the step left.
    """

    def __init__(self, inserts: list[str], updates: list[str] = (), scope: dict | None = None):
        self.inserts = [t for t in INSERT_ORDER if t in inserts]
        self.updates = list(updates)
        self.scope = scope or {}  # an update table's rows to watch (default: all)
        self.max_id: dict[str, int] = {}
        self.before: dict[str, dict[int, dict]] = {}
        self.new: dict[str, list[dict]] = {}
        self.changed: dict[str, list[tuple[int, dict, dict]]] = {}

    @staticmethod
    def table(name: str) -> sa.Table:
        """The table object."""
        return db.metadata.tables[name]

    def begin(self) -> "Change":
        """Note what is there before the step."""
        for name in set(self.inserts) | set(self.updates):
            self.max_id[name] = db.session.scalar(sa.select(sa.func.max(self.table(name).c.id))) or 0
        for name in self.updates:
            table = self.table(name)
            watched = sa.select(table).where(*[c for c in [self.scope.get(name)] if c is not None])
            self.before[name] = {row["id"]: dict(row) for row in db.session.execute(watched).mappings()}
        db.session.commit()
        return self

    def end(self) -> "Change":
        """Collect what the step wrote."""
        db.session.expire_all()
        for name in self.inserts:
            table = self.table(name)
            self.new[name] = [
                dict(row)
                for row in db.session.execute(
                    sa.select(table).where(table.c.id > self.max_id[name]).order_by(table.c.id)
                ).mappings()
            ]
        for name in self.updates:
            table = self.table(name)
            old_rows = self.before[name]
            changed = []
            watched = [c for c in [self.scope.get(name)] if c is not None]
            for row in db.session.execute(
                sa.select(table).where(table.c.id <= self.max_id[name], *watched)
            ).mappings():
                old = old_rows.get(row["id"])
                if old is None:
                    continue
                diff = [column for column, value in row.items() if old[column] != value]
                if diff:
                    changed.append((row["id"], {c: row[c] for c in diff}, {c: old[c] for c in diff}))
            self.changed[name] = changed
        db.session.commit()
        return self

    @property
    def rows(self) -> int:
        """How many rows the step wrote."""
        return sum(len(v) for v in self.new.values()) + sum(len(v) for v in self.changed.values())

    def describe(self) -> str:
        """e.g. "evaluation +100000, audit_event +100000, evaluation ~0"."""
        parts = [f"{name} +{len(rows)}" for name, rows in self.new.items() if rows]
        parts += [f"{name} ~{len(rows)}" for name, rows in self.changed.items() if rows]
        return ", ".join(parts)

    def _update_many(self, name: str, values_of) -> None:
        table = self.table(name)
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for row_id, new, old in self.changed.get(name, []):
            values = values_of(new, old)
            groups[tuple(sorted(values))].append({"b_id": row_id, **{f"v_{k}": v for k, v in values.items()}})
        for columns, params in groups.items():
            statement = (
                sa.update(table)
                .where(table.c.id == sa.bindparam("b_id"))
                .values({c: sa.bindparam(f"v_{c}") for c in columns})
            )
            db.session.execute(statement, params)

    def undo(self) -> None:
        """Put the database back as it was before the step (not timed)."""
        for name in reversed(self.inserts):
            table = self.table(name)
            newer = table.c.id > self.max_id[name]
            for column in SELF_REFERENCES.get(name, []):
                db.session.execute(sa.update(table).where(newer).values({column: None}))
            db.session.execute(sa.delete(table).where(newer))
        for name in self.updates:
            self._update_many(name, lambda new, old: old)
        db.session.commit()
        db.session.expire_all()

    def replay(self, *, copy: bool = False) -> float:
        """Write the step's rows again, bare, in one transaction; return the seconds."""
        db.session.expire_all()
        start = time.perf_counter()
        if copy:
            self._copy_inserts()
        else:
            for name in self.inserts:
                if self.new[name]:
                    db.session.execute(sa.insert(self.table(name)), self.new[name])
        for name in self.updates:
            self._update_many(name, lambda new, old: new)
        db.session.commit()
        elapsed = time.perf_counter() - start
        db.session.expire_all()
        return elapsed

    def _copy_inserts(self) -> None:
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cursor:
            for name in self.inserts:
                rows = self.new[name]
                if not rows:
                    continue
                columns = list(rows[0])
                quoted = ", ".join(f'"{c}"' for c in columns)
                with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row([_plain(row[c]) for c in columns])

    def floors(self, copy: bool) -> tuple[float, float | None]:
        """Undo, replay with executemany (and, if asked, undo and replay with COPY); return both."""
        self.undo()
        floor = self.replay()
        copy_floor = None
        if copy and any(self.new.values()):
            self.undo()
            copy_floor = self.replay(copy=True)
        return floor, copy_floor


def bulk_step(report: Report, key: str, label: str, func, change: Change, args) -> tuple:
    """Time a bulk step, capture its rows, and time the same rows written bare."""
    change.begin()
    with profiled(key, args.profile, report):
        result, seconds = timed(func)
    change.end()
    floor, copy_floor = change.floors(args.copy and report.database == "postgresql")
    report.step(key, label, seconds, floor, note=change.describe(), copy_floor=copy_floor)
    return result, seconds


# --------------------------------------------------------------------------- building the agency


def import_agency(report: Report, n: int, args) -> None:
    """Import units and employees from the CSV HR would upload; floor: the same rows bare."""
    units_csv, people_csv = synthetic_agency(n, SEED)
    change = Change(["org_unit", "position", "employee", "audit_event"])

    def run():
        units = csv_import.plan_import("units", units_csv.encode())
        csv_import.apply_import(units)
        start = time.perf_counter()
        plan = csv_import.plan_import("employees", people_csv.encode())
        report.extra["import_plan_seconds"] = time.perf_counter() - start
        assert plan.ok, plan.errors[:3]
        csv_import.apply_import(plan)

    bulk_step(report, "import", f"import {n} employees (CSV plan + apply)", run, change, args)
    print(f"    of which planning (validation) {report.extra['import_plan_seconds']:.2f} s")


def create_accounts() -> tuple[int, float]:
    """Everyone signs in with the same password; one HR officer (setup, set-based)."""
    start = time.perf_counter()
    hashed = hash_password(PASSWORD)
    now = clock.utcnow()
    db.session.execute(
        sa.insert(Account).from_select(
            [
                "employee_id",
                "password_hash",
                "must_change_password",
                "failed_logins",
                "session_nonce",
                "active",
                "created_at",
            ],
            sa.select(
                Employee.id,
                sa.literal(hashed),
                sa.false(),
                sa.literal(0),
                sa.literal("bench"),
                sa.true(),
                sa.literal(now, Account.created_at.type),
            ),
        )
    )
    db.session.execute(
        sa.insert(AccountRole).from_select(
            ["account_id", "role"], sa.select(Account.id, sa.literal("employee"))
        )
    )
    # The HR officer: the first employee at depth 1 (the agency's secretary or a head of bidang).
    root = db.session.scalar(sa.select(Employee.id).where(Employee.supervisor_id.is_(None)))
    officer = db.session.scalar(
        sa.select(Employee.id).where(Employee.supervisor_id == root).order_by(Employee.id)
    )
    hr = db.session.scalar(sa.select(Account).where(Account.employee_id == officer))
    db.session.add(AccountRole(account_id=hr.id, role=Role.HR))
    db.session.commit()
    return hr.id, time.perf_counter() - start


def cycle_data(unit_id: int, target_deadline: datetime) -> dict:
    """An annual cycle over the whole agency; the target deadline is given, the rest follow."""
    return {
        "name": "SKP 2027 (bench)",
        "kind": "annual",
        "year": 2027,
        "period": None,
        "annual_cycle_id": None,
        "unit_ids": [unit_id],
        "target_deadline": target_deadline,
        "assessment_deadline": target_deadline + timedelta(days=30),
        "review_deadline": target_deadline + timedelta(days=50),
        "appeal_deadline": target_deadline + timedelta(days=80),
        "appeal_window_days": 14,
        "appeal_decision_days": 14,
    }


def setup_insert(table: sa.Table, rows: list[dict]) -> None:
    """Setup rows in bulk: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if db.engine.dialect.name != "postgresql":
        db.session.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    quoted = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_plain(row[c]) for c in columns])


def build_skps(cycle: Cycle, seed: int = SEED) -> tuple[int, int, float]:
    """2-5 RHK per evaluation, 1-3 indicators each, written in bulk (setup).

    Evaluations are taken in employee order (supervisors before their staff), so each
    employee's first RHK can sit under the first RHK of their rater (intervensi) at insertion.
    """
    rng = random.Random(seed + 1)
    start = time.perf_counter()
    evaluations = db.session.execute(
        sa.select(Evaluation.id, Evaluation.employee_id, Evaluation.rater_id)
        .where(Evaluation.cycle_id == cycle.id)
        .order_by(Evaluation.employee_id)
    ).all()
    next_rhk = (db.session.scalar(sa.select(sa.func.max(Rhk.id))) or 0) + 1
    rhks, indicators, first_rhk_of_employee = [], [], {}
    aspects = ["quantity", "quality", "time"]
    for ev in evaluations:
        count = rng.randint(2, 5)
        for position in range(count):
            kind = "additional" if position == count - 1 and count > 2 and rng.random() < 0.4 else "main"
            rhk_id = next_rhk
            next_rhk += 1
            parent = None
            if position == 0:
                first_rhk_of_employee[ev.employee_id] = rhk_id
                parent = first_rhk_of_employee.get(ev.rater_id)
            rhks.append(
                {
                    "id": rhk_id,
                    "evaluation_id": ev.id,
                    "kind": kind,
                    "position": position,
                    "parent_rhk_id": parent,
                    "source_rhk_id": None,
                    "text": f"Tersusunnya laporan kegiatan {position + 1} tepat waktu dan akurat",
                }
            )
            for i in range(rng.randint(1, 3)):
                target = Decimal(rng.choice([4, 12, 24, 90, 100]))
                indicators.append(
                    {
                        "rhk_id": rhk_id,
                        "aspect": aspects[i % 3],
                        "position": i,
                        "text": f"Jumlah dokumen yang diselesaikan ({i + 1})",
                        "comparator": "at_least",
                        "target": target,
                        "target_max": None,
                        "unit": "dokumen",
                    }
                )
    setup_insert(Rhk.__table__, rhks)
    setup_insert(Indicator.__table__, indicators)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('rhk', 'id'), (SELECT max(id) FROM rhk))")
        )
    db.session.commit()
    return len(rhks), len(indicators), time.perf_counter() - start


def build_progress_logs(evaluations, year: int, per_month: int = 5, chunk: int = 2000) -> tuple[int, float]:
    """A year of progress logs (setup): `per_month` entries per indicator per month on every
    indicator of the evaluations selected by `evaluations` (a select of ids), every other one
    verified; written in chunks of indicators."""
    start = time.perf_counter()
    indicator_ids = list(
        db.session.scalars(
            sa.select(Indicator.id)
            .join(Rhk, Rhk.id == Indicator.rhk_id)
            .where(Rhk.evaluation_id.in_(evaluations))
            .where(~sa.exists().where(ProgressEntry.indicator_id == Indicator.id))
            .order_by(Indicator.id)
        )
    )
    now = clock.utcnow()
    written = 0
    for first in range(0, len(indicator_ids), chunk):
        rows = []
        for indicator_id in indicator_ids[first : first + chunk]:
            for month in range(1, 13):
                for k in range(per_month):
                    verified = k % 2 == 0
                    rows.append(
                        {
                            "indicator_id": indicator_id,
                            "author_id": None,
                            "entry_date": date(year, month, 1 + 5 * k),
                            "value": Decimal(k + month),
                            "note": f"Progres minggu ke-{k + 1}",
                            "verified_at": now if verified else None,
                            "verified_by_id": None,
                            "rater_comment": "Sesuai" if verified else None,
                            "created_at": now,
                            "updated_at": now,
                            "version": 1,
                        }
                    )
        setup_insert(ProgressEntry.__table__, rows)
        written += len(rows)
    db.session.commit()
    return written, time.perf_counter() - start


def simulate(
    cycle: Cycle, source: str, dest: str, action: str, pct: int, actor, salt: int, values: dict | None = None
) -> int:
    """Setup: `pct` % of the cycle's evaluations in `source` move to `dest` as their actor would
    (set-based, with the audit rows those actions write)."""
    now = clock.utcnow()
    pick = [
        Evaluation.cycle_id == cycle.id,
        Evaluation.state == source,
        bucket(salt) < pct,
    ]
    actor_account = sa.select(Account.id).where(Account.employee_id == actor).scalar_subquery()
    db.session.execute(
        sa.insert(AuditEvent).from_select(
            ["occurred_at", "actor_id", "action", "object_type", "object_id", "from_state", "to_state"],
            sa.select(
                sa.literal(now, AuditEvent.occurred_at.type),
                actor_account,
                sa.literal(f"evaluation.{action}"),
                sa.literal("evaluation"),
                sa.cast(Evaluation.id, sa.String),
                Evaluation.state,
                sa.literal(dest),
            ).where(*pick),
        )
    )
    moved = db.session.execute(
        sa.update(Evaluation)
        .where(*pick)
        .values(state=dest, version=Evaluation.version + 1, updated_at=now, **(values or {}))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return moved


def analyze() -> None:
    """PostgreSQL: VACUUM ANALYZE after bulk setup and the floors' undo and replay, as
    autovacuum would within a minute or so: fresh planner statistics, no dead rows left by the
    benchmark itself. (SQLite has no such daemon and the app does not run ANALYZE; not there.)"""
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))


def bucket(salt: int):
    """A pseudo-random 0-99 per evaluation, independent between salts (a multiplicative hash)."""
    multiplier = sa.literal(2654435761 + 7919 * salt, sa.BigInteger)
    return ((sa.cast(Evaluation.id, sa.BigInteger) * multiplier) % 1000003) % 100


# ------------------------------------------------------------------------------------ the pages


def isolated(func, *args, **kwargs):
    """Run a request outside the benchmark's context variables (its own app context and session)."""
    return contextvars.Context().run(func, *args, **kwargs)


def sign_in(app, employee_id: int):
    """A test client signed in through the real form as this employee."""
    nip = db.session.scalar(sa.select(Employee.nip).where(Employee.id == employee_id))
    client = app.test_client()
    html = isolated(client.get, "/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    response = isolated(
        client.post, "/login", data={"identifier": nip, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302 and "/login" not in response.location, response.status_code
    return client


@contextmanager
def capture_sql():
    """The statements (with parameters) the app runs inside the block."""
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters, executemany))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure_page(report: Report, app, client, label: str, url: str, repeat: int, args) -> dict:
    """Median and p95 latency of a page, its SQL count, and its queries run bare (the floor)."""
    for _ in range(3):
        response = isolated(client.get, url)
        assert response.status_code == 200, (url, response.status_code)
    with capture_sql() as statements:
        response = isolated(client.get, url)
    size = len(response.data) / 1024
    times = []
    with profiled(f"page:{label.split(' (')[0].replace(' ', '-')}", args.profile, report):
        for _ in range(repeat):
            start = time.perf_counter()
            response = isolated(client.get, url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
    floor_times, per_statement = [], defaultdict(list)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for _ in range(repeat):
            start = time.perf_counter()
            for index, (statement, parameters, many) in enumerate(statements):
                began = time.perf_counter()
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
                if cursor.description:
                    cursor.fetchall()
                per_statement[index].append(time.perf_counter() - began)
            floor_times.append(time.perf_counter() - start)
            raw.rollback()
    finally:
        raw.close()
    slowest = max(per_statement, key=lambda i: statistics.median(per_statement[i]), default=None)
    row = dict(
        label=label,
        url=url,
        median_ms=statistics.median(times) * 1000,
        p95_ms=percentile(times, 95) * 1000,
        queries=len(statements),
        floor_ms=statistics.median(floor_times) * 1000,
        kb=size,
    )
    if slowest is not None:
        row["slowest_ms"] = statistics.median(per_statement[slowest]) * 1000
        row["slowest_sql"] = " ".join(statements[slowest][0].split())[:400]
    report.page(row)
    if row.get("slowest_ms", 0) > 10:
        print(f"      slowest query {row['slowest_ms']:.1f} ms: {row['slowest_sql'][:150]}")
    return row


# ------------------------------------------------------------------------------ the scheduler


def scheduler_peak(app, report: Report, timeout: float = 540) -> dict:
    """Start the real scheduler process (`flask scheduler`) on this database while a deadline
    has just passed; wait for its first run of the due jobs; return its peak resident memory."""
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_PATH=app.instance_path,
        APP_ENV="development",
        PYTHONUNBUFFERED="1",
    )
    env.pop("MAIL_SERVER", None)
    root = Path(__file__).resolve().parent.parent
    log_path = Path(app.instance_path) / "scheduler-bench.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    result = {"pid": process.pid}
    started = time.perf_counter()
    try:
        active_at = None
        while time.perf_counter() - started < timeout:
            text = log_path.read_text()
            rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{process.pid}/status").read_text()).group(1))
            if active_at is None and "scheduler active" in text:
                active_at = time.perf_counter()
                result["idle_mb"] = rss / 1024
            if "run_due: " in text or "run_due failed" in text:
                result["run_due_seconds"] = time.perf_counter() - (active_at or started)
                break
            if process.poll() is not None:
                break
            time.sleep(0.05)
        status = Path(f"/proc/{process.pid}/status").read_text()
        result["peak_mb"] = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
        text = log_path.read_text()
        line = next((line for line in text.splitlines() if "run_due" in line), "")
        result["log"] = line[line.find("run_due") :][:300]
        if "run_due failed" in text or process.poll() is not None:
            result["error"] = text[-3000:]
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
    return result


# ------------------------------------------------------------------------------- the scenario


def actors(cycle: Cycle) -> dict:
    """Who the pages are seen as: an employee mid-tree, the busiest rater and appeal handler."""
    middle = db.session.scalar(sa.select(sa.func.count()).where(Evaluation.cycle_id == cycle.id)) // 2
    employee_eval = db.session.scalar(
        sa.select(Evaluation.id)
        .where(Evaluation.cycle_id == cycle.id)
        .order_by(Evaluation.id)
        .offset(middle)
        .limit(1)
    )
    rater = db.session.execute(
        sa.select(Evaluation.rater_id, sa.func.count())
        .where(Evaluation.cycle_id == cycle.id)
        .group_by(Evaluation.rater_id)
        .order_by(sa.func.count().desc(), Evaluation.rater_id)
        .limit(1)
    ).first()
    return {"employee_eval": employee_eval, "rater": rater[0], "team": rater[1]}


def run_size(n: int, args) -> Report:
    """The whole scenario for one N."""
    app = fresh_app(args.database_url)
    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]
    report = Report(database, n)
    print(
        f"\nN = {n} on {database}  ({datetime.now().isoformat(timespec='seconds')}, "
        f"load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    with app.app_context():
        clock.reset()
        real_now = clock.utcnow().replace(second=0, microsecond=0)
        target_deadline = real_now - timedelta(hours=1)
        clock.travel_to(target_deadline - timedelta(days=30))

        import_agency(report, n, args)
        hr_id, seconds = create_accounts()
        report.step("accounts", f"accounts for {n} employees (setup)", seconds, None, bulk=False)
        hr = db.session.get(Account, hr_id)
        root_unit = db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
        cycle = cycles.save_cycle(None, cycle_data(root_unit, target_deadline), hr)
        cycle_id = cycle.id

        def open_it():
            return cycles.open_cycle(db.session.get(Cycle, cycle_id), db.session.get(Account, hr_id))

        covered, _t = bulk_step(
            report,
            "open",
            f"open a cycle for {n} employees",
            open_it,
            Change(["evaluation", "audit_event", "outbox_body", "outbox_message"], ["cycle"]),
            args,
        )
        analyze()
        cycle = db.session.get(Cycle, cycle_id)
        rhk_count, indicator_count, seconds = build_skps(cycle)
        report.step(
            "skps",
            f"write {covered} SKPs: {rhk_count} RHK, {indicator_count} indicators (setup)",
            seconds,
            None,
            bulk=False,
        )
        report.extra.update(evaluations=covered, rhk=rhk_count, indicators=indicator_count)

        analyze()
        # Target setting: a week before the deadline 40 % have submitted; reminders go out.
        simulate(cycle, S.TARGETS_DRAFT, S.TARGETS_SUBMITTED, "submit_targets", 40, Evaluation.employee_id, 1)
        clock.travel_to(
            (target_deadline.astimezone(clock.tz()) - timedelta(days=7)).replace(hour=9, minute=0)
        )
        count, _t = bulk_step(
            report,
            "reminders",
            "compute the reminder digests (7 days before)",
            send_reminders,
            Change(["outbox_body", "outbox_message"]),
            args,
        )
        print(f"    {count} digests")
        # By the deadline three in four have submitted.
        simulate(cycle, S.TARGETS_DRAFT, S.TARGETS_SUBMITTED, "submit_targets", 58, Evaluation.employee_id, 8)

        # Raters approve: the real service for a sample, as separate requests would.
        clock.travel_to(target_deadline - timedelta(days=2))
        approve_sample(app, report, cycle, args)
        simulate(
            cycle, S.TARGETS_SUBMITTED, S.TARGETS_APPROVED, "approve_targets", 90, Evaluation.rater_id, 2
        )

        # The deadline passes: the lock, then the scheduler process doing the same with its digests.
        analyze()
        clock.reset()
        change = Change(["audit_event"], ["evaluation"])
        _r, _t = bulk_step(
            report,
            "lock",
            "lock the overdue at the deadline (lock_overdue)",
            lambda: lock_overdue(DueReport()),
            change,
            args,
        )
        cycle = db.session.get(Cycle, cycle_id)
        who = actors(cycle)
        hr_client = sign_in(app, hr.employee_id)
        repeat = args.pages_repeat
        measure_page(
            report,
            app,
            hr_client,
            "HR progress dashboard (after the lock)",
            f"/cycles/{cycle_id}",
            repeat,
            args,
        )
        if args.scheduler:
            change.undo()
            result = scheduler_peak(app, report)
            db.session.expire_all()
            locked = db.session.scalar(
                sa.select(sa.func.count()).where(
                    Evaluation.cycle_id == cycle_id, Evaluation.state == S.TARGETS_LOCKED
                )
            )
            report.extra.update(scheduler_peak_mb=result.get("peak_mb"), scheduler=result)
            print(
                f"  scheduler process (flask scheduler): first run_due "
                f"{result.get('run_due_seconds', 0):.1f} s, "
                f"idle {result.get('idle_mb', 0):.0f} MB, peak RSS {result.get('peak_mb', 0):.0f} MB; "
                f"{locked} locked; {result.get('log', '')}",
                flush=True,
            )
            if result.get("error"):
                print(result["error"])
            if locked != len(change.changed["evaluation"]):
                print("    (the scheduler did not finish the lock; replaying it)")
                change.undo()
                change.replay()
            again, seconds = timed(run_due)
            report.extra.update(run_due_again_seconds=seconds)
            print(
                f"  the scheduler's next run (run_due again, nothing new to do): {seconds:.2f} s, "
                f"{again.overdue_digests} digests",
                flush=True,
            )

        # Self-assessment, review, appeals.
        clock.travel_to(target_deadline + timedelta(hours=2))
        hr = db.session.get(Account, hr_id)
        _r, _t = bulk_step(
            report,
            "advance",
            "advance to self-assessment (HR; lock + open)",
            lambda: cycles.advance(db.session.get(Cycle, cycle_id), db.session.get(Account, hr_id)),
            Change(["audit_event", "outbox_body", "outbox_message"], ["evaluation", "cycle"]),
            args,
        )
        cycle = db.session.get(Cycle, cycle_id)
        setup_review_phase(cycle, lambda cycle: review_sample(app, report, cycle, args))
        analyze()
        cycle = db.session.get(Cycle, cycle_id)
        hr = db.session.get(Account, hr_id)

        appeal_handler = db.session.execute(
            sa.select(Evaluation.appeal_handler_id, sa.func.count())
            .where(Evaluation.cycle_id == cycle_id, Evaluation.state == S.APPEALED)
            .group_by(Evaluation.appeal_handler_id)
            .order_by(sa.func.count().desc(), Evaluation.appeal_handler_id)
            .limit(1)
        ).first()
        reviewed = sa.select(Evaluation.id).where(
            Evaluation.cycle_id == cycle_id, Evaluation.state == S.REVIEWED
        )
        middle = db.session.scalar(sa.select(sa.func.count()).select_from(reviewed.subquery())) // 2
        employee_eval = db.session.get(
            Evaluation, db.session.scalar(reviewed.order_by(Evaluation.id).offset(middle).limit(1))
        )
        print(
            f"  pages in the appeal phase (rater of {who['team']}, appeal handler of {appeal_handler[1]} "
            f"appeals, employee evaluation {employee_eval.id} in {employee_eval.state}):",
            flush=True,
        )
        employee_client = sign_in(app, employee_eval.employee_id)
        measure_page(
            report,
            app,
            employee_client,
            "employee SKP page (before the progress logs)",
            f"/evaluations/{employee_eval.id}",
            repeat,
            args,
        )
        share = sa.select(Evaluation.id).where(
            Evaluation.cycle_id == cycle_id, Evaluation.id % 100 < args.progress_share
        )
        entries, seconds = build_progress_logs(share, cycle.year)
        more, more_seconds = build_progress_logs(sa.select(sa.literal(employee_eval.id)), cycle.year)
        analyze()
        report.step(
            "progress_logs",
            f"progress logs of {args.progress_share} % of the evaluations: {entries + more} entries "
            "(12 months x 5 per indicator; setup)",
            seconds + more_seconds,
            None,
            bulk=False,
        )
        report.extra.update(progress_entries=entries + more)
        employee_client = sign_in(app, employee_eval.employee_id)
        rater_client = sign_in(app, who["rater"])
        rater_for_log = sign_in(app, employee_eval.rater_id)
        handler_client = sign_in(app, appeal_handler[0])
        rater_name = db.session.scalar(sa.select(Employee.name).where(Employee.id == who["rater"]))
        pages = [
            (
                "employee SKP page (12 months of progress logs)",
                employee_client,
                f"/evaluations/{employee_eval.id}",
            ),
            ("employee progress log page", employee_client, f"/evaluations/{employee_eval.id}/progres"),
            (
                "employee progress log, whole year",
                employee_client,
                f"/evaluations/{employee_eval.id}/progres?bulan=semua",
            ),
            ("rater progress log page", rater_for_log, f"/evaluations/{employee_eval.id}/progres"),
            ("employee home", employee_client, "/"),
            (f"rater home ({who['team']} staff)", rater_client, "/"),
            (f"appeal handler home ({appeal_handler[1]} waiting)", handler_client, "/"),
            ("HR home (running cycles, overdue, escalated)", hr_client, "/"),
            (f"rater team page ({who['team']} staff)", rater_client, "/evaluations/"),
            (f"appeals inbox ({appeal_handler[1]} waiting)", handler_client, "/evaluations/"),
            ("HR progress dashboard (appeal phase)", hr_client, f"/cycles/{cycle_id}"),
            ("HR distribution page", hr_client, f"/cycles/{cycle_id}/distribution"),
            ("audit search (by person)", hr_client, f"/audit/?who={rater_name.replace(' ', '+')}"),
            ("audit log (first page)", hr_client, "/audit/"),
        ]
        for label, client, url in pages:
            measure_page(report, app, client, label, url, repeat, args)

        # Appeals decided, org predikat recorded; after the appeal deadline HR publishes.
        finish_appeals(cycle)
        analyze()
        clock.travel_to(cycle.appeal_deadline + timedelta(hours=1))
        _r, seconds = timed(lambda: curve_violations(db.session.get(Cycle, cycle_id)))
        db.session.rollback()
        print(f"  (distribution check alone: {seconds * 1000:.0f} ms, {len(_r)} units off the curve)")
        reason = "Kurva tidak terpenuhi di beberapa unit; diumumkan sesuai keputusan pimpinan." if _r else ""
        # Publication covers everyone: those never rated (SKPs locked at the deadline) are marked
        # "tidak dinilai" first, in one set-based step.
        bulk_step(
            report,
            "mark_not_rated",
            "mark every evaluation left without a result 'tidak dinilai'",
            lambda: set_aside.mark_rest_not_rated(
                db.session.get(Cycle, cycle_id),
                db.session.get(Account, hr_id),
                "Tidak dinilai sampai batas tahap penilaian atasan.",
            ),
            Change(["audit_event", "outbox_body", "outbox_message"], ["evaluation"]),
            args,
        )
        bulk_step(
            report,
            "publish",
            "publish with the distribution check",
            lambda: cycles.publish(
                db.session.get(Cycle, cycle_id), db.session.get(Account, hr_id), "names", reason
            ),
            Change(["audit_event", "outbox_body", "outbox_message"], ["evaluation", "cycle"]),
            args,
        )
        published = db.session.scalar(
            sa.select(sa.func.count()).where(Evaluation.cycle_id == cycle_id, Evaluation.state == S.PUBLISHED)
        )
        measure_page(
            report,
            app,
            employee_client,
            f"results board ({published} names)",
            f"/results/{cycle_id}",
            max(5, repeat // 4),
            args,
        )
        audit_rows = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        report.extra.update(audit_rows=audit_rows, published=published)
        print(f"  audit rows at the end: {audit_rows}")
        clock.reset()
        db.session.remove()
        db.engine.dispose()
    report.summary()
    return report


def approve_sample(app, report: Report, cycle: Cycle, args) -> None:
    """Raters approve submitted SKPs through the real service, one request's worth at a time;
    the approvals stay. Then raters return a second sample, which is undone afterwards so the
    scenario goes on as before (see `action_sample`)."""
    action_sample(
        app,
        report,
        cycle,
        args,
        key="approve",
        label="approve targets",
        source=S.TARGETS_SUBMITTED,
        act=lambda evaluation, account: approve_targets(
            evaluation, account, expected_version=evaluation.version
        ),
        keep=True,
        salt=2,
    )
    action_sample(
        app,
        report,
        cycle,
        args,
        key="return",
        label="return targets (comment)",
        source=S.TARGETS_SUBMITTED,
        act=lambda evaluation, account: return_targets(
            evaluation,
            account,
            "Target indikator kedua terlalu rendah; sesuaikan dengan capaian tahun lalu.",
            expected_version=evaluation.version,
        ),
        keep=False,
        salt=7,
    )


def review_sample(app, report: Report, cycle: Cycle, args) -> None:
    """Raters review submitted self-assessments through the real service: both ratings, a summary,
    feedback on every indicator and every BerAKHLAK value, as the review form posts them;
    undone afterwards (the scenario then simulates the reviews)."""

    def review_it(evaluation: Evaluation, account: Account) -> None:
        data = {
            "results_rating": "meets",
            "behaviour_rating": "meets",
            "summary": "Kinerja sesuai ekspektasi; pertahankan ketepatan laporan.",
            "indicator_feedback": {i.id: "Tercapai sesuai target." for i in with_indicators(evaluation)},
            "behaviour_feedback": {value.value: "Sesuai ekspektasi." for value in CoreValue},
        }
        review(evaluation, account, data, expected_version=evaluation.version)

    action_sample(
        app,
        report,
        cycle,
        args,
        key="review",
        label="review (ratings, feedback per indicator and value)",
        source=S.ASSESSMENT_SUBMITTED,
        act=review_it,
        keep=False,
        salt=9,
        indicators=True,
    )


def action_sample(
    app,
    report: Report,
    cycle: Cycle,
    args,
    *,
    key: str,
    label: str,
    source: str,
    act,
    keep: bool,
    salt: int,
    indicators: bool = False,
) -> None:
    """Raters act on evaluations in `source` through the real service, one request's worth at a time.

    A sample of raters (seeded by `salt`) acts on all their evaluations in `source` until
    `--approvals` is reached. The latency is per action (load the rater's account and the
    evaluation, run `act`, which commits), each in its own app context and session as a request
    has; the account and the evaluation are read as the session loader and the POST route read
    them. The floors: the same UPDATEs and INSERTs, one transaction per action (per-action floor),
    and all in one executemany transaction (per row). With `keep` the actions stay, else the
    database is put back as it was (`indicators`: the action also changes indicators).
    """
    rng = random.Random(SEED + salt)
    submitted = db.session.execute(
        sa.select(Evaluation.id, Evaluation.rater_id, Account.id)
        .join(Account, Account.employee_id == Evaluation.rater_id)
        .where(Evaluation.cycle_id == cycle.id, Evaluation.state == source)
        .order_by(Evaluation.id)
    ).all()
    by_rater = defaultdict(list)
    for eval_id, rater_id, account_id in submitted:
        by_rater[(rater_id, account_id)].append(eval_id)
    raters = sorted(by_rater)
    rng.shuffle(raters)
    sample = []
    for rater in raters:
        sample += [(eval_id, rater[1]) for eval_id in by_rater[rater]]
        if len(sample) >= args.approvals:
            break
    sample = sample[: args.approvals]
    sampled = [eval_id for eval_id, _account in sample]
    indicator_of = {}
    if indicators:
        indicator_of = dict(
            db.session.execute(
                sa.select(Indicator.id, Rhk.evaluation_id).join(Rhk).where(Rhk.evaluation_id.in_(sampled))
            ).all()
        )
    notes = db.metadata.tables["behaviour_note"]
    notes_before = {
        (row.evaluation_id, row.value): dict(row._mapping)
        for row in db.session.execute(sa.select(notes).where(notes.c.evaluation_id.in_(sampled)))
    }
    db.session.commit()
    change = Change(
        ["comment", "audit_event", "outbox_body", "outbox_message"],
        ["evaluation", "indicator"] if indicators else ["evaluation"],
        scope={"indicator": Indicator.__table__.c.id.in_(list(indicator_of))},
    ).begin()
    latencies, queries = [], []

    def one(eval_id: int, account_id: int) -> None:
        with app.app_context():
            start = time.perf_counter()
            # As the request does: the signed-in account as the session loader reads it, the
            # evaluation as the page's POST loads it.
            account = load_account(f"{account_id}.bench")
            evaluation = for_action(eval_id)
            act(evaluation, account)
            latencies.append(time.perf_counter() - start)

    with profiled(key, args.profile, report):
        start = time.perf_counter()
        for eval_id, account_id in sample:
            with capture_sql() as statements:
                isolated(one, eval_id, account_id)
            queries.append(len(statements))
        total = time.perf_counter() - start
    change.end()
    # The behaviour notes (keyed by evaluation and value, no id) the actions wrote.
    notes_after = [
        dict(row._mapping)
        for row in db.session.execute(sa.select(notes).where(notes.c.evaluation_id.in_(sampled)))
    ]
    new_notes = [row for row in notes_after if (row["evaluation_id"], row["value"]) not in notes_before]
    changed_notes = [
        row for row in notes_after if notes_before.get((row["evaluation_id"], row["value"]), row) != row
    ]
    db.session.commit()

    def write_notes(rows: list[dict]) -> None:
        """The notes as the actions left them."""
        if fresh := [row for row in rows if row in new_notes]:
            db.session.execute(sa.insert(notes), fresh)
        for row in rows:
            if row in changed_notes:
                db.session.execute(
                    sa.update(notes)
                    .where(notes.c.evaluation_id == row["evaluation_id"], notes.c.value == row["value"])
                    .values(expectation=row["expectation"], feedback=row["feedback"])
                )

    def undo_notes() -> None:
        """The notes as they were before the actions."""
        for row in new_notes + changed_notes:
            where = (notes.c.evaluation_id == row["evaluation_id"], notes.c.value == row["value"])
            if row in new_notes:
                db.session.execute(sa.delete(notes).where(*where))
            else:
                old = notes_before[(row["evaluation_id"], row["value"])]
                db.session.execute(
                    sa.update(notes)
                    .where(*where)
                    .values(expectation=old["expectation"], feedback=old["feedback"])
                )
        db.session.commit()

    # Floor per action: the same writes, one transaction each.
    def owner(name: str, row: dict) -> int:
        if name == "audit_event":
            return int(row["object_id"])
        if name == "outbox_message":
            return int(row["key"].split(":")[1])
        return row["evaluation_id"]

    inserts_of = defaultdict(lambda: defaultdict(list))
    for name in ("comment", "audit_event", "outbox_message"):
        for row in change.new[name]:
            inserts_of[owner(name, row)][name].append(row)
    body_of = {row["id"]: row for row in change.new["outbox_body"]}
    for tables in inserts_of.values():
        tables["outbox_body"] = [
            body_of[m["body_id"]] for m in tables["outbox_message"] if m["body_id"] in body_of
        ]
    updates = {row_id: new for row_id, new, _old in change.changed["evaluation"]}
    indicator_updates = defaultdict(list)
    for row_id, new, _old in change.changed.get("indicator", []):
        indicator_updates[indicator_of[row_id]].append({"b_id": row_id, **new})
    notes_of = defaultdict(list)
    for row in new_notes + changed_notes:
        notes_of[row["evaluation_id"]].append(row)
    change.undo()
    undo_notes()
    table = Evaluation.__table__
    indicator = Indicator.__table__
    per_txn = []
    for eval_id, _account in sample:
        start = time.perf_counter()
        db.session.execute(sa.update(table).where(table.c.id == eval_id).values(updates[eval_id]))
        for row in indicator_updates[eval_id]:
            values = {k: v for k, v in row.items() if k != "b_id"}
            db.session.execute(sa.update(indicator).where(indicator.c.id == row["b_id"]).values(values))
        write_notes(notes_of[eval_id])
        for name in ("comment", "audit_event", "outbox_body", "outbox_message"):
            if inserts_of[eval_id][name]:
                db.session.execute(sa.insert(db.metadata.tables[name]), inserts_of[eval_id][name])
        db.session.commit()
        per_txn.append(time.perf_counter() - start)
    change.undo()
    undo_notes()
    bulk_floor = change.replay()
    if notes_of:
        start = time.perf_counter()
        write_notes(new_notes + changed_notes)
        db.session.commit()
        bulk_floor += time.perf_counter() - start
    if not keep:
        change.undo()
        undo_notes()
    median = statistics.median(latencies)
    floor = statistics.median(per_txn)
    report.step(
        key,
        f"{label}: {len(sample)} by raters (real service)",
        median,
        floor,
        note=(
            f"per action: median {median * 1000:.1f} ms, p95 {percentile(latencies, 95) * 1000:.1f} ms, "
            f"{statistics.median(queries):.0f} SQL; floor one txn each {floor * 1000:.2f} ms; "
            f"all {len(sample)} in {total:.2f} s vs one executemany txn {bulk_floor:.3f} s"
        ),
    )
    report.extra.update(
        {
            f"{key}_count": len(sample),
            f"{key}_p95_ms": percentile(latencies, 95) * 1000,
            f"{key}_total": total,
            f"{key}_bulk_floor": bulk_floor,
            f"{key}_queries": statistics.median(queries),
        }
    )


def setup_review_phase(cycle: Cycle, measure_reviews=None) -> None:
    """Setup: realisations, 90 % submit, the assessment deadline, reviews, 2 % appeal, appeal phase.

    `measure_reviews(cycle)` runs once the review phase is open, before the reviews are simulated."""
    cycle_id = cycle.id
    db.session.execute(
        sa.update(Indicator)
        .where(
            Indicator.rhk_id.in_(
                sa.select(Rhk.id)
                .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
                .where(Evaluation.cycle_id == cycle_id)
            )
        )
        .values(realisation=Indicator.target, realisation_note="Sesuai laporan bulanan")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    simulate(
        cycle, S.ASSESSMENT_DRAFT, S.ASSESSMENT_SUBMITTED, "submit_assessment", 90, Evaluation.employee_id, 3
    )
    clock.travel_to(cycle.assessment_deadline + timedelta(hours=1))
    cycles.advance(db.session.get(Cycle, cycle_id), None)
    cycle = db.session.get(Cycle, cycle_id)
    if measure_reviews is not None:
        measure_reviews(cycle)
        cycle = db.session.get(Cycle, cycle_id)
    now = clock.utcnow()
    b = bucket(4)
    results = sa.case((b < 10, "above"), (b < 92, "meets"), else_="below")
    behaviour = sa.case((b < 10, "above"), (b < 96, "meets"), else_="below")
    predikat = sa.case(
        (b < 10, "sangat_baik"), (b < 92, "baik"), (b < 96, "butuh_perbaikan"), else_="sangat_kurang"
    )
    simulate(
        cycle,
        S.ASSESSMENT_SUBMITTED,
        S.REVIEWED,
        "review",
        95,
        Evaluation.rater_id,
        5,
        values=dict(
            results_rating=results,
            behaviour_rating=behaviour,
            predikat=predikat,
            review_summary="Kinerja sesuai ekspektasi.",
            reviewed_at=now,
            appeal_until=now + timedelta(days=cycle.appeal_window_days),
        ),
    )
    simulate(cycle, S.REVIEWED, S.APPEALED, "file_appeal", 2, Evaluation.employee_id, 6)
    db.session.execute(
        sa.insert(Appeal).from_select(
            ["evaluation_id", "reasons", "filed_at", "decide_by", "results_before", "behaviour_before"],
            sa.select(
                Evaluation.id,
                sa.literal("Target dan realisasi saya belum dinilai dengan lengkap oleh atasan."),
                sa.literal(now, Appeal.filed_at.type),
                sa.literal(now + timedelta(days=cycle.appeal_decision_days), Appeal.decide_by.type),
                Evaluation.results_rating,
                Evaluation.behaviour_rating,
            ).where(Evaluation.cycle_id == cycle_id, Evaluation.state == S.APPEALED),
        )
    )
    db.session.commit()
    clock.travel_to(cycle.review_deadline + timedelta(hours=1))
    cycles.advance(db.session.get(Cycle, cycle_id), None)


def finish_appeals(cycle: Cycle) -> None:
    """Setup: every appeal decided (upheld); an org predikat for every unit."""
    now = clock.utcnow()
    simulate(cycle, S.APPEALED, S.DECIDED, "decide_appeal", 100, Evaluation.appeal_handler_id, 7)
    db.session.execute(
        sa.update(Appeal)
        .where(Appeal.decided_at.is_(None))
        .values(
            outcome=AppealOutcome.UPHELD, decided_at=now, decision_reasons="Penilaian semula sudah sesuai."
        )
    )
    rng = random.Random(SEED + 3)
    choices = [OrgPredikat.ISTIMEWA] * 15 + [OrgPredikat.BAIK] * 60 + [OrgPredikat.BUTUH_PERBAIKAN] * 15
    choices += [OrgPredikat.KURANG] * 10
    db.session.execute(
        sa.insert(UnitPredikat.__table__),
        [
            {"cycle_id": cycle.id, "unit_id": unit_id, "org_predikat": rng.choice(choices).value}
            for unit_id in db.session.scalars(sa.select(OrgUnit.id))
        ],
    )
    db.session.commit()


def main() -> None:
    """Run the scenario for each size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL of a database to wipe (default: SQLite)"
    )
    parser.add_argument("--pages-repeat", type=int, default=40, help="requests per page (median, p95)")
    parser.add_argument("--approvals", type=int, default=200, help="approvals through the real service")
    parser.add_argument(
        "--no-scheduler",
        dest="scheduler",
        action="store_false",
        help="skip the scheduler process (peak memory)",
    )
    parser.add_argument(
        "--no-copy", dest="copy", action="store_false", help="skip the COPY floor on PostgreSQL"
    )
    parser.add_argument(
        "--profile",
        nargs="*",
        default=[],
        help=f"steps or pages to profile with pyinstrument into {PROFILE_DIR} "
        "(import, open, reminders, approve, lock, advance, publish, page:<name>)",
    )
    parser.add_argument(
        "--progress-share",
        type=int,
        default=100,
        help="per cent of evaluations given a year of progress logs (the measured employee always)",
    )
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    args.profile = set(args.profile)
    print(
        f"bench.scale on {os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    reports = [run_size(n, args) for n in args.sizes]
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in reports], indent=1, default=str))
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
