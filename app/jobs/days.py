"""The local days a daily job was done for (`JobDay`): claimed once, whoever runs the job."""

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import JobDay


def local_today() -> date:
    """Today in the configured time zone."""
    return clock.now().date()


def claim(job: str, day: date, *, caught_up_on: date | None = None) -> bool:
    """Record `job` as done for `day` in the current transaction; False when it already was.

    ON CONFLICT DO NOTHING: a second scheduler claiming the same day at the same moment waits
    for the first one's transaction and then finds the day taken.
    """
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(JobDay)
        .values(job=job, day=day, done_at=clock.utcnow(), caught_up_on=caught_up_on)
        .on_conflict_do_nothing(index_elements=["job", "day"])
        .returning(JobDay.job)
    )
    return db.session.execute(statement).first() is not None


def done(job: str, days: Iterable[date]) -> set[date]:
    """Which of `days` the job was done for."""
    days = list(days)
    if not days:
        return set()
    return set(db.session.scalars(sa.select(JobDay.day).where(JobDay.job == job, JobDay.day.in_(days))))


def first(job: str) -> date | None:
    """The first day the job was ever done for (None before its first run)."""
    return db.session.scalar(sa.select(sa.func.min(JobDay.day)).where(JobDay.job == job))
