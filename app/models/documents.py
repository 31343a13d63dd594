"""A ZIP of a unit's SKP and evaluation documents, built in the background for HR."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.cycle import Cycle
from app.models.org import OrgUnit
from app.models.types import UTCDateTime


class DocumentBundle(db.Model):
    """One request for a unit's documents of a cycle: queued, building (with progress), done or failed."""

    __tablename__ = "document_bundle"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_unit.id"))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    state: Mapped[str] = mapped_column(sa.String(12), default="queued", index=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str | None] = mapped_column(sa.String(100))
    error: Mapped[str | None] = mapped_column(sa.Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    cycle: Mapped[Cycle] = relationship()
    unit: Mapped[OrgUnit] = relationship()
