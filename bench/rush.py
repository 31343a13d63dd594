"""The last week of target setting: many people at once against gunicorn on PostgreSQL.

    .venv/bin/python -m bench.rush --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        [--n 100000] [--users 200] [--duration 60] [--workers 4] [--think 0.5] [--port 8766]

Builds an agency of n employees in target setting with a week to go (every SKP drafted, half
submitted, a third of those approved), starts `gunicorn -w WORKERS wsgi:app` with APP_ENV=production
behind a pretend proxy (TRUSTED_PROXIES=1, each user its own X-Forwarded-For address, so the
per-address sign-in limit applies per person as in production), and lets `--users` simulated
people work for `--duration` seconds, each in its own thread, pausing up to `--think` seconds
between steps:

- employees (three in four users; SKPs still drafted): open the home page, open their SKP, add an
  RHK, add an indicator to it, edit it, and after a few rounds submit the SKP, then keep reading;
- raters (one in four; each with submitted SKPs waiting): open the home page and "Tim saya",
  open a submitted SKP, approve it (every fourth: return it with a comment).

Every user signs in first through the real form. The report gives requests per second and
p50/p95/p99 per action, the errors (any 5xx, a refused request that should have passed, a lost
connection: the goal is none), the conflicts (409: two people on one SKP; told, nothing lost),
and the lost-update check: every accepted submit/approve/return has exactly one audit event and
every accepted RHK and indicator is in the database. /healthz is measured with wrk (when
installed) before and after, on the same server.
"""

import argparse
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.imports import people as csv_import
from app.models import (
    Account,
    AuditEvent,
    Cycle,
    Employee,
    Evaluation,
    EvaluationState,
    Indicator,
    OrgUnit,
    Rhk,
)
from app.workflow import cycles
from bench.common import fresh_app
from bench.import_people import synthetic_agency
from bench.scale import PASSWORD, SEED, analyze, build_skps, create_accounts, cycle_data, percentile, simulate
from bench.throughput import wrk

ROOT = Path(__file__).resolve().parent.parent
S = EvaluationState
MARK = "Rencana aksi minggu terakhir"  # the text of every RHK the run adds (counted afterwards)


