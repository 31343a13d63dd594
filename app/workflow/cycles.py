"""Cycle services for HR: create, preview, open, advance, reopen, extend, publish, close.

Phase changes touch every evaluation of the cycle in a few set-based statements whose sources
and destinations come from app/workflow/definitions.py (CYCLE_EFFECTS).
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from app import audit, clock
from app.database import long_statements
from app.domain import OrgPredikat
from app.extensions import db
from app.inputs import int_or_none
from app.models import (
    Account,
    AccountRole,
    AuditEvent,
    Cycle,
    CycleKind,
    CycleState,
    Employee,
    Evaluation,
    EvaluationState,
    EvaluationTally,
    Indicator,
    OrgUnit,
    PublicationMode,
    Rhk,
    Role,
    UnitPredikat,
)
from app.models.types import UTCDateTime
from app.notify import notify, notify_many
from app.services import Refused
from app.workflow.definitions import CYCLE_EFFECTS, OWN_PHASE
from app.workflow.distribution import curve_violations, distribution, snapshot
from app.workflow.engine import (
    atomic,
    bulk_fire,
    fire_cycle,
    fire_evaluation,
    frozen_message,
    refresh_statistics,
)

ORDERED_DEADLINES = ("target_deadline", "assessment_deadline", "review_deadline", "appeal_deadline")


def _require_hr(actor: Account | None) -> None:
    if actor is not None and not (actor.roles & {Role.HR, Role.ADMIN}):
        raise Refused(_("Hanya admin kepegawaian yang dapat mengelola periode penilaian."))


@atomic
def save_cycle(cycle: Cycle | None, data: dict, actor: Account | None) -> Cycle:
    """Create or edit a draft cycle; commits. `data`: name, kind, year, period, annual_cycle_id,
    unit_ids, the four deadlines (aware datetimes; no target deadline for periodic cycles),
    appeal_window_days, appeal_decision_days, optionally coaching_behind_pct (1–100)."""
    _require_hr(actor)
    if cycle is not None and cycle.state != CycleState.DRAFT:
        raise Refused(
            _("Periode yang sudah dibuka tidak dapat diubah di sini; gunakan perpanjangan tenggat.")
        )
    errors: dict[str, str] = {}
    title = (data.get("name") or "").strip()
    if not title:
        errors["name"] = _("Nama periode wajib diisi.")
    elif len(title) > 200:
        errors["name"] = _("Nama periode paling banyak 200 karakter.")
    kind = CycleKind(data["kind"])
    period = data.get("period")
    if kind is CycleKind.QUARTERLY and period not in (1, 2, 3, 4):
        errors["period"] = _("Triwulan harus 1 sampai 4.")
    if kind is CycleKind.MONTHLY and period not in range(1, 13):
        errors["period"] = _("Bulan harus 1 sampai 12.")
    if kind is CycleKind.ANNUAL:
        period = None
    annual = None
    if kind is not CycleKind.ANNUAL:
        annual = db.session.get(Cycle, data.get("annual_cycle_id") or 0)
        if annual is None or annual.kind is not CycleKind.ANNUAL or annual.year != data["year"]:
            errors["annual_cycle_id"] = _(
                "Pilih periode tahunan %(year)d yang SKP-nya dipakai.", year=data["year"]
            )
        elif annual.state in (CycleState.DRAFT, CycleState.TARGET_SETTING):
            errors["annual_cycle_id"] = _("SKP periode tahunan itu belum selesai ditetapkan.")
    deadlines = {name: data.get(name) for name in ORDERED_DEADLINES}
    if kind is not CycleKind.ANNUAL:
        deadlines["target_deadline"] = None
    present = [(name, value) for name, value in deadlines.items() if value is not None]
    for name, value in deadlines.items():
        if value is None and not (name == "target_deadline" and kind is not CycleKind.ANNUAL):
            errors[name] = _("Tenggat wajib diisi.")
    for (_first, a), (second, b) in zip(present, present[1:], strict=False):
        if b <= a:
            errors[second] = _("Tenggat ini harus sesudah tenggat tahap sebelumnya.")
    if not 1 <= int(data.get("appeal_window_days") or 0) <= 90:
        errors["appeal_window_days"] = _("Masa keberatan 1 sampai 90 hari.")
    if not 1 <= int(data.get("appeal_decision_days") or 0) <= 90:
        errors["appeal_decision_days"] = _("Batas waktu keputusan 1 sampai 90 hari.")
    reminder_days = (data.get("reminder_days") or "7,3,1").replace(" ", "")
    days = [int_or_none(p, minimum=1, maximum=60) for p in reminder_days.split(",")]
    if None in days:
        errors["reminder_days"] = _("Isi hari pengingat sebagai angka 1–60 dipisah koma, misalnya 7,3,1.")
    # The coaching trigger's share (app/workflow/monitoring/coaching.py); kept when not given.
    behind_pct = data.get("coaching_behind_pct", cycle.coaching_behind_pct if cycle else 30)
    behind_pct = int_or_none(behind_pct, minimum=1, maximum=100) if behind_pct is not None else None
    if behind_pct is None:
        errors["coaching_behind_pct"] = _(
            "Isi ambang bimbingan sebagai bilangan bulat 1 sampai 100 (persen)."
        )
    units = db.session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(data.get("unit_ids") or []))).all()
    if not units:
        errors["unit_ids"] = _("Pilih minimal satu unit kerja.")
    if errors:
        db.session.rollback()
        raise Refused(errors)
    created = cycle is None
    if created:
        cycle = Cycle()
        db.session.add(cycle)
    cycle.name = title
    cycle.kind, cycle.year, cycle.period = kind, data["year"], period
    cycle.annual_cycle = annual
    for name, value in deadlines.items():
        setattr(cycle, name, value)
    cycle.reminder_days = ",".join(str(d) for d in sorted(set(days), reverse=True))
    cycle.auto_advance = bool(data.get("auto_advance"))
    cycle.coaching_behind_pct = behind_pct
    cycle.appeal_window_days = int(data["appeal_window_days"])
    cycle.appeal_decision_days = int(data["appeal_decision_days"])
    cycle.units = list(units)
    db.session.flush()
    audit.record(
        "cycle.created" if created else "cycle.updated", cycle, actor=actor, data={"name": cycle.name}
    )
    db.session.commit()
    return cycle


def scope_unit_ids(cycle: Cycle) -> set[int]:
    """The chosen units and every unit below them."""
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in db.session.execute(sa.select(OrgUnit.id, OrgUnit.parent_id)):
        children.setdefault(parent_id, []).append(unit_id)
    scope, stack = set(), [unit.id for unit in cycle.units]
    while stack:
        unit_id = stack.pop()
        if unit_id not in scope:
            scope.add(unit_id)
            stack.extend(children.get(unit_id, []))
    return scope


@dataclass
class Coverage:
    """Who a cycle covers and who it leaves out, with the reason."""

    covered: list = field(default_factory=list)  # rows: employee_id, name, nip, unit, rater_id, handler_id
    left_out: list = field(default_factory=list)  # (employee row, reason)


NOT_APPROVED = (
    EvaluationState.TARGETS_DRAFT,
    EvaluationState.TARGETS_SUBMITTED,
    EvaluationState.TARGETS_LOCKED,
)


def _approved_in_annual(cycle: Cycle) -> sa.Select:
    """Employees whose targets were approved in the annual cycle a periodic cycle reuses."""
    return sa.select(Evaluation.employee_id).where(
        Evaluation.cycle_id == cycle.annual_cycle_id, Evaluation.state.not_in(NOT_APPROVED)
    )


def coverage(cycle: Cycle) -> Coverage:
    """Employees in scope: covered when they have an active rater (and, periodic, approved targets).

    `covered_rows` says the same in SQL for opening; a test keeps the two in step.
    """
    supervisor = aliased(Employee)
    rows = db.session.execute(
        sa.select(
            Employee.id,
            Employee.name,
            Employee.nip,
            Employee.unit_id,
            OrgUnit.name.label("unit_name"),
            supervisor.id.label("rater_id"),
            supervisor.active.label("rater_active"),
            supervisor.supervisor_id.label("handler_id"),
        )
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .outerjoin(supervisor, supervisor.id == Employee.supervisor_id)
        .where(Employee.active, Employee.unit_id.in_(scope_unit_ids(cycle)))
        .order_by(OrgUnit.name, Employee.name)
    ).all()
    approved = set()
    if cycle.is_periodic and cycle.annual_cycle_id:
        approved = set(db.session.scalars(_approved_in_annual(cycle)))
    result = Coverage()
    for row in rows:
        if row.rater_id is None:
            result.left_out.append((row, _("tidak memiliki atasan langsung (pejabat penilai) di sistem")))
        elif not row.rater_active:
            result.left_out.append((row, _("atasan langsungnya sudah tidak aktif")))
        elif cycle.is_periodic and row.id not in approved:
            result.left_out.append((row, _("belum memiliki SKP tahunan yang ditetapkan")))
        else:
            result.covered.append(row)
    return result


def covered_rows(cycle: Cycle) -> sa.Select:
    """`coverage(cycle).covered` as SQL: employee, rater, appeal handler and unit of each."""
    supervisor = aliased(Employee)
    query = (
        sa.select(Employee.id, supervisor.id, supervisor.supervisor_id, Employee.unit_id)
        .join(supervisor, supervisor.id == Employee.supervisor_id)
        .where(Employee.active, supervisor.active, Employee.unit_id.in_(scope_unit_ids(cycle)))
    )
    if cycle.is_periodic:
        if not cycle.annual_cycle_id:
            return query.where(sa.false())
        query = query.where(Employee.id.in_(_approved_in_annual(cycle)))
    return query


@atomic
@long_statements()  # every evaluation of the cycle, at 100 000 employees too
def open_cycle(cycle: Cycle, actor: Account | None, *, expected_version: int | None = None) -> int:
    """Open the cycle: one evaluation per covered employee, audited and announced; commits."""
    _require_hr(actor)
    covered = covered_rows(cycle)
    if not db.session.scalar(sa.select(sa.exists(covered))):
        raise Refused(_("Tidak ada pegawai yang tercakup periode ini."))
    fire_cycle(cycle, "open", actor, expected_version=expected_version)
    now = clock.utcnow()
    cycle.opened_at = now
    initial = EvaluationState.ASSESSMENT_DRAFT if cycle.is_periodic else EvaluationState.TARGETS_DRAFT
    # One INSERT ... SELECT: the evaluations never travel through Python.
    created = covered.add_columns(
        sa.literal(cycle.id, sa.Integer),
        sa.literal(initial.value, sa.String),
        sa.literal(now, UTCDateTime()),
        sa.literal(now, UTCDateTime()),
        sa.literal(1, sa.Integer),
    )
    db.session.execute(
        sa.insert(Evaluation).from_select(
            [
                "employee_id",
                "rater_id",
                "appeal_handler_id",
                "unit_id",
                "cycle_id",
                "state",
                "created_at",
                "updated_at",
                "version",
            ],
            created,
        )
    )
    # Counted, not the INSERT's rowcount: psycopg reports none for an INSERT ... SELECT.
    count = db.session.scalar(sa.select(sa.func.count()).where(Evaluation.cycle_id == cycle.id))
    if cycle.is_periodic:
        _copy_annual_targets(cycle)
    db.session.execute(
        sa.insert(AuditEvent).from_select(
            ["occurred_at", "actor_id", "action", "object_type", "object_id", "to_state"],
            sa.select(
                sa.literal(now, AuditEvent.occurred_at.type),
                sa.literal(actor.id if actor else None, sa.Integer),
                sa.literal("evaluation.created"),
                sa.literal("evaluation"),
                sa.cast(Evaluation.id, sa.String),
                Evaluation.state,
            ).where(Evaluation.cycle_id == cycle.id),
        )
    )
    # Everyone just given an evaluation (a subquery, not an IN list: PostgreSQL takes at most
    # 65 535 parameters in one statement, fewer than the employees of a large agency).
    deadline = cycle.assessment_deadline if cycle.is_periodic else cycle.target_deadline
    notify_many(
        "cycle_opened",
        sa.select(Evaluation.employee_id).where(Evaluation.cycle_id == cycle.id),
        f"cycle_opened:{cycle.id}",
        cycle=cycle,
        deadline=deadline,
    )
    db.session.commit()
    refresh_statistics()
    return count


def _copy_annual_targets(cycle: Cycle) -> None:
    """A periodic cycle reuses the approved RHK and indicators of its annual cycle (set-based); each
    copied indicator points at its annual one (`source_indicator_id`), whose progress log it reads."""
    old_eval, new_eval = aliased(Evaluation), aliased(Evaluation)
    db.session.execute(
        sa.insert(Rhk).from_select(
            ["evaluation_id", "kind", "text", "parent_rhk_id", "position", "source_rhk_id"],
            sa.select(new_eval.id, Rhk.kind, Rhk.text, sa.null(), Rhk.position, Rhk.id)
            .join(old_eval, old_eval.id == Rhk.evaluation_id)
            .join(
                new_eval, sa.and_(new_eval.employee_id == old_eval.employee_id, new_eval.cycle_id == cycle.id)
            )
            .where(old_eval.cycle_id == cycle.annual_cycle_id),
        )
    )
    new_rhk = aliased(Rhk)
    db.session.execute(
        sa.insert(Indicator).from_select(
            [
                "rhk_id",
                "aspect",
                "text",
                "comparator",
                "target",
                "target_max",
                "unit",
                "position",
                "progress_rule",
                "source_indicator_id",
            ],
            sa.select(
                new_rhk.id,
                Indicator.aspect,
                Indicator.text,
                Indicator.comparator,
                Indicator.target,
                Indicator.target_max,
                Indicator.unit,
                Indicator.position,
                Indicator.progress_rule,
                Indicator.id,  # the periodic indicator reads the annual one's progress log
            )
            .join(new_rhk, new_rhk.source_rhk_id == Indicator.rhk_id)
            .join(new_eval, sa.and_(new_eval.id == new_rhk.evaluation_id, new_eval.cycle_id == cycle.id)),
        )
    )


def _apply_effects(cycle: Cycle, trigger: str, source: str, actor: Account | None) -> None:
    effects = CYCLE_EFFECTS.get((trigger, source), ())
    if effects:
        bulk_fire(cycle, effects, actor)


@atomic
@long_statements()
def advance(cycle: Cycle, actor: Account | None, *, expected_version: int | None = None) -> None:
    """Move the cycle to its next phase; evaluations behind are locked; commits."""
    _require_hr(actor)
    source = cycle.state
    fire_cycle(cycle, "advance", actor, expected_version=expected_version)
    _apply_effects(cycle, "advance", source, actor)
    if cycle.state == CycleState.SELF_ASSESSMENT:
        notify_many(
            "assessment_opened",
            sa.select(Evaluation.employee_id).where(
                Evaluation.cycle_id == cycle.id, Evaluation.state == EvaluationState.ASSESSMENT_DRAFT
            ),
            f"assessment_opened:{cycle.id}",
            cycle=cycle,
            deadline=cycle.assessment_deadline,
        )
    db.session.commit()
    refresh_statistics()


@atomic
@long_statements()
def reopen(
    cycle: Cycle, actor: Account | None, new_deadline: datetime, *, expected_version: int | None = None
) -> None:
    """Reopen the previous phase while nobody has worked in the current one; commits."""
    _require_hr(actor)
    if new_deadline <= clock.utcnow():
        raise Refused({"deadline": _("Tenggat baru harus di masa depan.")})
    source = cycle.state
    transition = fire_cycle(cycle, "reopen", actor, expected_version=expected_version)
    field_name = Cycle.DEADLINE_OF_PHASE[CycleState(transition.dest)]
    next_field = ORDERED_DEADLINES[ORDERED_DEADLINES.index(field_name) + 1]
    if new_deadline >= getattr(cycle, next_field):
        db.session.rollback()
        raise Refused({"deadline": _("Tenggat baru harus sebelum tenggat tahap berikutnya.")})
    setattr(cycle, field_name, new_deadline)
    _apply_effects(cycle, "reopen", source, actor)
    db.session.commit()


@atomic
@long_statements()
def extend_phase(cycle: Cycle, actor: Account | None, until: datetime, reason: str) -> int:
    """Extend the current phase's deadline for everyone; evaluations locked in it reopen; commits."""
    _require_hr(actor)
    field_name = Cycle.DEADLINE_OF_PHASE.get(CycleState(cycle.state))
    if field_name is None:
        raise Refused(_("Tahap ini tidak memiliki tenggat."))
    errors = {}
    current = getattr(cycle, field_name)
    if until <= max(current, clock.utcnow()):
        errors["until"] = _("Tenggat baru harus sesudah tenggat sekarang dan di masa depan.")
    index = ORDERED_DEADLINES.index(field_name)
    if index + 1 < len(ORDERED_DEADLINES) and until >= getattr(cycle, ORDERED_DEADLINES[index + 1]):
        errors["until"] = _("Tenggat baru harus sebelum tenggat tahap berikutnya.")
    if not reason.strip():
        errors["reason"] = _("Tuliskan alasan perpanjangan.")
    if errors:
        raise Refused(errors)
    setattr(cycle, field_name, until)
    audit.record(
        "cycle.deadline_extended",
        cycle,
        actor=actor,
        comment=reason,
        data={"phase": cycle.state, "from": current.isoformat(), "to": until.isoformat()},
    )
    unlock = {"target_setting": "unlock_targets", "self_assessment": "unlock_assessment"}.get(cycle.state)
    reopened = bulk_fire(cycle, unlock, actor, comment=reason) if unlock else 0
    db.session.commit()
    return reopened


