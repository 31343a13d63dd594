"""Shared pieces of the benchmarks: an app on a fresh database and a synthetic agency."""

import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from config import Config  # noqa: E402


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` when it does not exist yet."""
    target = sa.engine.make_url(url)
    maintenance = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    maintenance.dispose()


def fresh_app(database_url: str = "", **config):
    """An app on an empty, migrated database (PostgreSQL: created if missing, the schema dropped)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    if url.startswith("postgresql"):
        ensure_database(url)
    # A benchmark is a batch process like a `flask` command: the bulk statement timeout, not a web
    # worker's (a loaded machine stretches the setup's large statements past 15 s).
    # The app runs with the test configuration's fast password hashing, but pages are served as
    # in production: a page cache hit is not rendered a second time to be compared.
    settings = {
        "DB_STATEMENT_TIMEOUT": Config.DB_BULK_STATEMENT_TIMEOUT,
        "PAGE_CACHE_VERIFY": False,
        **config,
    }
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "TESTING": False, **settings})
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    return app


def timed(label: str, func, *, floor: float | None = None):
    """Run func, print its time (and its ratio to a floor), return (result, seconds)."""
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    ratio = f"   {elapsed / floor:5.1f}x floor" if floor else ""
    print(f"  {label:<52} {elapsed:8.2f} s{ratio}", flush=True)
    return result, elapsed


def load_agency(n: int) -> None:
    """Import a synthetic agency of n employees through the CSV importer (one call each)."""
    from app.imports import people as csv_import
    from bench.import_people import synthetic_agency

    units_csv, people_csv = synthetic_agency(n)
    csv_import.apply_import(csv_import.plan_import("units", units_csv.encode()))
    plan = csv_import.plan_import("employees", people_csv.encode())
    assert plan.ok, plan.errors[:3]
    csv_import.apply_import(plan)
