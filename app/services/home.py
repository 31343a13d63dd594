"""What one person's home page shows: their tasks (most urgent first), their own evaluations as
steps with what comes next, their team's queue, the keberatan they decide and, for HR, the
cycles with their progress. The conditions are app/services/tasks.py's; this module reads them
for one person in a fixed number of statements and words the result.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app import clock
from app.extensions import db
from app.models import Account, Appeal, AuditEvent, Cycle, Employee, Evaluation
from app.models.types import UTCDateTime
from app.policy import is_hr
from app.services import monitoring
from app.services.cockpit import cycle_counts, done_in_phase, done_label, waiting_for_hr
from app.services.tasks import (
    DUTIES,
    DUTY,
    LOCKED,
    OPEN_PHASES,
    OWN_PHASE,
    C,
    E,
    Task,
    behind,
    explanation_answered,
    explanation_asked,
    flag,
    late,
    owed,
    own_deadline,
    returned,
    task_deadline,
)


@dataclass
class Step:
    """One phase of an employee's own evaluation: done, current (or locked), or to come."""

    label: str
    status: str  # done, current, locked, next (opens when its phase starts), todo
    deadline: datetime | None = None


@dataclass
class Journey:
    """An employee's own evaluation in one cycle: the phases as steps, and what is expected next."""

    evaluation_id: int
    cycle: str
    state: str
    steps: list[Step]
    next: str
    deadline: datetime | None
    days_left: int | None
    predikat: str | None = None  # the result, once the rater has given it
    lock: str | None = None  # a lock's cause: "early" (HR closed the phase) or "late"


@dataclass
class TeamRow:
    """A team member's evaluation in the rater's queue."""

    evaluation_id: int
    employee: str
    cycle: str
    state: str
    deadline: datetime | None
    days_left: int | None
    group: str  # waiting, late, rest
    lock: str | None = None  # a lock's cause: "early" (HR closed the phase) or "late"


@dataclass
class CycleProgress:
    """A cycle HR runs: how many of its evaluations have done the current phase's step."""

    id: int
    name: str
    state: str
    deadline: datetime | None
    days_left: int | None
    total: int = 0
    done: int = 0
    late: int = 0
    escalated: int = 0
    done_label: str = ""


@dataclass
class Home:
    """Everything the home page shows one person."""

    tasks: list[Task] = field(default_factory=list)
    journeys: list[Journey] = field(default_factory=list)
    team: list[TeamRow] = field(default_factory=list)
    team_counts: dict[str, int] = field(default_factory=dict)
    appeals: list[Task] = field(default_factory=list)
    cycles: list[CycleProgress] = field(default_factory=list)
    is_hr: bool = False
    cycle_running: bool = True
    now: datetime = field(default_factory=clock.utcnow)


def days_left(deadline: datetime | None, now: datetime) -> int | None:
    """Calendar days (local) from today to the deadline's day: 0 today, negative after."""
    if deadline is None:
        return None
    zone = clock.tz()
    return (deadline.astimezone(zone).date() - now.astimezone(zone).date()).days


# The audit action of each lock, by the state it leaves (as app/workflow/locks.py reads them).
LOCK_ACTIONS = {
    str(E.TARGETS_LOCKED): "evaluation.lock_targets",
    str(E.ASSESSMENT_LOCKED): "evaluation.lock_assessment",
}


def locked_early() -> sa.ColumnElement:
    """The evaluation is locked because HR closed its phase before the (personally extended)
    deadline: its last lock was recorded before that deadline. The SQL twin of
    app/workflow/locks.py's `locked_early`, for rows read without their objects."""
    locked_at = (
        sa.select(sa.func.max(AuditEvent.occurred_at))
        .where(
            AuditEvent.object_type == "evaluation",
            AuditEvent.object_id == sa.cast(Evaluation.id, sa.String),
            AuditEvent.action == sa.case(LOCK_ACTIONS, value=Evaluation.state),
        )
        .correlate(Evaluation)
        .scalar_subquery()
    )
    return sa.and_(Evaluation.state.in_(list(LOCK_ACTIONS)), locked_at < own_deadline())