@atomic
def extend_one(evaluation: Evaluation, actor: Account | None, until: datetime, reason: str) -> None:
    """Give one employee a later deadline in the current phase (with a reason); commits."""
    _require_hr(actor)
    cycle = evaluation.cycle
    errors = {}
    phase = OWN_PHASE.get(evaluation.state)
    if cycle.is_frozen or phase is None:
        raise Refused(
            _(
                "Perpanjangan perorangan hanya untuk pegawai yang belum menyelesaikan penyusunan SKP "
                "atau penilaian mandiri."
            )
        )
    if until <= clock.utcnow():
        errors["until"] = _("Tenggat baru harus di masa depan.")
    if not reason.strip():
        errors["reason"] = _("Tuliskan alasan perpanjangan.")
    if errors:
        raise Refused(errors)
    evaluation.extended_until = until
    evaluation.extended_phase = phase
    evaluation.touch()
    audit.record(
        "evaluation.deadline_extended",
        evaluation,
        actor=actor,
        comment=reason,
        data={"phase": phase, "until": until.isoformat()},
    )
    locked = {"targets_locked": "unlock_targets", "assessment_locked": "unlock_assessment"}.get(
        evaluation.state
    )
    if locked:
        fire_evaluation(evaluation, locked, actor, comment=reason)
    notify(
        "deadline_extended",
        evaluation.employee,
        f"deadline_extended:{evaluation.id}:{until.isoformat()}",
        cycle=cycle,
        evaluation=evaluation,
        until=until,
        reason=reason,
    )
    db.session.commit()


