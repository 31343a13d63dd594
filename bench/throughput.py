"""Throughput under a real server: gunicorn with 2 workers, wrk on loopback, signed-in pages.

    .venv/bin/python -m bench.throughput [--n 10000] [--database-url URL] [--duration 10]
        [--connections 4] [--warm-up SECONDS] [--port 8765] [--tree DIR ...] [--no-appeal-phase]

Builds an agency of n employees in the state right after the target-setting deadline (SKPs
written, three in four submitted, most approved, the rest locked), starts
`gunicorn -w 2 wsgi:app` on 127.0.0.1 with APP_ENV=production, signs in through the real login
form as each page's person (an employee mid-tree, the supervisor with the largest team, the HR
officer) and runs wrk (Debian's package) against /healthz, each page, then /healthz again. Then
it moves the agency on to the appeal phase (reviews, 2 % keberatan) and does the same for the
reviewed SKP page, the appeals inbox of the busiest appeal handler, the dashboard and the
distribution page. Each page's requests per second are printed beside the mean of its two
/healthz runs, with the share goal of issue 14.

`--tree DIR` (repeatable) serves another checkout on the same database in the same run, e.g.
`git worktree add --detach /tmp/before <commit>` then `--tree /tmp/before --tree .`: a before
and after on the same data. Every wrk run is bounded by --duration and stays on loopback."""

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.imports import people as csv_import
from app.jobs import DueReport, lock_overdue
from app.models import Account, Cycle, Employee, Evaluation, EvaluationState, OrgUnit
from app.workflow import cycles
from bench.common import fresh_app
from bench.import_people import synthetic_agency
from bench.scale import PASSWORD, SEED, build_skps, create_accounts, cycle_data, simulate

ROOT = Path(__file__).resolve().parent.parent
S = EvaluationState


def build(n: int, database_url: str):
    """The agency just after the target deadline; returns (app, cycle id, employee nip, evaluation
    id, HR nip)."""
    app = fresh_app(database_url)
    with app.app_context():
        real_now = clock.utcnow().replace(second=0, microsecond=0)
        deadline = real_now - timedelta(hours=1)
        clock.travel_to(deadline - timedelta(days=30))
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
        simulate(cycle, S.TARGETS_DRAFT, S.TARGETS_SUBMITTED, "submit_targets", 75, Evaluation.employee_id, 1)
        simulate(
            cycle, S.TARGETS_SUBMITTED, S.TARGETS_APPROVED, "approve_targets", 90, Evaluation.rater_id, 2
        )
        clock.reset()
        lock_overdue(DueReport())
        cycle_id = cycle.id
        middle = db.session.scalar(sa.select(sa.func.count()).where(Evaluation.cycle_id == cycle_id)) // 2
        evaluation = db.session.scalar(
            sa.select(Evaluation)
            .where(Evaluation.cycle_id == cycle_id)
            .order_by(Evaluation.id)
            .offset(middle)
        )
        employee_nip = db.session.scalar(sa.select(Employee.nip).where(Employee.id == evaluation.employee_id))
        hr_nip = db.session.scalar(
            sa.select(Employee.nip)
            .join(Account, Account.employee_id == Employee.id)
            .where(Account.id == hr_id)
        )
        result = (cycle_id, employee_nip, evaluation.id, hr_nip)
        db.session.remove()
        db.engine.dispose()
    return (app, *result)


def request(port: int, method: str, path: str, cookie: str = "", body: str = "") -> tuple[int, dict, str]:
    """One HTTP request on loopback; returns status, headers (last value wins) and text."""
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, text
    connection.close()
    return result


def sign_in(port: int, nip: str) -> str:
    """Sign in through the login form; return the Cookie header of the signed-in session."""
    status, headers, html = request(port, "GET", "/login")
    cookie = headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"identifier": nip, "password": PASSWORD, "csrf_token": token})
    status, headers, _text = request(port, "POST", "/login", cookie, body)
    assert status == 302 and "/login" not in headers.get("location", ""), (status, headers)
    return headers["set-cookie"].split(";")[0]


def wrk(port: int, path: str, cookie: str, duration: int, connections: int) -> dict:
    """One bounded wrk run; returns requests/s, latency percentiles and errors."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", output, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": rps,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def who(cycle_id: int) -> dict:
    """Who the pages are seen as: an employee mid-tree, the supervisor with the largest team and
    the appeal handler with the most keberatan (their NIPs), and that employee's evaluation."""
    middle = db.session.scalar(sa.select(sa.func.count()).where(Evaluation.cycle_id == cycle_id)) // 2
    evaluation_id, employee_id = db.session.execute(
        sa.select(Evaluation.id, Evaluation.employee_id)
        .where(Evaluation.cycle_id == cycle_id)
        .order_by(Evaluation.id)
        .offset(middle)
        .limit(1)
    ).one()
    supervisor = db.session.scalar(
        sa.select(Employee.supervisor_id)
        .where(Employee.supervisor_id.is_not(None), Employee.active)
        .group_by(Employee.supervisor_id)
        .order_by(sa.func.count().desc(), Employee.supervisor_id)
        .limit(1)
    )
    handler = db.session.scalar(
        sa.select(Evaluation.appeal_handler_id)
        .where(Evaluation.cycle_id == cycle_id, Evaluation.state == S.APPEALED)
        .group_by(Evaluation.appeal_handler_id)
        .order_by(sa.func.count().desc(), Evaluation.appeal_handler_id)
        .limit(1)
    )

    def nip(employee_id):
        return (
            db.session.scalar(sa.select(Employee.nip).where(Employee.id == employee_id))
            if employee_id
            else None
        )

    return {
        "evaluation": evaluation_id,
        "employee": nip(employee_id),
        "rater": nip(supervisor),
        "handler": nip(handler),
    }