def lock_cause(row) -> str | None:
    """Why a row's evaluation is locked ("early": HR closed the phase; "late": its deadline
    passed), or None when it is not."""
    if row.state not in LOCKED:
        return None
    return "early" if row.locked_early else "late"


@cache
def _party_statement() -> sa.Select:
    """Every evaluation a person (`:me`, signed in as `:account_id`) plays a part in that may ask
    something of them at `:now`, with the flags of each duty, lateness, returns and the keberatan
    thread. Built once per process: composing it costs more than running it."""
    me, account_id = sa.bindparam("me"), sa.bindparam("account_id")
    now = sa.bindparam("now", type_=UTCDateTime())
    rater, handler = aliased(Employee), aliased(Employee)
    duty_flags = [flag(owed(duty, now)).label(duty.kind) for duty in DUTIES]
    open_cycle = Cycle.state.in_([str(p) for p in OPEN_PHASES])
    return (
        sa.select(
            Evaluation.id,
            Evaluation.state,
            Evaluation.employee_id,
            Evaluation.rater_id,
            Evaluation.appeal_handler_id,
            Evaluation.extended_until,
            Evaluation.extended_phase,
            Evaluation.appeal_until,
            Evaluation.predikat,
            Cycle.id.label("cycle_id"),
            Cycle.name.label("cycle_name"),
            Cycle.state.label("cycle_state"),
            Cycle.kind.label("cycle_kind"),
            Cycle.target_deadline,
            Cycle.assessment_deadline,
            Cycle.review_deadline,
            Cycle.appeal_deadline,
            Employee.name.label("employee_name"),
            rater.name.label("rater_name"),
            handler.name.label("handler_name"),
            Appeal.decide_by,
            Appeal.escalated_at,
            own_deadline().label("own_deadline"),
            task_deadline().label("due"),
            flag(late(now)).label("late"),
            flag(behind()).label("behind"),
            flag(returned()).label("returned"),
            flag(explanation_asked(me, account_id)).label("asked"),
            flag(explanation_answered(account_id)).label("answered"),
            flag(locked_early()).label("locked_early"),
            *duty_flags,
        )
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(rater, rater.id == Evaluation.rater_id)
        .outerjoin(handler, handler.id == Evaluation.appeal_handler_id)
        .outerjoin(Appeal, Appeal.evaluation_id == Evaluation.id)
        .where(
            sa.or_(
                sa.and_(
                    Evaluation.employee_id == me,
                    Cycle.state.in_([*(str(p) for p in OPEN_PHASES), str(C.PUBLISHED)]),
                ),
                sa.and_(open_cycle, Evaluation.rater_id == me),
                sa.and_(open_cycle, Evaluation.appeal_handler_id == me, Evaluation.state == str(E.APPEALED)),
            )
        )
        .order_by(Cycle.id.desc(), Employee.name, Evaluation.id)
    )


def _party_rows(account: Account, now: datetime):
    """One statement: the evaluations this person plays a part in (`_party_statement`)."""
    return db.session.execute(
        _party_statement(), {"me": account.employee_id, "account_id": account.id, "now": now}
    ).all()


def _task(kind, label, row, now, *, person=None, deadline=None, anchor="", note=None) -> Task:
    return Task(
        kind=kind,
        action=str(label),
        person=person,
        cycle=row.cycle_name,
        deadline=deadline,
        days_left=days_left(deadline, now),
        endpoint="evaluations.view",
        args={"evaluation_id": row.id},
        anchor=anchor,
        note=note,
    )


