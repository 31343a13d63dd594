"""Reassignment: HR moves the rater or the appeal handler of evaluations in flight.

For a Plt./Plh. (an acting official for a period), a mutasi, or someone who leaves. One
evaluation, a selection, or every in-flight evaluation a person rates or handles ("semua yang
dinilai X → Y") is moved in a few set-based statements whatever the number: the `reassignment`
rows by INSERT ... SELECT, the audit rows from them, then one UPDATE of the evaluations. Rights
move at once, since app/policy.py reads the evaluation's current rater and handler; what was
done before (approvals, comments, ratings, audit rows) keeps its author. The people concerned
hear of it by email: each employee once, each official once per decision (a digest).

A temporary reassignment (`until`, a Plh.) gives the role back when it ends: `end_due` runs in
`flask jobs run-due`, catches up on whatever ended while the scheduler was down, and does
nothing twice.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from app import clock
from app.database import long_statements
from app.extensions import db
from app.models import (
    Account,
    AuditEvent,
    Employee,
    Evaluation,
    FeedbackRecord,
    FollowUp,
    ReassignedRole,
    Reassignment,
    Role,
)
from app.models.types import UTCDateTime
from app.nip import normalise_nip
from app.notify import notify, notify_many
from app.services import Conflict, Refused
from app.services.reassign import IN_FLIGHT_STATES, holder, in_flight
from app.templating import localtime
from app.workflow.engine import atomic, changed_message, frozen_message

MAX_REASON = 2000
NAMES_IN_DIGEST = 20
REASSIGNED = "evaluation.reassigned"
RETURNED = "evaluation.reassignment_ended"


def role_label(role: ReassignedRole | str) -> str:
    """The official's title as users read it."""
    if ReassignedRole(role) is ReassignedRole.RATER:
        return _("Pejabat penilai")
    return _("Atasan pejabat penilai")


def last_day(until: datetime) -> str:
    """The last local day a temporary reassignment covers (it ends at that day's midnight)."""
    return localtime(until - timedelta(seconds=1), "d MMMM yyyy")


def end_of_day(day) -> datetime:
    """The moment a reassignment "sampai tanggal `day`" ends: midnight after it, local time."""
    start = datetime(day.year, day.month, day.day, tzinfo=clock.tz())
    return start + timedelta(days=1)


def other(role: ReassignedRole) -> ReassignedRole:
    """The other official."""
    return ReassignedRole.APPEAL_HANDLER if role is ReassignedRole.RATER else ReassignedRole.RATER


def by_nip(nip: str | None) -> Employee | None:
    """The employee with this NIP (spaces allowed), or None."""
    nip = normalise_nip(nip or "")
    return db.session.scalar(sa.select(Employee).where(Employee.nip == nip)) if nip else None


def _require_hr(actor: Account | None) -> None:
    if actor is not None and not (actor.roles & {Role.HR, Role.ADMIN}):
        raise Refused(_("Hanya admin kepegawaian yang dapat memindahkan pejabat penilai."))


def _check_common(reason: str, until: datetime | None, errors: dict) -> str:
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Tuliskan alasan pemindahan (misalnya Plh. karena cuti, atau mutasi).")
    elif len(reason) > MAX_REASON:
        errors["reason"] = _("Alasan paling banyak %(n)d karakter.", n=MAX_REASON)
    if until is not None and until <= clock.utcnow():
        errors["until"] = _("Tanggal berakhir harus hari ini atau sesudahnya.")
    return reason


def _check_official(person: Employee | None, name: str, errors: dict) -> None:
    if person is not None and not person.active:
        errors[name] = _("%(name)s sudah tidak aktif.", name=person.name)


# ---- the set-based move ------------------------------------------------------------------------


