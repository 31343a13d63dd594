"""One employee's SKP in one cycle: targets (RHK, IKI), realisations, evidence, the review."""

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import flag_modified

from app import clock
from app.domain import Aspect, Comparator, CoreValue, Predikat, Rating, WithdrawalReason
from app.extensions import db
from app.models.cycle import Cycle
from app.models.org import OrgUnit
from app.models.people import Account, Employee, _enum
from app.models.types import UTCDateTime


class EvaluationState(enum.StrEnum):
    """The states of the evaluation machine (app/workflow/definitions.py)."""

    TARGETS_DRAFT = "targets_draft"
    TARGETS_SUBMITTED = "targets_submitted"
    TARGETS_APPROVED = "targets_approved"
    TARGETS_LOCKED = "targets_locked"
    ASSESSMENT_DRAFT = "assessment_draft"
    ASSESSMENT_SUBMITTED = "assessment_submitted"
    ASSESSMENT_LOCKED = "assessment_locked"
    REVIEWED = "reviewed"
    APPEALED = "appealed"
    DECIDED = "decided"
    FINAL = "final"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"  # dikecualikan: left the cycle (mutasi, pensiun, ...); reversible until published
    NOT_RATED = "not_rated"  # tidak dinilai: HR's explicit mark for one never reviewed, with the reason


class RhkKind(enum.StrEnum):
    """RHK utama (main) or tambahan (additional)."""

    MAIN = "main"
    ADDITIONAL = "additional"


class ProgressRule(enum.StrEnum):
    """How an indicator's progress log adds up to a suggested realisation (declared on the indicator)."""

    SUM = "sum"  # counted targets: the entries add up (reports made, patients served)
    LATEST = "latest"  # levels: the latest entry stands (waiting time, satisfaction)


NUMBER = sa.Numeric(14, 2)


class Evaluation(db.Model):
    """The evaluation; its rater and appeal handler are fixed when it is created."""

    __tablename__ = "evaluation"
    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "employee_id"),
        # Bulk phase changes (cycle, state) and the dashboards' per-unit counts (index-only).
        sa.Index("ix_evaluation_cycle_unit_state", "cycle_id", "unit_id", "state", "predikat"),
        # The few evaluations under a personal extension (the dashboard lists them).
        sa.Index(
            "ix_evaluation_extended",
            "cycle_id",
            "extended_until",
            postgresql_where=sa.text("extended_until IS NOT NULL"),
            sqlite_where=sa.text("extended_until IS NOT NULL"),
        ),
        sa.CheckConstraint("rater_id <> employee_id", name="not_own_rater"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    rater_id: Mapped[int] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    appeal_handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_unit.id"))  # see ix_evaluation_cycle_unit_state
    state: Mapped[str] = mapped_column(sa.String(24), default=EvaluationState.TARGETS_DRAFT.value)
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extended_phase: Mapped[str | None] = mapped_column(sa.String(24))
    resources: Mapped[str | None] = mapped_column(sa.Text)
    accountability: Mapped[str | None] = mapped_column(sa.Text)
    consequences: Mapped[str | None] = mapped_column(sa.Text)
    results_rating: Mapped[Rating | None] = mapped_column(_enum(Rating, "results_rating", 8))
    behaviour_rating: Mapped[Rating | None] = mapped_column(_enum(Rating, "behaviour_rating", 8))
    predikat: Mapped[Predikat | None] = mapped_column(_enum(Predikat, "predikat", 20))
    review_summary: Mapped[str | None] = mapped_column(sa.Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appeal_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Withdrawn or marked "tidak dinilai": the state it left (restored if HR takes it back), why, when.
    set_aside_from: Mapped[str | None] = mapped_column(sa.String(24))
    withdrawal_reason: Mapped[WithdrawalReason | None] = mapped_column(
        _enum(WithdrawalReason, "withdrawal_reason", 20)
    )
    set_aside_note: Mapped[str | None] = mapped_column(sa.Text)
    set_aside_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    cycle: Mapped[Cycle] = relationship()
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    rater: Mapped[Employee] = relationship(foreign_keys=[rater_id])
    appeal_handler: Mapped[Employee | None] = relationship(foreign_keys=[appeal_handler_id])
    unit: Mapped[OrgUnit] = relationship()
    rhks: Mapped[list["Rhk"]] = relationship(
        back_populates="evaluation", order_by="Rhk.position, Rhk.id", cascade="all, delete-orphan"
    )
    behaviour: Mapped[list["BehaviourNote"]] = relationship(cascade="all, delete-orphan")
    comments: Mapped[list["Comment"]] = relationship(order_by="Comment.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def touch(self) -> None:
        """Mark a change of the SKP's content, so concurrent edits are detected (version bump).

        Flagged as modified even when the clock reads the same instant, so the row is always
        updated and its version always moves.
        """
        self.updated_at = clock.utcnow()
        flag_modified(self, "updated_at")

    def behaviour_note(self, value: CoreValue) -> "BehaviourNote | None":
        """The expectation and feedback for one core value."""
        return next((note for note in self.behaviour if note.value == value), None)

    @property
    def indicators(self) -> list["Indicator"]:
        """Every IKI of every RHK, in order."""
        return [indicator for rhk in self.rhks for indicator in rhk.indicators]

    def __repr__(self) -> str:
        return f"<Evaluation {self.id} {self.state}>"


class Rhk(db.Model):
    """Rencana Hasil Kerja, optionally under one of the supervisor's RHK (intervensi)."""

    __tablename__ = "rhk"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RhkKind] = mapped_column(_enum(RhkKind, "rhk_kind", 12))
    text: Mapped[str] = mapped_column(sa.Text)
    parent_rhk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rhk.id", ondelete="SET NULL"))
    source_rhk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rhk.id", ondelete="SET NULL"))
    # The RHK of an earlier SKP (or None) this one was copied from by "salin SKP periode lalu".
    copied_from_rhk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rhk.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0, server_default="0")

    evaluation: Mapped[Evaluation] = relationship(back_populates="rhks")
    parent: Mapped["Rhk | None"] = relationship(remote_side=[id], foreign_keys=[parent_rhk_id])
    indicators: Mapped[list["Indicator"]] = relationship(
        back_populates="rhk", order_by="Indicator.position, Indicator.id", cascade="all, delete-orphan"
    )


class Indicator(db.Model):
    """An IKI: aspect, target (a number or a range, with its unit), realisation and feedback."""

    __tablename__ = "indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    rhk_id: Mapped[int] = mapped_column(sa.ForeignKey("rhk.id", ondelete="CASCADE"), index=True)
    aspect: Mapped[Aspect] = mapped_column(_enum(Aspect, "aspect", 10))
    text: Mapped[str] = mapped_column(sa.Text)
    comparator: Mapped[Comparator] = mapped_column(_enum(Comparator, "comparator", 10))
    target: Mapped[Decimal] = mapped_column(NUMBER)
    target_max: Mapped[Decimal | None] = mapped_column(NUMBER)
    unit: Mapped[str] = mapped_column(sa.String(40))
    realisation: Mapped[Decimal | None] = mapped_column(NUMBER)
    realisation_note: Mapped[str | None] = mapped_column(sa.Text)
    feedback: Mapped[str | None] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    # Declared by the employee; None: the aspect decides (`rule`).
    progress_rule: Mapped[ProgressRule | None] = mapped_column(_enum(ProgressRule, "progress_rule", 8))
    # A periodic SKP's indicator: the annual one it was copied from, whose progress log it reads.
    source_indicator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("indicator.id", ondelete="SET NULL"), index=True
    )

    rhk: Mapped[Rhk] = relationship(back_populates="indicators")
    evidence: Mapped[list["Evidence"]] = relationship(order_by="Evidence.id", cascade="all, delete-orphan")

    @property
    def rule(self) -> ProgressRule:
        """How the progress log adds up: as declared, else a sum for quantities, the latest otherwise."""
        if self.progress_rule is not None:
            return self.progress_rule
        return ProgressRule.SUM if self.aspect is Aspect.QUANTITY else ProgressRule.LATEST

    @property
    def attained(self) -> bool | None:
        """Whether the realisation meets the target (None before it is reported)."""
        if self.realisation is None:
            return None
        if self.comparator is Comparator.AT_MOST:
            return self.realisation <= self.target
        if self.comparator is Comparator.RANGE:
            return self.target <= self.realisation <= (self.target_max or self.target)
        return self.realisation >= self.target