def _own_tasks(row, now) -> list[Task]:
    """What one's own evaluation asks of one now."""
    tasks = []
    if row.write_skp or row.write_assessment:
        duty = DUTY["write_skp" if row.write_skp else "write_assessment"]
        label = duty.label
        if row.returned:
            label = (
                _l("Perbaiki SKP yang dikembalikan, lalu ajukan lagi")
                if row.write_skp
                else _l("Perbaiki penilaian mandiri yang dikembalikan, lalu ajukan lagi")
            )
        tasks.append(
            _task(
                duty.kind if not row.returned else f"fix_{duty.kind.removeprefix('write_')}",
                label,
                row,
                now,
                deadline=row.own_deadline,
                anchor="returned" if row.returned else duty.anchor,
                note=_("diajukan kepada %(name)s", name=row.rater_name),
            )
        )
    elif row.late and row.state in (*LOCKED, E.TARGETS_DRAFT, E.ASSESSMENT_DRAFT):
        tasks.append(
            _task(
                "extension",
                _l("Tahap ditutup HR: minta perpanjangan kepada admin kepegawaian")
                if lock_cause(row) == "early"
                else _l("Tenggat lewat: minta perpanjangan kepada admin kepegawaian"),
                row,
                now,
                deadline=row.own_deadline,
            )
        )
    if row.state == E.REVIEWED and row.appeal_until is not None and row.appeal_until > now:
        tasks.append(
            _task(
                "result",
                _l("Baca hasil penilaian; bila tidak setuju, ajukan keberatan"),
                row,
                now,
                deadline=row.appeal_until,
                anchor="result",
                note=_("keberatan dapat diajukan sampai tenggat ini"),
            )
        )
    return tasks


def _explanation_task(row, now) -> Task:
    return _task(
        "explain",
        _l("Beri penjelasan yang diminta atas keberatan"),
        row,
        now,
        person=row.employee_name,
        deadline=row.decide_by,
        anchor="appeal-thread-form",
        note=_("diminta oleh %(name)s", name=row.handler_name) if row.handler_name else None,
    )


# Evaluations HR set aside (by state value): no steps are left, only what happened.
SET_ASIDE = {
    "withdrawn": _l(
        "Anda dikecualikan dari periode ini oleh admin kepegawaian; tidak ada langkah penilaian untuk Anda."
    ),
    "not_rated": _l(
        "Admin kepegawaian menandai Anda tidak dinilai dalam periode ini; tidak ada langkah yang perlu "
        "Anda lakukan."
    ),
}