def _move(
    role: ReassignedRole,
    chosen,
    to: Employee,
    reason: str,
    until: datetime | None,
    actor: Account | None,
    batch: str,
    *,
    action: str = REASSIGNED,
    comment: str | None = None,
) -> int:
    """Move `role` of the evaluations `chosen` (a WHERE clause) to `to`; returns how many.

    Statements: the reassignment rows (INSERT ... SELECT), the end of the ones they replace
    (UPDATE), the audit rows (INSERT ... SELECT), the evaluations (UPDATE).
    """
    role = ReassignedRole(role)
    now = clock.utcnow()
    column = holder(role)
    selected = sa.and_(chosen, column.is_distinct_from(to.id))
    if db.engine.dialect.name == "postgresql":
        # A concurrent change of the same evaluations waits here, then finds them moved.
        locked = sa.select(Evaluation.id).where(selected).with_for_update().subquery()
        db.session.execute(sa.select(sa.func.count()).select_from(locked))
    running = aliased(Reassignment)
    # A temporary move gives the role back to whoever held it before any Plh. still running.
    back_to = (
        sa.func.coalesce(
            sa.select(running.back_to_id)
            .where(
                running.evaluation_id == Evaluation.id,
                running.role == role.value,
                running.ended_at.is_(None),
                running.until.is_not(None),
            )
            .limit(1)
            .scalar_subquery(),
            column,
        )
        if until is not None
        else sa.null()
    )
    db.session.execute(
        sa.insert(Reassignment).from_select(
            [
                "batch",
                "evaluation_id",
                "role",
                "from_id",
                "to_id",
                "back_to_id",
                "reason",
                "until",
                "created_by_id",
                "created_at",
            ],
            sa.select(
                sa.literal(batch, sa.String),
                Evaluation.id,
                sa.literal(role.value, sa.String),
                column,
                sa.literal(to.id, sa.Integer),
                back_to,
                sa.literal(reason, sa.Text),
                sa.literal(until, UTCDateTime()),
                sa.literal(actor.id if actor else None, sa.Integer),
                sa.literal(now, UTCDateTime()),
            ).where(selected),
        )
    )
    this_batch = sa.select(Reassignment.evaluation_id).where(
        Reassignment.batch == batch, Reassignment.role == role.value
    )
    db.session.execute(
        sa.update(Reassignment)
        .where(
            Reassignment.role == role.value,
            Reassignment.ended_at.is_(None),
            Reassignment.batch != batch,
            Reassignment.evaluation_id.in_(this_batch),
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    previous = aliased(Employee)
    text = comment or (
        f" → {to.name}"
        + (_(" (sampai %(day)s)", day=last_day(until)) if until else "")
        + _(". Alasan: %(reason)s", reason=reason)
    )
    audit_rows = (
        sa.select(
            sa.literal(now, AuditEvent.occurred_at.type),
            sa.literal(actor.id if actor else None, sa.Integer),
            sa.literal(action, sa.String),
            sa.literal("evaluation", sa.String),
            sa.cast(Reassignment.evaluation_id, sa.String),
            sa.literal(role_label(role) + ": ", sa.String)
            + sa.func.coalesce(previous.name, "–")
            + sa.literal(text, sa.String),
            sa.literal({"role": role.value, "to": to.id, "batch": batch}, AuditEvent.data.type),
        )
        .select_from(Reassignment)
        .outerjoin(previous, previous.id == Reassignment.from_id)
        .where(Reassignment.batch == batch, Reassignment.role == role.value)
    )
    db.session.execute(
        sa.insert(AuditEvent).from_select(
            ["occurred_at", "actor_id", "action", "object_type", "object_id", "comment", "data"], audit_rows
        )
    )
    if role is ReassignedRole.RATER:
        # The rater's open follow-ups of dialog records go with the role: the new rater owns them.
        moved_from = sa.select(Reassignment.from_id).where(
            Reassignment.batch == batch,
            Reassignment.role == role.value,
            Reassignment.evaluation_id == FeedbackRecord.evaluation_id,
        )
        records = sa.select(FeedbackRecord.id).where(
            FeedbackRecord.id == FollowUp.record_id, FollowUp.owner_id.in_(moved_from)
        )
        db.session.execute(
            sa.update(FollowUp)
            .where(FollowUp.done_at.is_(None), sa.exists(records))
            .values(owner_id=to.id)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.id.in_(this_batch))
        .values({column.key: to.id, "version": Evaluation.version + 1, "updated_at": now})
        .execution_options(synchronize_session=False)
    )
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Reassignment)
        .where(Reassignment.batch == batch, Reassignment.role == role.value)
    )


# ---- who is told -------------------------------------------------------------------------------


@dataclass
class Duty:
    """One official's share of a decision: evaluations given or taken away, for one role."""

    role: str
    count: int
    names: list[str]
    other_name: str  # who takes over, or whom they take over from


@dataclass
class Digest:
    """What one official is told of one decision."""

    gained: list[Duty] = field(default_factory=list)
    lost: list[Duty] = field(default_factory=list)


