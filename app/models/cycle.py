"""Evaluation periods (cycles), their scope, the units' organisation predikat and the curve."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.domain import OrgPredikat
from app.extensions import db
from app.inputs import int_or_none
from app.models.org import OrgUnit
from app.models.people import _enum
from app.models.types import UTCDateTime


class CycleKind(enum.StrEnum):
    """Annual SKP, or a periodic evaluation that reuses the annual targets."""

    ANNUAL = "annual"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"


class CycleState(enum.StrEnum):
    """The phases of a cycle, in order."""

    DRAFT = "draft"
    TARGET_SETTING = "target_setting"
    SELF_ASSESSMENT = "self_assessment"
    SUPERVISOR_REVIEW = "supervisor_review"
    APPEAL = "appeal"
    PUBLISHED = "published"
    CLOSED = "closed"


class PublicationMode(enum.StrEnum):
    """What the results board shows."""

    NAMES = "names"
    TOTALS = "totals"


cycle_unit = sa.Table(
    "cycle_unit",
    db.metadata,
    sa.Column("cycle_id", sa.ForeignKey("cycle.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.ForeignKey("org_unit.id"), primary_key=True),
)


class Cycle(db.Model):
    """A periode penilaian with a deadline per phase; its state changes only in app.workflow."""

    __tablename__ = "cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[CycleKind] = mapped_column(_enum(CycleKind, "cycle_kind", 16))
    year: Mapped[int]
    period: Mapped[int | None]
    annual_cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cycle.id"))
    state: Mapped[str] = mapped_column(sa.String(24), default=CycleState.DRAFT.value, index=True)
    target_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assessment_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    review_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    appeal_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    appeal_window_days: Mapped[int] = mapped_column(default=14, server_default="14")
    appeal_decision_days: Mapped[int] = mapped_column(default=14, server_default="14")
    reminder_days: Mapped[str] = mapped_column(sa.String(40), default="7,3,1", server_default="7,3,1")
    # Coaching trigger: at mid-period an indicator whose logged progress is this share (%) or more
    # behind its target asks the rater for a bimbingan (app/workflow/monitoring/coaching.py).
    coaching_behind_pct: Mapped[int] = mapped_column(default=30, server_default="30")
    auto_advance: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    publication_mode: Mapped[PublicationMode | None] = mapped_column(
        _enum(PublicationMode, "publication_mode", 8)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Totals per unit and the number of names as announced (app.workflow.distribution.snapshot).
    published_totals: Mapped[dict | None] = mapped_column(sa.JSON)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    units: Mapped[list[OrgUnit]] = relationship(secondary=cycle_unit, order_by=OrgUnit.name)
    annual_cycle: Mapped["Cycle | None"] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}

    DEADLINE_OF_PHASE = {
        CycleState.TARGET_SETTING: "target_deadline",
        CycleState.SELF_ASSESSMENT: "assessment_deadline",
        CycleState.SUPERVISOR_REVIEW: "review_deadline",
        CycleState.APPEAL: "appeal_deadline",
    }

    def deadline_of(self, phase: str) -> datetime | None:
        """The deadline of a phase, or None for phases without one."""
        field = self.DEADLINE_OF_PHASE.get(CycleState(phase))
        return getattr(self, field) if field else None

    @property
    def reminder_offsets(self) -> list[int]:
        """Days before a deadline on which reminders go out (e.g. 7, 3, 1)."""
        days = {int_or_none(p, minimum=1) for p in self.reminder_days.split(",")}
        return sorted(days - {None}, reverse=True)

    @property
    def is_periodic(self) -> bool:
        """Quarterly or monthly: reuses the annual targets and starts at self-assessment."""
        return self.kind is not CycleKind.ANNUAL

    @property
    def is_frozen(self) -> bool:
        """Published and closed cycles are immutable."""
        return self.state in (CycleState.PUBLISHED, CycleState.CLOSED)

    def __repr__(self) -> str:
        return f"<Cycle {self.id} {self.state}>"


class UnitPredikat(db.Model):
    """The predikat organisasi HR records for a unit in a cycle (drives its curve)."""

    __tablename__ = "unit_predikat"

    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_unit.id"), primary_key=True)
    org_predikat: Mapped[OrgPredikat] = mapped_column(_enum(OrgPredikat, "org_predikat", 20))


class DistributionBand(db.Model):
    """One rule of the kurva distribusi: the share of a predikat group in a unit of an org predikat.

    Rules are never changed in place: an edit retires the org predikat's rules and adds the new
    ones, so a published cycle is still checked against the rules in force when it was published
    (`valid_from` <= published_at < `retired_at`)."""

    __tablename__ = "distribution_band"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_predikat: Mapped[OrgPredikat] = mapped_column(_enum(OrgPredikat, "org_predikat", 20), index=True)
    predikat_group: Mapped[str] = mapped_column(sa.String(100))  # comma-separated Predikat values
    min_pct: Mapped[int | None]
    max_pct: Mapped[int | None]
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