@atomic
@long_statements()
def publish(
    cycle: Cycle, actor: Account | None, mode: str, reason: str = "", *, expected_version: int | None = None
) -> None:
    """Publish: results become final and visible as HR chose; breaking a curve needs a reason; commits."""
    _require_hr(actor)
    units = distribution(cycle)
    violations = curve_violations(cycle, units)
    if violations and not reason.strip():
        raise Refused(
            {
                "reason": _(
                    "Distribusi %(n)d unit tidak sesuai kurva; tuliskan alasan untuk tetap mengumumkan.",
                    n=len(violations),
                )
            }
        )
    fire_cycle(
        cycle,
        "publish",
        actor,
        expected_version=expected_version,
        comment=reason or None,
    )
    cycle.publication_mode = PublicationMode(mode)
    cycle.published_at = clock.utcnow()
    if violations:
        audit.record(
            "cycle.curve_override",
            cycle,
            actor=actor,
            comment=reason,
            data={"units": [v.unit_name for v in violations], "problems": [v.message for v in violations]},
        )
    _apply_effects(cycle, "publish", CycleState.APPEAL, actor)
    # Publishing moves final results to "published" and keeps every predikat, so the counts
    # checked above are the ones announced.
    names = db.session.scalar(
        sa.select(sa.func.count()).where(
            Evaluation.cycle_id == cycle.id, Evaluation.state == EvaluationState.PUBLISHED
        )
    )
    cycle.published_totals = snapshot(units, names)
    notify_many(
        "results_published",
        _evaluated(cycle),
        f"results_published:{cycle.id}",
        cycle=cycle,
    )
    db.session.commit()
    refresh_statistics()