def to_appeal_phase(app, cycle_id: int) -> None:
    """Move the agency on to the appeal phase (self-assessments, reviews, 2 % keberatan)."""
    from bench.scale import setup_review_phase

    with app.app_context():
        cycles.advance(db.session.get(Cycle, cycle_id), None)
        setup_review_phase(db.session.get(Cycle, cycle_id))
        clock.reset()
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
        db.session.remove()
        db.engine.dispose()


def serve(tree: Path, app, port: int):
    """gunicorn -w 2 serving the code in `tree` on the benchmark's database; waits for /healthz."""
    env = dict(
        os.environ,
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_SECURE="0",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_PATH=app.instance_path,
    )
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    sys.exit(f"gunicorn from {tree} did not answer")


def stop(server) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def measure(tree: Path, app, pages: list[tuple[str, str, str | None]], args) -> dict:
    """Serve `tree`, sign in as each page's person, run wrk on /healthz, each page, /healthz."""
    server = serve(tree, app, args.port)
    try:
        cookies = {nip: sign_in(args.port, nip) for _label, _path, nip in pages if nip}
        targets = [("/healthz", "/healthz", "")]
        targets += [(label, path, cookies[nip] if nip else "") for label, path, nip in pages]
        targets.append(("/healthz (again)", "/healthz", ""))
        for label, path, cookie in targets:
            status = request(args.port, "GET", path, cookie)[0]
            assert status == 200, (label, path, status)
        print(f"  {tree}  (load average {os.getloadavg()[0]:.2f})", flush=True)
        results = {}
        for label, path, cookie in targets:
            if args.warm_up:  # every worker's first view of the page (its caches filled), not counted
                wrk(args.port, path, cookie, args.warm_up, args.connections)
            results[label] = r = wrk(args.port, path, cookie, args.duration, args.connections)
            print(
                f"    {label:<38} {r['rps']:8.1f} req/s   p50 {r['p50']:>8}  p99 {r['p99']:>8}"
                f"{'   non-2xx ' + str(r['non_2xx']) if r['non_2xx'] else ''}"
                f"{'   socket errors ' + r['socket_errors'] if r['socket_errors'] else ''}",
                flush=True,
            )
        health = (results["/healthz"]["rps"] + results["/healthz (again)"]["rps"]) / 2
        print(f"    /healthz mean {health:.1f} req/s")
        for label, _path, _nip in pages:
            goal = GOALS.get(label.split(" (")[0])
            share = 100 * results[label]["rps"] / health
            verdict = f"  (goal at least {goal} %: {'met' if share >= goal else 'NOT MET'})" if goal else ""
            print(f"    {label:<38} {share:5.1f} % of /healthz{verdict}", flush=True)
        return results
    finally:
        stop(server)


# The share of /healthz each page must serve (issue 14, goal 1).
GOALS = {
    "employee SKP page": 30,
    "rater team page": 30,
    "rater's evaluations list": 30,
    "appeals inbox": 30,
    "HR progress dashboard": 20,
    "distribution": 20,
}


def main() -> None:
    """Build, then for each code tree: serve, measure, stop; then the appeal phase the same way."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--warm-up",
        type=int,
        default=0,
        help="seconds of wrk on each page before its measured run, not counted (each worker's first "
        "view: the dashboard's completion chart reads the cycle's audit trail once per process)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        help="a checkout to serve (repeat to compare, e.g. a worktree of an earlier commit, then this one); "
        "default: this checkout",
    )
    parser.add_argument(
        "--no-appeal-phase", action="store_true", help="only the pages after the target deadline"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    trees = [Path(t).resolve() for t in args.tree] or [ROOT]
    start = time.perf_counter()
    app, cycle_id, _employee_nip, _evaluation_id, hr_nip = build(args.n, args.database_url)
    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]
    print(f"agency of {args.n} on {database} built in {time.perf_counter() - start:.0f} s", flush=True)
    with app.app_context():
        people = who(cycle_id)
        db.session.remove()
        db.engine.dispose()
    print(
        f"gunicorn -w 2 on 127.0.0.1:{args.port}; wrk -t1 -c{args.connections} -d{args.duration}s per run",
        flush=True,
    )
    print("After the target deadline:", flush=True)
    pages = [
        ("employee SKP page", f"/evaluations/{people['evaluation']}", people["employee"]),
        ("rater team page", "/people/team", people["rater"]),
        ("rater's evaluations list", "/evaluations/", people["rater"]),
        ("HR progress dashboard", f"/cycles/{cycle_id}", hr_nip),
        ("overdue list", f"/cycles/{cycle_id}/overdue", hr_nip),
    ]
    for tree in trees:
        measure(tree, app, pages, args)
    if args.no_appeal_phase:
        return
    start = time.perf_counter()
    to_appeal_phase(app, cycle_id)
    with app.app_context():
        people = who(cycle_id)
        db.session.remove()
        db.engine.dispose()
    print(f"In the appeal phase (set up in {time.perf_counter() - start:.0f} s):", flush=True)
    pages = [
        ("employee SKP page (reviewed)", f"/evaluations/{people['evaluation']}", people["employee"]),
        ("appeals inbox", "/evaluations/", people["handler"]),
        ("HR progress dashboard (appeal phase)", f"/cycles/{cycle_id}", hr_nip),
        ("distribution", f"/cycles/{cycle_id}/distribution", hr_nip),
    ]
    for tree in trees:
        measure(tree, app, pages, args)


if __name__ == "__main__":
    main()