def _names(batch: str, role: str, side, person_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Employee.name)
            .join(Evaluation, Evaluation.employee_id == Employee.id)
            .join(Reassignment, Reassignment.evaluation_id == Evaluation.id)
            .where(Reassignment.batch == batch, Reassignment.role == role, side == person_id)
            .order_by(Employee.name)
            .limit(NAMES_IN_DIGEST)
        )
    )


def _tell(batch: str, reason: str, until: datetime | None, *, ended: bool = False) -> None:
    """Email the employees of the batch (one shared text each) and each official (a digest)."""
    groups = db.session.execute(
        sa.select(Reassignment.role, Reassignment.from_id, Reassignment.to_id, sa.func.count())
        .where(Reassignment.batch == batch)
        .group_by(Reassignment.role, Reassignment.from_id, Reassignment.to_id)
        .order_by(Reassignment.role.desc())
    ).all()
    if not groups:
        return
    people = {
        person.id: person
        for person in db.session.scalars(
            sa.select(Employee).where(
                Employee.id.in_({g.from_id for g in groups if g.from_id} | {g.to_id for g in groups})
            )
        )
    }
    changes = [
        {"role": role_label(g.role), "to": people[g.to_id].name}
        for g in {(g.role, g.to_id): g for g in groups}.values()
    ]
    until_text = last_day(until) if until else None
    notify_many(
        "reassigned",
        sa.select(Evaluation.employee_id)
        .join(Reassignment, Reassignment.evaluation_id == Evaluation.id)
        .where(Reassignment.batch == batch),
        f"reassigned:{batch}",
        changes=changes,
        reason=reason,
        until=until_text,
        ended=ended,
    )
    digests: dict[int, Digest] = {}
    for role, from_id, to_id, count in groups:
        to = people[to_id]
        gained = Duty(str(role_label(role)), count, _names(batch, role, Reassignment.to_id, to_id), "")
        if from_id:
            gained.other_name = people[from_id].name
            lost = Duty(
                str(role_label(role)), count, _names(batch, role, Reassignment.from_id, from_id), to.name
            )
            digests.setdefault(from_id, Digest()).lost.append(lost)
        digests.setdefault(to_id, Digest()).gained.append(gained)
    for person_id, digest in digests.items():
        notify(
            "reassigned_official",
            people[person_id],
            f"reassigned_official:{batch}:{person_id}",
            digest=digest,
            reason=reason,
            until=until_text,
            ended=ended,
            more=NAMES_IN_DIGEST,
        )


# ---- HR's decisions ----------------------------------------------------------------------------


@dataclass
class Plan:
    """What "every evaluation `from_employee` holds as `role` → `to`" would move, and what not."""

    role: ReassignedRole
    from_employee: Employee
    to: Employee | None
    movable: int = 0
    own: int = 0  # the new official's own evaluation: nobody rates themselves
    conflict: int = 0  # the new official already holds the other role there
    names: list[str] = field(default_factory=list)  # the first employees who would move

    @property
    def total(self) -> int:
        """Every in-flight evaluation the person holds in this role."""
        return self.movable + self.own + self.conflict


def _held_by(role: ReassignedRole, person: Employee, only_ids=None):
    chosen = sa.and_(holder(role) == person.id, in_flight())
    if only_ids is not None:
        chosen = sa.and_(chosen, Evaluation.id.in_(list(only_ids)))
    return chosen


def _movable(role: ReassignedRole, to: Employee):
    return sa.and_(Evaluation.employee_id != to.id, holder(other(role)).is_distinct_from(to.id))


def plan(role: ReassignedRole | str, from_employee: Employee, to: Employee | None, only_ids=None) -> Plan:
    """Count, in one query, what a bulk reassignment would move and what it leaves out."""
    role = ReassignedRole(role)
    result = Plan(role, from_employee, to)
    held = _held_by(role, from_employee, only_ids)
    if to is None:
        result.movable = db.session.scalar(sa.select(sa.func.count()).where(held))
        return result
    own = sa.func.coalesce(sa.func.sum(sa.case((Evaluation.employee_id == to.id, 1), else_=0)), 0)
    conflict = sa.func.coalesce(
        sa.func.sum(
            sa.case((sa.and_(Evaluation.employee_id != to.id, holder(other(role)) == to.id), 1), else_=0)
        ),
        0,
    )
    total, result.own, result.conflict = db.session.execute(
        sa.select(sa.func.count(), own, conflict).where(held)
    ).one()
    result.movable = total - result.own - result.conflict
    result.names = list(
        db.session.scalars(
            sa.select(Employee.name)
            .join(Evaluation, Evaluation.employee_id == Employee.id)
            .where(held, _movable(role, to))
            .order_by(Employee.name)
            .limit(NAMES_IN_DIGEST)
        )
    )
    return result