def _evaluated(cycle: Cycle) -> sa.Select:
    """The employees evaluated in the cycle, those withdrawn from it aside (whom publishing emails,
    when active)."""
    return sa.select(Evaluation.employee_id).where(
        Evaluation.cycle_id == cycle.id, Evaluation.state != EvaluationState.WITHDRAWN
    )


def announced_to(cycle: Cycle) -> int:
    """How many people publishing the cycle emails: its evaluated employees who are active. One
    evaluation per employee and cycle: the counters' evaluations (app/models/tally.py), less the few
    inactive people among them, in one statement."""
    tally = EvaluationTally
    evaluated = sa.select(sa.func.coalesce(sa.func.sum(tally.n), 0)).where(
        tally.cycle_id == cycle.id, tally.state != EvaluationState.WITHDRAWN.value
    )
    inactive = sa.select(sa.func.count()).where(
        ~Employee.active,
        Employee.id.in_(_evaluated(cycle)),  # NOT active: the partial index
    )
    return int(db.session.scalar(sa.select(evaluated.scalar_subquery() - inactive.scalar_subquery())))


@atomic
def close(cycle: Cycle, actor: Account | None, *, expected_version: int | None = None) -> None:
    """Close the cycle for ever (read-only archive); commits."""
    _require_hr(actor)
    fire_cycle(cycle, "close", actor, expected_version=expected_version)
    cycle.closed_at = clock.utcnow()
    db.session.commit()


