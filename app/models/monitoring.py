"""The monitoring stage between the phases (pelaksanaan, pemantauan, pembinaan; PermenPANRB 6/2022):
the progress log against each indicator, dialog kinerja and feedback records with their agreed
follow-ups, coaching requests, peer input on behaviour, and the planning helpers' RHK templates.

Progress entries belong to the indicator of the annual SKP (the log runs through the year); a
periodic evaluation's indicator points at it through `Indicator.source_indicator_id` and reads
the entries of its own months. Feedback records belong to one evaluation. The workflow module
`app/workflow/monitoring/` decides who may write what and when; nothing here is changed after
the evaluation's cycle is published.
"""

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.domain import Aspect, Comparator, CoreValue, Rating
from app.extensions import db
from app.models.evaluation import NUMBER, Evaluation, Indicator, ProgressRule, Rhk, RhkKind
from app.models.org import Position
from app.models.people import Account, Employee, _enum
from app.models.types import UTCDateTime


class FeedbackKind(enum.StrEnum):
    """The kinds of record of the monitoring stage (umpan balik berkelanjutan, dialog, pembinaan)."""

    FEEDBACK = "feedback"  # umpan balik
    DIALOG = "dialog"  # dialog kinerja
    COACHING = "coaching"  # bimbingan
    COUNSELLING = "counselling"  # konseling
    NOTE = "note"  # the employee's own note or request for a dialogue


class CoachingReason(enum.StrEnum):
    """Why the rater is asked to record a bimbingan or konseling."""

    LOW_RESULT = "low_result"  # the latest periodic predikat is Butuh Perbaikan or below
    BEHIND = "behind"  # an indicator's logged progress is behind its target at mid-period


class _StoredFile:
    """Columns of an uploaded file kept in the evidence store, or a link."""

    url: Mapped[str | None] = mapped_column(sa.String(2000))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    stored_name: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str | None] = mapped_column(sa.String(64))
    size: Mapped[int | None]
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)