def _journey(row, now) -> Journey:
    """The employee's own evaluation as steps, and the sentence saying what is expected next."""
    if row.state in SET_ASIDE:
        return Journey(
            evaluation_id=row.id,
            cycle=row.cycle_name,
            state=row.state,
            steps=[],
            next=str(SET_ASIDE[row.state]),
            deadline=None,
            days_left=None,
        )
    state = E(row.state)
    order = [
        E.TARGETS_DRAFT,
        E.TARGETS_SUBMITTED,
        E.TARGETS_APPROVED,
        E.ASSESSMENT_DRAFT,
        E.ASSESSMENT_SUBMITTED,
        E.REVIEWED,
        E.APPEALED,
        E.DECIDED,
        E.FINAL,
        E.PUBLISHED,
    ]
    position = order.index(
        {E.TARGETS_LOCKED: E.TARGETS_DRAFT, E.ASSESSMENT_LOCKED: E.ASSESSMENT_DRAFT}.get(state, state)
    )
    window_over = state == E.REVIEWED and (row.appeal_until is None or row.appeal_until <= now)
    plan = [
        (_("Penyusunan SKP"), E.TARGETS_APPROVED, row.target_deadline, E.TARGETS_LOCKED),
        (_("Penilaian mandiri"), E.ASSESSMENT_SUBMITTED, row.assessment_deadline, E.ASSESSMENT_LOCKED),
        (_("Penilaian atasan"), E.REVIEWED, row.review_deadline, None),
        (_("Masa keberatan"), E.DECIDED, row.appeal_deadline, None),
        (_("Hasil diumumkan"), E.PUBLISHED, None, None),
    ]
    if row.cycle_kind != "annual":
        plan = plan[1:]  # a periodic cycle reuses the annual targets
    steps, current_found = [], False
    for label, goal, deadline, locked_state in plan:
        done = position >= order.index(goal) or (goal == E.DECIDED and window_over)
        if state == locked_state:
            status = "locked"
        elif done:
            status = "done"
        elif not current_found:
            # An approved SKP waits for HR to open the self-assessment: the next step, not yet hers.
            waiting = state == E.TARGETS_APPROVED and row.cycle_state == C.TARGET_SETTING
            status = "next" if waiting else "current"
        else:
            status = "todo"
        if status in ("current", "locked", "next"):
            current_found = True
            if row.extended_until is not None and row.extended_phase == str(OWN_PHASE.get(locked_state, "")):
                deadline = max(d for d in (deadline, row.extended_until) if d is not None)
        steps.append(Step(label=label, status=status, deadline=deadline))
    rater = row.rater_name
    deadline = row.due
    sentences = {
        E.TARGETS_DRAFT: _(
            "Susun RHK dan indikatornya, lalu ajukan SKP kepada %(rater)s sebelum tenggat.", rater=rater
        ),
        E.TARGETS_SUBMITTED: _("Menunggu %(rater)s menetapkan SKP Anda.", rater=rater),
        E.TARGETS_APPROVED: _(
            "SKP Anda sudah ditetapkan. Penilaian mandiri dibuka saat admin kepegawaian memulai tahap "
            "penilaian mandiri."
        ),
        E.TARGETS_LOCKED: _(
            "SKP terkunci karena tenggat lewat. Minta perpanjangan kepada admin kepegawaian untuk membukanya."
        ),
        E.ASSESSMENT_DRAFT: _(
            "Isi realisasi setiap indikator dengan bukti dukung, lalu ajukan penilaian mandiri "
            "sebelum tenggat."
        ),
        E.ASSESSMENT_SUBMITTED: _("Menunggu %(rater)s menilai penilaian mandiri Anda.", rater=rater),
        E.ASSESSMENT_LOCKED: _(
            "Penilaian mandiri terkunci karena tenggat lewat. Minta perpanjangan kepada admin kepegawaian."
        ),
        E.REVIEWED: _(
            "Hasil penilaian sudah Anda terima. Bila tidak setuju, ajukan keberatan sebelum masa keberatan "
            "berakhir."
        ),
        E.APPEALED: _(
            "Menunggu %(handler)s memutus keberatan Anda.",
            handler=row.handler_name or _("atasan pejabat penilai"),
        ),
        E.DECIDED: _("Keberatan Anda sudah diputus; hasilnya final dan akan diumumkan admin kepegawaian."),
        E.FINAL: _("Hasil penilaian Anda sudah final dan akan diumumkan admin kepegawaian."),
        E.PUBLISHED: _("Hasil penilaian sudah diumumkan."),
    }
    text = sentences[state]
    lock = lock_cause(row)
    if lock == "early":
        text = (
            _(
                "SKP terkunci karena admin kepegawaian menutup tahap penyusunan SKP sebelum tenggatnya. "
                "Minta perpanjangan kepada admin kepegawaian untuk membukanya."
            )
            if state == E.TARGETS_LOCKED
            else _(
                "Penilaian mandiri terkunci karena admin kepegawaian menutup tahapnya sebelum tenggat. "
                "Minta perpanjangan kepada admin kepegawaian."
            )
        )
    elif state in (E.TARGETS_DRAFT, E.ASSESSMENT_DRAFT) and row.late:
        text = (
            _(
                "Tenggat sudah lewat dan SKP belum diajukan. Minta perpanjangan kepada admin kepegawaian "
                "untuk menyelesaikannya."
            )
            if state == E.TARGETS_DRAFT
            else _(
                "Tenggat sudah lewat dan penilaian mandiri belum diajukan. Minta perpanjangan kepada admin "
                "kepegawaian untuk menyelesaikannya."
            )
        )
    elif state == E.TARGETS_DRAFT and row.returned:
        text = _(
            "SKP dikembalikan oleh %(rater)s: perbaiki sesuai komentarnya, lalu ajukan lagi.", rater=rater
        )
    elif state == E.ASSESSMENT_DRAFT and row.returned:
        text = _(
            "Penilaian mandiri dikembalikan oleh %(rater)s: perbaiki sesuai komentarnya, lalu ajukan lagi.",
            rater=rater,
        )
    elif window_over:
        text = _("Masa keberatan sudah berakhir; hasil Anda menjadi final saat diumumkan admin kepegawaian.")
        deadline = None
    if state in (E.DECIDED, E.FINAL, E.PUBLISHED, E.TARGETS_APPROVED):
        deadline = None
    return Journey(
        evaluation_id=row.id,
        cycle=row.cycle_name,
        state=row.state,
        steps=steps,
        next=text,
        deadline=deadline,
        days_left=days_left(deadline, now),
        predikat=row.predikat,
        lock=lock,
    )