class Evidence(db.Model):
    """Bukti dukung: an uploaded file (stored outside static) or a link."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("indicator.id", ondelete="CASCADE"), index=True)
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    stored_name: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str | None] = mapped_column(sa.String(64))
    size: Mapped[int | None]
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)


class BehaviourNote(db.Model):
    """Per BerAKHLAK value: the supervisor's special expectation and the review feedback."""

    __tablename__ = "behaviour_note"

    evaluation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[CoreValue] = mapped_column(_enum(CoreValue, "core_value", 16), primary_key=True)
    expectation: Mapped[str | None] = mapped_column(sa.Text)
    feedback: Mapped[str | None] = mapped_column(sa.Text)


class Comment(db.Model):
    """A comment in the evaluation's dialog (returns, explanations asked and given)."""

    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    topic: Mapped[str] = mapped_column(sa.String(16))  # targets, assessment, appeal
    addressed_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)

    author: Mapped[Account | None] = relationship()
    addressed_to: Mapped[Employee | None] = relationship()


class AppealOutcome(enum.StrEnum):
    """The appeal handler's decision."""

    UPHELD = "upheld"
    CHANGED = "changed"


class Appeal(db.Model):
    """A keberatan (PP 30/2019 Pasal 59): reasons, then a final decision by the rater's superior."""

    __tablename__ = "appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation.id", ondelete="CASCADE"), unique=True
    )
    reasons: Mapped[str] = mapped_column(sa.Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    decide_by: Mapped[datetime] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"))
    outcome: Mapped[AppealOutcome | None] = mapped_column(_enum(AppealOutcome, "appeal_outcome", 8))
    results_before: Mapped[Rating | None] = mapped_column(_enum(Rating, "results_before", 8))
    behaviour_before: Mapped[Rating | None] = mapped_column(_enum(Rating, "behaviour_before", 8))
    decision_reasons: Mapped[str | None] = mapped_column(sa.Text)

    evaluation: Mapped[Evaluation] = relationship(backref=sa.orm.backref("appeal", uselist=False))
