"""The employee SKP page in process, through the Flask test client: the body from the page cache
(warm) beside the body rendered every time (cache off), on an agency already built.

    .venv/bin/python -m bench.page_cache --database-url URL [--requests 200] [--profile]

Run it after `bench.throughput` (or `bench.scale`) on the same database: it signs in as the
employee mid-tree whose SKP page those measure and requests it `--requests` times each way,
printing the median and p95 per request and the SQL statements of one request. `--profile`
prints a pyinstrument profile of the warm requests."""

import argparse
import re
import statistics
import time

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Cycle
from bench.scale import PASSWORD
from bench.throughput import who


def app_on(url: str, cache_size: int):
    """An app on the existing database, as production runs it but for the cache size."""
    return create_app(
        {"DATABASE_URL": url, "TESTING": False, "PAGE_CACHE_SIZE": cache_size, "PAGE_CACHE_VERIFY": False}
    )


def run(app, url_path: str, nip: str, requests: int, profiler=None) -> tuple[list[float], int]:
    """Per-request times (ms) of `requests` GETs after one warm-up, and one request's statements."""
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token.group(1), "identifier": nip, "password": PASSWORD})
    assert client.get(url_path).status_code == 200, "not signed in"
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    client.get(url_path)
    sa.event.remove(engine, "before_cursor_execute", listener)
    times = []
    if profiler:
        profiler.start()
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url_path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    if profiler:
        profiler.stop()
    return times, len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        print("load average:", " ".join(f.read().split()[:3]))
    probe = app_on(args.database_url, 0)
    with probe.app_context():
        cycle_id = db.session.scalar(sa.select(sa.func.max(Cycle.id)))
        people = who(cycle_id)
    path = f"/evaluations/{people['evaluation']}"
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
    for label, size in (("cache off (rendered every time)", 0), ("cache warm", 500)):
        times, statements = run(
            app_on(args.database_url, size),
            path,
            people["employee"],
            args.requests,
            profiler if size else None,
        )
        times.sort()
        median, p95 = statistics.median(times), times[int(len(times) * 0.95)]
        print(f"{label:<34} median {median:6.2f} ms  p95 {p95:6.2f} ms  {statements} SQL")
    if profiler:
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