TEAM_GROUPS = ("waiting", "late", "rest")
TEAM_ON_HOME = 30  # the rest of a large team is on the SKP list


def _employee_part(home: Home, account: Account, now: datetime) -> None:
    """Own tasks and steps, the team queue, the keberatan to decide, explanations asked."""
    me = account.employee_id
    own_open, own_published = [], []
    counts = dict.fromkeys(TEAM_GROUPS, 0)
    team = []
    for row in _party_rows(account, now):
        if row.employee_id == me:
            home.tasks.extend(_own_tasks(row, now))
            (own_published if row.cycle_state == C.PUBLISHED else own_open).append(row)
        if row.asked:
            home.tasks.append(_explanation_task(row, now))
        if row.rater_id == me and row.employee_id != me:
            for duty in (DUTY["approve_skp"], DUTY["review"]):
                if getattr(row, duty.kind):
                    home.tasks.append(
                        _task(
                            duty.kind,
                            duty.label,
                            row,
                            now,
                            person=row.employee_name,
                            deadline=row.due,
                            anchor=duty.anchor,
                        )
                    )
            group = "waiting" if row.approve_skp or row.review else "late" if row.late else "rest"
            counts[group] += 1
            team.append(
                TeamRow(
                    evaluation_id=row.id,
                    employee=row.employee_name,
                    cycle=row.cycle_name,
                    state=row.state,
                    deadline=row.due if row.behind or row.late else None,  # none once the step is done
                    days_left=days_left(row.due, now),
                    group=group,
                    lock=lock_cause(row),
                )
            )
        if row.appeal_handler_id == me and row.employee_id != me and row.decide_appeal:
            decide = _task(
                "decide_appeal",
                DUTY["decide_appeal"].label,
                row,
                now,
                person=row.employee_name,
                deadline=row.decide_by,
                anchor="decision",
                note=_("dinilai oleh %(name)s", name=row.rater_name),
            )
            home.tasks.append(decide)
            home.appeals.append(decide)
            if row.answered:
                home.tasks.append(
                    _task(
                        "answer_received",
                        _l("Baca penjelasan yang masuk atas keberatan"),
                        row,
                        now,
                        person=row.employee_name,
                        deadline=row.decide_by,
                        anchor="appeal-thread",
                    )
                )
    home.journeys = [_journey(row, now) for row in (own_open or own_published[:1])]
    if not own_open:  # "no cycle is running" only when none is (others may run without me)
        home.cycle_running = bool(
            db.session.scalar(sa.select(sa.exists().where(Cycle.state.in_([str(p) for p in OPEN_PHASES]))))
        )
    team.sort(key=lambda r: (TEAM_GROUPS.index(r.group), r.deadline is None, r.deadline or now, r.employee))
    home.team = team[:TEAM_ON_HOME]
    home.team_counts = counts if team else {}
    home.appeals.sort(key=Task.sort_key)


ESCALATED_ON_HOME = 20