def bulk_errors(
    from_employee: Employee | None, to: Employee | None, reason: str, until: datetime | None
) -> dict[str, str]:
    """Why a bulk reassignment may not go ahead, whatever it would move (per field)."""
    errors: dict[str, str] = {}
    _check_common(reason, until, errors)
    if to is None:
        errors["to_nip"] = _("Isi NIP pejabat pengganti.")
    elif from_employee is not None and to.id == from_employee.id:
        errors["to_nip"] = _("Pejabat pengganti sama dengan pejabat sekarang; tidak ada yang berubah.")
    _check_official(to, "to_nip", errors)
    return errors


@atomic
@long_statements()  # every evaluation a person holds, at 10 000 too
def reassign_all(
    role: ReassignedRole | str,
    from_employee: Employee,
    to: Employee | None,
    reason: str,
    until: datetime | None,
    actor: Account | None,
    *,
    expected_count: int | None = None,
    only_ids=None,
) -> int:
    """Move every in-flight evaluation `from_employee` holds as `role` (or those of `only_ids`) to
    `to`, leaving out the new official's own and those where they hold the other role; commits.

    `expected_count` is what the confirmed preview said: a different count now is a conflict.
    """
    _require_hr(actor)
    role = ReassignedRole(role)
    errors = bulk_errors(from_employee, to, reason, until)
    if errors:
        raise Refused(errors)
    reason = reason.strip()
    planned = plan(role, from_employee, to, only_ids)
    if not planned.movable:
        if planned.total:
            raise Refused(
                {"to_nip": _("Tidak ada penilaian yang dapat dipindahkan kepada %(name)s.", name=to.name)}
            )
        raise Refused(
            {
                "from_nip": _(
                    "%(name)s tidak memegang penilaian yang sedang berjalan sebagai %(role)s.",
                    name=from_employee.name,
                    role=role_label(role).lower(),
                )
            }
        )
    if expected_count is not None and planned.movable != expected_count:
        raise Conflict(
            _(
                "Jumlah penilaian berubah sejak pratinjau (sekarang %(n)d). Periksa pratinjau baru lalu "
                "konfirmasi lagi; belum ada yang dipindahkan.",
                n=planned.movable,
            )
        )
    batch = uuid.uuid4().hex
    chosen = sa.and_(_held_by(role, from_employee, only_ids), _movable(role, to))
    moved = _move(role, chosen, to, reason, until, actor, batch)
    if moved != planned.movable:
        # A concurrent decision moved some of them meanwhile (we waited for its row locks).
        raise Conflict(changed_message())
    _tell(batch, reason, until)
    db.session.commit()
    return moved