def build(n: int, database_url: str, users: int):
    """The agency a week before the target deadline; returns (app, cycle id, employees, raters):
    employees as (nip, evaluation id), raters as (nip, [submitted evaluation ids of their team])."""
    app = fresh_app(database_url)
    with app.app_context():
        real_now = clock.utcnow().replace(second=0, microsecond=0)
        deadline = real_now + timedelta(days=7)
        clock.travel_to(real_now - timedelta(days=20))
        units_csv, people_csv = synthetic_agency(n, SEED)
        csv_import.apply_import(csv_import.plan_import("units", units_csv.encode()))
        plan = csv_import.plan_import("employees", people_csv.encode())
        assert plan.ok, plan.errors[:3]
        csv_import.apply_import(plan)
        hr_id, _seconds = create_accounts()
        hr = db.session.get(Account, hr_id)
        root = db.session.scalar(sa.select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
        cycle = cycles.save_cycle(None, cycle_data(root, deadline), hr)
        cycles.open_cycle(cycle, hr)
        cycle = db.session.get(Cycle, cycle.id)
        build_skps(cycle)
        simulate(cycle, S.TARGETS_DRAFT, S.TARGETS_SUBMITTED, "submit_targets", 50, Evaluation.employee_id, 1)
        simulate(
            cycle, S.TARGETS_SUBMITTED, S.TARGETS_APPROVED, "approve_targets", 33, Evaluation.rater_id, 2
        )
        clock.reset()
        analyze()
        rng = random.Random(SEED)
        rater_count = max(1, users // 4)
        # Raters with at least three submitted SKPs waiting, spread over the agency.
        waiting = db.session.execute(
            sa.select(Evaluation.rater_id, sa.func.count())
            .where(Evaluation.cycle_id == cycle.id, Evaluation.state == S.TARGETS_SUBMITTED)
            .group_by(Evaluation.rater_id)
            .having(sa.func.count() >= 3)
        ).all()
        rater_ids = [r for r, _c in rng.sample(waiting, min(rater_count, len(waiting)))]
        raters = []
        for rater_id in rater_ids:
            nip = db.session.scalar(sa.select(Employee.nip).where(Employee.id == rater_id))
            team = db.session.scalars(
                sa.select(Evaluation.id).where(
                    Evaluation.cycle_id == cycle.id,
                    Evaluation.rater_id == rater_id,
                    Evaluation.state == S.TARGETS_SUBMITTED,
                )
            ).all()
            raters.append((nip, list(team)))
        drafts = db.session.execute(
            sa.select(Employee.nip, Evaluation.id)
            .join(Employee, Employee.id == Evaluation.employee_id)
            .where(
                Evaluation.cycle_id == cycle.id,
                Evaluation.state == S.TARGETS_DRAFT,
                Evaluation.employee_id.not_in(rater_ids),
            )
        ).all()
        employees = [tuple(row) for row in rng.sample(drafts, min(users - len(raters), len(drafts)))]
        return app, cycle.id, employees, raters


class Stats:
    """Latencies and outcomes per action, shared by the user threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)
        self.outcome = defaultdict(lambda: defaultdict(int))
        self.accepted = defaultdict(list)  # action -> evaluation ids (one entry per accepted action)
        self.errors: list[str] = []

    def record(self, action: str, seconds: float, status: int | str) -> None:
        with self.lock:
            self.latency[action].append(seconds)
            self.outcome[action][status] += 1

    def accept(self, action: str, evaluation_id: int) -> None:
        with self.lock:
            self.accepted[action].append(evaluation_id)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class User:
    """One person's browser: a cookie, a client address, the CSRF token of the session."""

    def __init__(self, port: int, nip: str, address: str, stats: Stats, think: float, rng: random.Random):
        self.port, self.nip, self.address, self.stats, self.think, self.rng = (
            port,
            nip,
            address,
            stats,
            think,
            rng,
        )
        self.cookie = ""
        self.token = ""

    def call(self, action: str, method: str, path: str, fields: dict | None = None, expect=(200,)):
        """One request; returns (status, headers, text) or None when the connection failed."""
        headers = {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "http"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        body = None
        if fields is not None:
            body = urllib.parse.urlencode({"csrf_token": self.token, **fields})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            connection = HTTPConnection("127.0.0.1", self.port, timeout=60)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            connection.close()
        except OSError as error:
            self.stats.record(action, time.perf_counter() - started, "connection")
            self.stats.error(f"{action} {path}: {error!r}")
            return None
        elapsed = time.perf_counter() - started
        self.stats.record(action, elapsed, response.status)
        got = {k.lower(): v for k, v in response.getheaders()}
        if "set-cookie" in got:
            self.cookie = got["set-cookie"].split(";")[0]
        if response.status >= 500 or (response.status not in expect and response.status != 409):
            self.stats.error(f"{action} {path}: {response.status} {text[:200]!r}")
        match = re.search(r'name="csrf-token" content="([^"]+)"', text)
        if match:
            self.token = match.group(1)
        return response.status, got, text

    def pause(self) -> None:
        time.sleep(self.rng.uniform(0, self.think))

    def sign_in(self) -> bool:
        if self.call("sign in (form)", "GET", "/login") is None:
            return False
        result = self.call(
            "sign in", "POST", "/login", {"identifier": self.nip, "password": PASSWORD}, expect=(302,)
        )
        return result is not None and result[0] == 302 and "/login" not in result[1].get("location", "")


def version_of(page: str) -> str:
    """The evaluation's version as its page's forms carry it."""
    match = re.search(r'name="version"[^>]*value="(\d+)"', page) or re.search(
        r'value="(\d+)"[^>]*name="version"', page
    )
    return match.group(1) if match else ""


def employee_loop(user: User, evaluation_id: int, stop: float) -> None:
    """Write the SKP, then submit it after a few rounds; then keep looking at it."""
    page_path = f"/evaluations/{evaluation_id}"
    submitted, rounds = False, 0
    while time.monotonic() < stop:
        user.call("home", "GET", "/")
        user.pause()
        got = user.call("SKP page", "GET", page_path)
        if got is None:
            continue
        page = got[2]
        user.pause()
        if submitted or time.monotonic() >= stop:
            continue
        rounds += 1
        if rounds >= 3:
            result = user.call(
                "submit SKP",
                "POST",
                f"{page_path}/submit-targets",
                {"version": version_of(page)},
                expect=(302,),
            )
            if result and result[0] == 302:
                user.stats.accept("submit_targets", evaluation_id)
                submitted = True
            continue
        text = f"{MARK} {rounds} ({user.nip})"
        result = user.call(
            "add RHK",
            "POST",
            f"{page_path}/rhk",
            {"version": version_of(page), "kind": "main", "text": text, "parent_rhk_id": ""},
            expect=(302,),
        )
        if not result or result[0] != 302:
            continue
        user.stats.accept("rhk", evaluation_id)
        got = user.call("SKP page", "GET", page_path)
        if got is None:
            continue
        page = got[2]
        rhk_ids = [int(i) for i in re.findall(r'id="rhk-(\d+)"', page)]
        if not rhk_ids:
            continue
        rhk_id = max(rhk_ids)
        user.pause()
        result = user.call(
            "add indicator",
            "POST",
            f"{page_path}/rhk/{rhk_id}/indicators",
            {
                "version": version_of(page),
                "aspect": "quantity",
                "text": "Jumlah pasien yang dilayani",
                "comparator": "at_least",
                "target": str(user.rng.choice([100, 250, 400])),
                "target_max": "",
                "unit": "pasien",
            },
            expect=(302,),
        )
        if result and result[0] == 302:
            user.stats.accept("indicator", evaluation_id)


def rater_loop(user: User, team: list[int], stop: float) -> None:
    """Look at the home and the team, then approve (or return) the SKPs waiting, one by one."""
    waiting = list(team)
    done = 0
    while time.monotonic() < stop:
        user.call("home", "GET", "/")
        user.pause()
        user.call("team page", "GET", "/people/team")
        user.pause()
        if not waiting:
            continue
        evaluation_id = waiting.pop(0)
        got = user.call("SKP page", "GET", f"/evaluations/{evaluation_id}")
        if got is None or time.monotonic() >= stop:
            continue
        user.pause()
        done += 1
        if done % 4 == 0:
            action, path = "return_targets", "return-targets"
            fields = {
                "version": version_of(got[2]),
                "comment": "Lengkapi indikator kualitas, lalu ajukan lagi.",
            }
        else:
            action, path = "approve_targets", "approve-targets"
            fields = {"version": version_of(got[2])}
        result = user.call(
            "approve/return", "POST", f"/evaluations/{evaluation_id}/{path}", fields, expect=(302,)
        )
        if result and result[0] == 302:
            user.stats.accept(action, evaluation_id)


def lost_updates(app, started_at, stats: Stats) -> list[str]:
    """Every accepted transition audited exactly once; every accepted RHK and indicator stored."""
    problems = []
    with app.app_context():
        for action in ("submit_targets", "approve_targets", "return_targets"):
            accepted = stats.accepted[action]
            rows = db.session.execute(
                sa.select(AuditEvent.object_id, sa.func.count())
                .where(AuditEvent.action == f"evaluation.{action}", AuditEvent.occurred_at >= started_at)
                .group_by(AuditEvent.object_id)
            ).all()
            audited = {int(object_id): count for object_id, count in rows}
            for evaluation_id in accepted:
                if audited.get(evaluation_id) != 1:
                    problems.append(
                        f"{action} of {evaluation_id}: {audited.get(evaluation_id, 0)} audit events"
                    )
            if len(audited) != len(set(accepted)):
                problems.append(f"{action}: {len(audited)} audited, {len(set(accepted))} accepted")
        stored_rhk = db.session.scalar(sa.select(sa.func.count()).where(Rhk.text.like(f"{MARK}%")))
        stored_indicators = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Indicator)
            .join(Rhk, Rhk.id == Indicator.rhk_id)
            .where(Rhk.text.like(f"{MARK}%"))
        )
        # A returned SKP keeps its RHK; none is deleted by the run.
        if stored_rhk != len(stats.accepted["rhk"]):
            problems.append(f"RHK: {len(stats.accepted['rhk'])} accepted, {stored_rhk} stored")
        if stored_indicators != len(stats.accepted["indicator"]):
            problems.append(
                f"indicators: {len(stats.accepted['indicator'])} accepted, {stored_indicators} stored"
            )
    return problems


def main() -> None:
    """Build, serve, sign everyone in, run the rush, check, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.5, help="longest pause between two steps (s)")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    start = time.perf_counter()
    app, _cycle_id, employees, raters = build(args.n, args.database_url, args.users)
    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]
    print(
        f"agency of {args.n} on {database} built in {time.perf_counter() - start:.0f} s; "
        f"{len(employees)} employees and {len(raters)} raters will work",
        flush=True,
    )
    env = dict(
        os.environ,
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_SECURE="0",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_PATH=app.instance_path,
        TRUSTED_PROXIES="1",
        RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/2"),
        RATELIMIT_KEY_PREFIX=f"bench-rush-{secrets.token_hex(4)}",
    )
    command = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}"]
    server = subprocess.Popen(
        [*command, "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                HTTPConnection("127.0.0.1", args.port, timeout=2).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)
        health = []
        if shutil.which("wrk"):
            health.append(wrk(args.port, "/healthz", "", 10, 4)["rps"])
        stats = Stats()
        users = [
            (
                User(
                    args.port,
                    nip,
                    f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256 + 1}",
                    stats,
                    args.think,
                    random.Random(SEED + i),
                ),
                "employee",
                evaluation_id,
            )
            for i, (nip, evaluation_id) in enumerate(employees)
        ] + [
            (
                User(
                    args.port,
                    nip,
                    f"10.200.{i // 256}.{i % 256 + 1}",
                    stats,
                    args.think,
                    random.Random(-i - 1),
                ),
                "rater",
                team,
            )
            for i, (nip, team) in enumerate(raters)
        ]
        signed = []

        def sign(user):
            if user.sign_in():
                signed.append(user)

        began = time.perf_counter()
        threads = [threading.Thread(target=sign, args=(user,)) for user, _k, _w in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"{len(signed)} of {len(users)} signed in, in {time.perf_counter() - began:.1f} s", flush=True)
        with app.app_context():
            started_at = clock.utcnow()
        stop = time.monotonic() + args.duration
        began = time.perf_counter()
        threads = []
        for user, kind, work in users:
            if user not in signed:
                continue
            target = employee_loop if kind == "employee" else rater_loop
            threads.append(threading.Thread(target=target, args=(user, work, stop)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        if shutil.which("wrk"):
            health.append(wrk(args.port, "/healthz", "", 10, 4)["rps"])
    finally:
        server.terminate()
        server.wait(timeout=30)

    total = sum(len(v) for k, v in stats.latency.items() if not k.startswith("sign in"))
    load = os.getloadavg()[0]
    print(
        f"\nrush: {len(signed)} users for {elapsed:.0f} s on gunicorn -w {args.workers}, "
        f"think ≤ {args.think} s; {total / elapsed:.1f} req/s overall; load average {load:.2f}"
    )
    if health:
        print(f"/healthz (wrk -c4, before and after): {' and '.join(f'{h:.0f}' for h in health)} req/s")
    print(f"{'action':<18} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for action in sorted(stats.latency):
        values = [v * 1000 for v in stats.latency[action]]
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(stats.outcome[action].items(), key=str))
        print(
            f"{action:<18} {len(values):>8} {len(values) / elapsed:>7.1f} {percentile(values, 50):>8.0f} "
            f"{percentile(values, 95):>8.0f} {percentile(values, 99):>8.0f}  {statuses}"
        )
    accepted = {k: len(v) for k, v in stats.accepted.items()}
    print(f"accepted: {accepted}")
    problems = lost_updates(app, started_at, stats)
    print(f"errors: {len(stats.errors)}" + "".join(f"\n  {e}" for e in stats.errors[:10]))
    print(f"lost updates: {len(problems)}" + "".join(f"\n  {p}" for p in problems[:10]))
    sys.exit(1 if stats.errors or problems else 0)


if __name__ == "__main__":
    main()
