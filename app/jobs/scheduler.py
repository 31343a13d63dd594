"""The scheduler process (`flask scheduler`): APScheduler in its own process, one active at a time.

On PostgreSQL a second scheduler stands by behind a session advisory lock; on SQLite behind a
file lock in the instance folder. On start it runs whatever came due while it was down (the
latest reminder day it missed included, once).
"""

import fcntl
import logging
import time
from pathlib import Path

import sqlalchemy as sa
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app import clock
from app.extensions import db

log = logging.getLogger("kinerja.scheduler")


class SingletonLock:
    """Held by the one active scheduler for as long as its process lives."""

    def __init__(self, app: Flask):
        self.app = app
        self.connection = None
        self.file = None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it."""
        with self.app.app_context():
            if db.engine.dialect.name == "postgresql":
                connection = db.engine.connect()
                got = connection.execute(
                    sa.select(sa.func.pg_try_advisory_lock(self.app.config["SCHEDULER_LOCK_ID"]))
                ).scalar()
                connection.commit()
                if got:
                    self.connection = connection
                else:
                    connection.close()
                return bool(got)
        path = Path(self.app.instance_path) / "scheduler.lock"
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.file = handle
        return True

    def release(self) -> None:
        """Give the lock up (process end does it too)."""
        if self.connection is not None:
            self.connection.execute(
                sa.select(sa.func.pg_advisory_unlock(self.app.config["SCHEDULER_LOCK_ID"]))
            )
            self.connection.close()
            self.connection = None
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None


def _job(app: Flask, func):
    def run():
        with app.app_context():
            try:
                result = func()
                log.info("%s: %s", func.__name__, getattr(result, "as_dict", lambda: result)())
            except Exception:  # noqa: BLE001 - a failing run must not stop the scheduler
                db.session.rollback()
                log.exception("%s failed", func.__name__)
            finally:
                db.session.remove()

    run.__name__ = func.__name__
    return run


def build_scheduler(app: Flask) -> BlockingScheduler:
    """The jobs: due work every few minutes and at once on start (locks, windows, reminders with
    their catch-up, the daily sweep of orphan evidence files: `run_due`), the relay every minute,
    the ZIPs of documents HR asked for every few seconds."""
    from app.jobs import run_due
    from app.notify.relay import relay
    from app.output.bundles import build_bundles

    with app.app_context():
        zone = clock.tz()
    scheduler = BlockingScheduler(timezone=zone)
    start = clock.utcnow().astimezone(zone)
    scheduler.add_job(
        _job(app, run_due),
        "interval",
        minutes=app.config["SCHEDULER_DUE_MINUTES"],
        next_run_time=start,
        id="run_due",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _job(app, build_bundles),
        "interval",
        # HR waits on the page for a unit's ZIP: picked up within seconds, never two at once.
        seconds=app.config["DOCUMENT_BUNDLE_SECONDS"],
        id="build_bundles",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _job(app, relay),
        "interval",
        # A third of the lease: the mail of a relay that crashed goes out again within a minute.
        seconds=app.config["RELAY_INTERVAL_SECONDS"],
        id="relay",
        max_instances=1,
        coalesce=True,
    )
    return scheduler


def run(app: Flask, *, standby_seconds: int = 30) -> None:
    """Become the active scheduler (standing by while another one is), then run the jobs."""
    lock = SingletonLock(app)
    while not lock.try_acquire():
        log.info("another scheduler is active; standing by")
        time.sleep(standby_seconds)
    log.info("scheduler active")
    scheduler = build_scheduler(app)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lock.release()