class ProgressEntry(db.Model):
    """One dated line of an indicator's log: a value or a short text, by the employee."""

    __tablename__ = "progress_entry"
    __table_args__ = (sa.Index("ix_progress_entry_indicator_day", "indicator_id", "entry_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("indicator.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    entry_date: Mapped[date] = mapped_column(sa.Date)
    value: Mapped[Decimal | None] = mapped_column(NUMBER)
    note: Mapped[str | None] = mapped_column(sa.Text)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    rater_comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    indicator: Mapped[Indicator] = relationship()
    author: Mapped[Account | None] = relationship(foreign_keys=[author_id])
    verified_by: Mapped[Account | None] = relationship(foreign_keys=[verified_by_id])
    evidence: Mapped[list["ProgressEvidence"]] = relationship(
        order_by="ProgressEvidence.id", cascade="all, delete-orphan"
    )
    revisions: Mapped[list["ProgressRevision"]] = relationship(
        order_by="ProgressRevision.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class ProgressRevision(db.Model):
    """What an entry said before its author changed it (the history kept)."""

    __tablename__ = "progress_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("progress_entry.id", ondelete="CASCADE"), index=True)
    entry_date: Mapped[date] = mapped_column(sa.Date)
    value: Mapped[Decimal | None] = mapped_column(NUMBER)
    note: Mapped[str | None] = mapped_column(sa.Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))


class ProgressEvidence(_StoredFile, db.Model):
    """A file or link supporting one progress entry."""

    __tablename__ = "progress_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("progress_entry.id", ondelete="CASCADE"), index=True)


class FeedbackRecord(db.Model):
    """A dialog kinerja, feedback, bimbingan or konseling on an evaluation, or the employee's note."""

    __tablename__ = "feedback_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    kind: Mapped[FeedbackKind] = mapped_column(_enum(FeedbackKind, "feedback_kind", 12))
    held_on: Mapped[date] = mapped_column(sa.Date)
    notes: Mapped[str] = mapped_column(sa.Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    evaluation: Mapped[Evaluation] = relationship()
    author: Mapped[Account | None] = relationship()
    follow_ups: Mapped[list["FollowUp"]] = relationship(
        order_by="FollowUp.due_on, FollowUp.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list["FeedbackAttachment"]] = relationship(
        order_by="FeedbackAttachment.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class FollowUp(db.Model):
    """An action agreed in a record, with its due date and who owns it (the employee or the rater)."""

    __tablename__ = "follow_up"
    __table_args__ = (sa.Index("ix_follow_up_owner_open", "owner_id", "done_at", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_record.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(sa.Text)
    due_on: Mapped[date] = mapped_column(sa.Date)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("employee.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_note: Mapped[str | None] = mapped_column(sa.Text)

    record: Mapped[FeedbackRecord] = relationship(back_populates="follow_ups")
    owner: Mapped[Employee] = relationship()


class FeedbackAttachment(_StoredFile, db.Model):
    """A file or link attached to a feedback record."""

    __tablename__ = "feedback_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_record.id", ondelete="CASCADE"), index=True
    )


class CoachingRequest(db.Model):
    """The rater is asked to record a bimbingan or konseling with an employee, and why.

    `key` makes the job idempotent: one request per evaluation and cause (the periodic result's
    evaluation, or the indicator found behind). A bimbingan or konseling recorded on the
    evaluation afterwards resolves it.
    """

    __tablename__ = "coaching_request"
    __table_args__ = (sa.UniqueConstraint("evaluation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(40))
    reason: Mapped[CoachingReason] = mapped_column(_enum(CoachingReason, "coaching_reason", 12))
    source_evaluation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("evaluation.id", ondelete="SET NULL")
    )
    indicator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("indicator.id", ondelete="SET NULL"))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback_record.id", ondelete="SET NULL"))

    evaluation: Mapped[Evaluation] = relationship(foreign_keys=[evaluation_id])


class PeerRequest(db.Model):
    """The rater asks a colleague for input on the employee's behaviour (never shown to the employee)."""

    __tablename__ = "peer_request"
    __table_args__ = (sa.UniqueConstraint("evaluation_id", "peer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    peer_id: Mapped[int] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    evaluation: Mapped[Evaluation] = relationship()
    peer: Mapped[Employee] = relationship()
    answers: Mapped[list["PeerAnswer"]] = relationship(cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class PeerAnswer(db.Model):
    """A colleague's hint and comment on one BerAKHLAK value."""

    __tablename__ = "peer_answer"

    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("peer_request.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[CoreValue] = mapped_column(_enum(CoreValue, "core_value", 16), primary_key=True)
    hint: Mapped[Rating | None] = mapped_column(_enum(Rating, "hint", 8))
    comment: Mapped[str | None] = mapped_column(sa.Text)


class RhkTemplate(db.Model):
    """An RHK with its indicators that HR or a unit head publishes for a position to start from.

    `parent_rhk_id`: the publisher's own RHK the template intervenes in (kept as the cascade link
    when the rater of whoever starts from it is the publisher, matched by text otherwise).
    """

    __tablename__ = "rhk_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(sa.ForeignKey("position.id"), index=True)
    kind: Mapped[RhkKind] = mapped_column(_enum(RhkKind, "rhk_kind", 12))
    text: Mapped[str] = mapped_column(sa.Text)
    parent_rhk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rhk.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sort_order: Mapped[int] = mapped_column(default=0, server_default="0")

    position: Mapped[Position] = relationship()
    parent: Mapped[Rhk | None] = relationship()
    indicators: Mapped[list["IndicatorTemplate"]] = relationship(
        order_by="IndicatorTemplate.position, IndicatorTemplate.id", cascade="all, delete-orphan"
    )


class IndicatorTemplate(db.Model):
    """An indicator of an RHK template."""

    __tablename__ = "indicator_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("rhk_template.id", ondelete="CASCADE"), index=True)
    aspect: Mapped[Aspect] = mapped_column(_enum(Aspect, "aspect", 10))
    text: Mapped[str] = mapped_column(sa.Text)
    comparator: Mapped[Comparator] = mapped_column(_enum(Comparator, "comparator", 10))
    target: Mapped[Decimal] = mapped_column(NUMBER)
    target_max: Mapped[Decimal | None] = mapped_column(NUMBER)
    unit: Mapped[str] = mapped_column(sa.String(40))
    progress_rule: Mapped[ProgressRule | None] = mapped_column(_enum(ProgressRule, "progress_rule", 8))
    position: Mapped[int] = mapped_column(default=0, server_default="0")