def hr_employees() -> list[Employee]:
    """Employees holding the HR role (told of keberatan)."""
    return db.session.scalars(
        sa.select(Employee)
        .join(Account, Account.employee_id == Employee.id)
        .join(AccountRole, AccountRole.account_id == Account.id)
        .where(AccountRole.role == Role.HR, Employee.active)
    ).all()


@atomic
def set_unit_predikat(cycle: Cycle, actor: Account | None, unit_id: int | None, value: str) -> None:
    """Record (or clear, with "") the predikat organisasi of a unit for this cycle; commits."""
    _require_hr(actor)
    if cycle.is_frozen:
        raise Refused(frozen_message())
    unit = db.session.get(OrgUnit, unit_id or 0)
    if unit is None or (value and value not in {p.value for p in OrgPredikat}):
        raise Refused(_("Pilihan tidak valid; pilih salah satu dari daftar."))
    row = db.session.get(UnitPredikat, (cycle.id, unit.id))
    if not value:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(UnitPredikat(cycle_id=cycle.id, unit_id=unit.id, org_predikat=OrgPredikat(value)))
    else:
        row.org_predikat = OrgPredikat(value)
    audit.record(
        "cycle.unit_predikat", cycle, actor=actor, data={"unit": unit.code, "org_predikat": value or None}
    )
    db.session.commit()
