"""What the scheduled jobs remember between runs: the local days a daily job was done for."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db
from app.models.types import UTCDateTime


class JobDay(db.Model):
    """One daily job done for one local day: the reminders of that day (sent on the day, or
    caught up after the scheduler was down), or the day's sweep of orphan files.

    The primary key makes the claim of a day exclusive: a rerun or a second scheduler finds it
    taken and does the work no second time.
    """

    __tablename__ = "job_day"

    job: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    # Reminders: the day was handled late, by a catch-up on this later day.
    caught_up_on: Mapped[date | None] = mapped_column(sa.Date)