def _hr_part(home: Home, now: datetime) -> None:
    """The cycles HR runs (drafts to open, phases to move on, results to announce), their progress,
    who is late, and the keberatan past their decision date: five statements."""
    cycles = db.session.scalars(
        sa.select(Cycle)
        .where(Cycle.state.in_([str(C.DRAFT), *(str(p) for p in OPEN_PHASES)]))
        .order_by(Cycle.id)
    ).all()
    if not cycles:
        return
    ids = [cycle.id for cycle in cycles]
    counts = cycle_counts(ids, now)  # the dashboard's counts, with the same rules
    by_id = {}
    for cycle in cycles:
        deadline = cycle.deadline_of(cycle.state)
        progress = CycleProgress(
            id=cycle.id,
            name=cycle.name,
            state=cycle.state,
            deadline=deadline,
            days_left=days_left(deadline, now),
            late=counts[cycle.id].late,
            escalated=counts[cycle.id].escalated,
            total=counts[cycle.id].total,
            done=done_in_phase(cycle.state, counts[cycle.id].states),
            done_label=done_label(cycle.state),
        )
        by_id[cycle.id] = progress
    home.cycles = list(by_id.values())
    for cycle, progress in zip(cycles, home.cycles, strict=True):
        home.tasks.extend(_cycle_tasks(cycle, progress, waiting_for_hr(cycle, counts[cycle.id], now), now))
    escalated = db.session.execute(
        sa.select(Evaluation.id, Employee.name, Cycle.name, Appeal.decide_by)
        .join(Appeal, Appeal.evaluation_id == Evaluation.id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.state == str(E.APPEALED),
            Appeal.escalated_at.is_not(None),
            Evaluation.cycle_id.in_(ids),
        )
        .order_by(Appeal.decide_by, Evaluation.id)
        .limit(ESCALATED_ON_HOME)
    ).all()
    for evaluation_id, employee_name, cycle_name, decide_by in escalated:
        home.tasks.append(
            Task(
                kind="escalated",
                action=_("Keberatan melewati batas keputusan: tindak lanjuti dengan atasan pejabat penilai"),
                person=employee_name,
                cycle=cycle_name,
                deadline=decide_by,
                days_left=days_left(decide_by, now),
                endpoint="evaluations.view",
                args={"evaluation_id": evaluation_id},
                anchor="keberatan",
            )
        )


def _cycle_tasks(cycle: Cycle, progress: CycleProgress, waiting: list[str], now: datetime) -> list[Task]:
    """What a cycle asks of HR now (`waiting`: cockpit.waiting_for_hr)."""

    def task(kind, action, endpoint, deadline=None, person=None, anchor=""):
        return Task(
            kind=kind,
            action=action,
            person=person,
            cycle=cycle.name,
            deadline=deadline,
            days_left=days_left(deadline, now),
            endpoint=endpoint,
            args={"cycle_id": cycle.id},
            anchor=anchor,
        )

    tasks = []
    if "open_cycle" in waiting:
        first = cycle.assessment_deadline if cycle.is_periodic else cycle.target_deadline
        tasks.append(task("open_cycle", _("Periksa cakupan, lalu buka periode"), "cycles.view", first))
        return tasks
    if "overdue" in waiting:
        tasks.append(
            task(
                "overdue",
                _("Tindak lanjuti pegawai yang lewat tenggat"),
                "cycles.overdue_list",
                None,  # their deadlines passed; the current phase's is not theirs
                person=_("%(n)d pegawai", n=progress.late),
            )
        )
    if "publish" in waiting:
        tasks.append(
            task("publish", _("Masa keberatan berakhir: umumkan hasil"), "cycles.view", progress.deadline)
        )
    if "advance" in waiting:
        tasks.append(
            task(
                "advance",
                _("Tenggat tahap lewat: lanjutkan ke tahap berikutnya"),
                "cycles.view",
                progress.deadline,
            )
        )
    return tasks


def for_account(account: Account) -> Home:
    """What waits for this person, most urgent first, and what their home shows besides."""
    now = clock.utcnow()
    result = Home(is_hr=is_hr(account), now=now)
    if account.employee_id is not None:
        _employee_part(result, account, now)
        result.tasks.extend(monitoring.home_tasks(account, now))
    if result.is_hr:
        _hr_part(result, now)
    result.tasks.sort(key=Task.sort_key)
    return result