@atomic
def reassign_evaluations(
    evaluations: list[Evaluation],
    actor: Account | None,
    *,
    rater: Employee | None,
    handler: Employee | None,
    reason: str,
    until: datetime | None,
    versions: dict[int, int] | None = None,
) -> int:
    """Give the chosen evaluations (one, or a selection) a new rater and/or appeal handler; commits.

    `versions` are the evaluations' versions the form was rendered with (optimistic locking).
    Returns how many evaluations changed.
    """
    _require_hr(actor)
    errors: dict[str, str] = {}
    reason = _check_common(reason, until, errors)
    if not evaluations:
        errors["evaluation_ids"] = _("Pilih minimal satu penilaian.")
    if rater is None and handler is None:
        errors["rater_nip"] = _("Isi NIP pejabat penilai baru, atasan pejabat penilai baru, atau keduanya.")
    _check_official(rater, "rater_nip", errors)
    _check_official(handler, "handler_nip", errors)
    for evaluation in evaluations:
        if versions is not None and versions.get(evaluation.id) != evaluation.version:
            raise Conflict(changed_message())
        if evaluation.cycle.state not in IN_FLIGHT_STATES:
            errors["evaluation_ids"] = (
                frozen_message() if evaluation.cycle.is_frozen else _("Periode ini belum dibuka.")
            )
        new_rater = rater or evaluation.rater
        new_handler = handler or evaluation.appeal_handler
        if rater is not None and rater.id == evaluation.employee_id:
            errors["rater_nip"] = _("%(name)s tidak dapat menilai dirinya sendiri.", name=rater.name)
        if handler is not None and handler.id == evaluation.employee_id:
            errors["handler_nip"] = _(
                "%(name)s tidak dapat memutus keberatan atas penilaiannya sendiri.", name=handler.name
            )
        if new_handler is not None and new_rater.id == new_handler.id and "rater_nip" not in errors:
            errors["handler_nip" if handler is not None else "rater_nip"] = _(
                "%(name)s tidak dapat menjadi pejabat penilai sekaligus atasan pejabat penilai pada "
                "penilaian yang sama; pilih orang lain atau pindahkan keduanya.",
                name=new_rater.name,
            )
    if not errors and all(
        (rater is None or rater.id == ev.rater_id) and (handler is None or handler.id == ev.appeal_handler_id)
        for ev in evaluations
    ):
        errors["rater_nip" if rater is not None else "handler_nip"] = _(
            "Pejabat yang dipilih sudah memegang penilaian ini; tidak ada yang berubah."
        )
    if errors:
        raise Refused(errors)
    ids = [ev.id for ev in evaluations]
    if versions is not None:
        # The versions again, now under a row lock (PostgreSQL): a change since the check loses.
        query = sa.select(Evaluation.id, Evaluation.version).where(Evaluation.id.in_(ids))
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update()
        if any(versions.get(id_) != version for id_, version in db.session.execute(query)):
            raise Conflict(changed_message())
    batch = uuid.uuid4().hex
    changed: set[int] = set()
    for role, person in ((ReassignedRole.RATER, rater), (ReassignedRole.APPEAL_HANDLER, handler)):
        if person is not None:
            _move(role, Evaluation.id.in_(ids), person, reason, until, actor, batch)
            changed |= set(
                db.session.scalars(sa.select(Reassignment.evaluation_id).where(Reassignment.batch == batch))
            )
    for evaluation in evaluations:
        db.session.expire(evaluation)
    _tell(batch, reason, until)
    db.session.commit()
    return len(changed)


# ---- the end of a Plh. -------------------------------------------------------------------------


@long_statements()
def end_due() -> int:
    """Give back the roles whose temporary reassignment has ended; returns how many evaluations
    returned. Idempotent and catch-up safe: whatever ended while nobody ran it is done once.

    An evaluation returns only when it is still in flight, still held by the acting official,
    and the official coming back is active and neither its employee nor its other official;
    otherwise the acting official keeps it (published results keep the name that signed them).
    Either way the temporary reassignment is ended.
    """
    now = clock.utcnow()
    due = sa.and_(Reassignment.ended_at.is_(None), Reassignment.until.is_not(None), Reassignment.until <= now)
    if db.engine.dialect.name == "postgresql":
        locked = sa.select(Reassignment.id).where(due).with_for_update().subquery()
        db.session.execute(sa.select(sa.func.count()).select_from(locked))
    groups = db.session.execute(
        sa.select(Reassignment.batch, Reassignment.role, Reassignment.to_id, Reassignment.back_to_id)
        .where(due)
        .group_by(Reassignment.batch, Reassignment.role, Reassignment.to_id, Reassignment.back_to_id)
        .order_by(Reassignment.batch, Reassignment.role)
    ).all()
    returned = 0
    for old_batch, role, to_id, back_to_id in groups:
        role = ReassignedRole(role)
        back = db.session.get(Employee, back_to_id) if back_to_id else None
        acting = db.session.get(Employee, to_id)
        if back is None or not back.active:
            continue
        ending = sa.select(Reassignment.evaluation_id).where(
            due,
            Reassignment.batch == old_batch,
            Reassignment.role == role.value,
            Reassignment.back_to_id == back.id,
        )
        chosen = sa.and_(Evaluation.id.in_(ending), holder(role) == to_id, in_flight(), _movable(role, back))
        reason = _("Masa tugas %(name)s sebagai Plh. berakhir", name=acting.name)
        batch = uuid.uuid4().hex
        count = _move(
            role,
            chosen,
            back,
            reason,
            None,
            None,
            batch,
            action=RETURNED,
            comment=_(" → %(name)s (masa Plh. berakhir)", name=back.name),
        )
        if count:
            _tell(batch, reason, None, ended=True)
            returned += count
    db.session.execute(
        sa.update(Reassignment).where(due).values(ended_at=now).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return returned


def history(evaluation: Evaluation) -> list[Reassignment]:
    """The evaluation's reassignments, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Reassignment)
            .where(Reassignment.evaluation_id == evaluation.id)
            .order_by(Reassignment.id)
        )
    )
