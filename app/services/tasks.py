"""Who must act on what, and by when: the one place the home pages, the lists' "perlu tindakan
saya" filter and the reminder digests read.

A duty is a step an evaluation waits for (`DUTIES`: the evaluation state, whose step it is, the
cycle phases in which it is owed). Every condition here is a SQL expression over an evaluation
joined to its cycle, so a page answers for a whole team in a fixed number of statements and the
reminders select exactly the rows the home shows. `home()` gathers one person's tasks, their own
evaluations as steps, their team's queue, the keberatan they decide and, for HR, the cycles.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app import clock
from app.extensions import db
from app.models import Account, Appeal, Comment, Cycle, CycleState, Employee, Evaluation, EvaluationState
from app.models.types import UTCDateTime
from app.policy import is_hr

C, E = CycleState, EvaluationState
EMPLOYEE, RATER, APPEAL_HANDLER = "employee", "rater", "appeal_handler"
OPEN_PHASES = (C.TARGET_SETTING, C.SELF_ASSESSMENT, C.SUPERVISOR_REVIEW, C.APPEAL)
LOCKED = (E.TARGETS_LOCKED, E.ASSESSMENT_LOCKED)
PARTY_COLUMN = {
    EMPLOYEE: Evaluation.employee_id,
    RATER: Evaluation.rater_id,
    APPEAL_HANDLER: Evaluation.appeal_handler_id,
}


@dataclass(frozen=True)
class Duty:
    """A step an evaluation in `state` waits for from its `role`, owed while its cycle is in `phases`.

    `reminded_in`: the phases whose deadline reminders name it (a review is owed from the
    self-assessment phase on, but reminded only once the review phase runs).
    """

    kind: str
    state: EvaluationState
    role: str
    phases: tuple[CycleState, ...]
    label: object  # what the home tells the person to do
    reminder: object  # how the reminder digest names it
    anchor: str  # the form on the evaluation page
    reminded_in: tuple[CycleState, ...] = ()


# In the order the reminder digests list them.
DUTIES = [
    Duty(
        "write_skp",
        E.TARGETS_DRAFT,
        EMPLOYEE,
        (C.TARGET_SETTING,),
        _l("Susun dan ajukan SKP"),
        _l("Menyusun dan mengajukan SKP"),
        "skp",
        (C.TARGET_SETTING,),
    ),
    Duty(
        "write_assessment",
        E.ASSESSMENT_DRAFT,
        EMPLOYEE,
        (C.SELF_ASSESSMENT,),
        _l("Isi realisasi dan ajukan penilaian mandiri"),
        _l("Mengisi dan mengajukan penilaian mandiri"),
        "assessment",
        (C.SELF_ASSESSMENT,),
    ),
    Duty(
        "approve_skp",
        E.TARGETS_SUBMITTED,
        RATER,
        (C.TARGET_SETTING, C.SELF_ASSESSMENT),
        _l("Tetapkan atau kembalikan SKP"),
        _l("Menetapkan SKP"),
        "rater-targets",
        (C.TARGET_SETTING, C.SELF_ASSESSMENT),
    ),
    Duty(
        "review",
        E.ASSESSMENT_SUBMITTED,
        RATER,
        (C.SELF_ASSESSMENT, C.SUPERVISOR_REVIEW, C.APPEAL),
        _l("Nilai penilaian mandiri"),
        _l("Menilai penilaian mandiri"),
        "review",
        (C.SUPERVISOR_REVIEW, C.APPEAL),
    ),
    Duty(
        "decide_appeal",
        E.APPEALED,
        APPEAL_HANDLER,
        (C.SELF_ASSESSMENT, C.SUPERVISOR_REVIEW, C.APPEAL),
        _l("Putuskan keberatan"),
        _l("Memutus keberatan"),
        "keberatan",
        (C.APPEAL,),
    ),
]
DUTY = {duty.kind: duty for duty in DUTIES}
REMINDED_PHASES = tuple(dict.fromkeys(phase for duty in DUTIES for phase in duty.reminded_in))

# The phase whose deadline binds an evaluation that still owes its own step (as the workflow's
# OWN_PHASE, which a test keeps equal); other states are bound by the cycle's current phase.
OWN_PHASE = {
    E.TARGETS_DRAFT: C.TARGET_SETTING,
    E.TARGETS_LOCKED: C.TARGET_SETTING,
    E.ASSESSMENT_DRAFT: C.SELF_ASSESSMENT,
    E.ASSESSMENT_LOCKED: C.SELF_ASSESSMENT,
}
LOCKED_IN = {C.TARGET_SETTING: (E.TARGETS_LOCKED,), C.SELF_ASSESSMENT: (E.ASSESSMENT_LOCKED,)}


def behind_states(phase: str) -> tuple[EvaluationState, ...]:
    """States of the evaluations that still owe `phase`'s step (its duties, and its locks)."""
    owed = tuple(duty.state for duty in DUTIES if phase in duty.reminded_in)
    return tuple(dict.fromkeys(owed + LOCKED_IN.get(CycleState(phase), ())))


# ---- conditions, as SQL over Evaluation joined to Cycle --------------------------------------------


def _at(moment: datetime):
    return sa.literal(moment, UTCDateTime())


def phase_deadline(phase) -> sa.ColumnElement:
    """The cycle's deadline of `phase` (a phase name or a SQL expression naming one)."""
    if isinstance(phase, str):
        phase = sa.literal(str(phase))
    return sa.type_coerce(
        sa.case(
            {str(state): getattr(Cycle, column) for state, column in Cycle.DEADLINE_OF_PHASE.items()},
            value=phase,
            else_=sa.null(),
        ),
        UTCDateTime(),
    )


def own_phase() -> sa.ColumnElement:
    """The phase whose step the evaluation owes (see OWN_PHASE), else the cycle's phase."""
    return sa.case({str(s): str(p) for s, p in OWN_PHASE.items()}, value=Evaluation.state, else_=Cycle.state)


def own_deadline() -> sa.ColumnElement:
    """The evaluation's deadline of `own_phase()`: the cycle's, or a later personal extension
    (the workflow's `effective_deadline`, in SQL)."""
    phase = own_phase()
    deadline = phase_deadline(phase)
    extended = sa.and_(
        Evaluation.extended_until.is_not(None),
        Evaluation.extended_phase == phase,
        sa.or_(deadline.is_(None), Evaluation.extended_until > deadline),
    )
    return sa.type_coerce(sa.case((extended, Evaluation.extended_until), else_=deadline), UTCDateTime())


def owed(duty: Duty, now: datetime) -> sa.ColumnElement:
    """The evaluation waits for `duty` now. One's own step is owed in its phase (or under a
    running personal extension of it) until its deadline; a rater's or handler's during its phases."""
    in_state = Evaluation.state == str(duty.state)
    in_phase = Cycle.state.in_([str(p) for p in duty.phases])
    if duty.role != EMPLOYEE:
        return sa.and_(in_state, in_phase)
    phase = str(duty.phases[0])
    extension = sa.and_(Evaluation.extended_phase == phase, Evaluation.extended_until >= _at(now))
    deadline = own_deadline()
    return sa.and_(in_state, sa.or_(in_phase, extension), sa.or_(deadline.is_(None), deadline >= _at(now)))


def late(now: datetime) -> sa.ColumnElement:
    """Locked, or behind in the cycle's current phase past the (personally extended) deadline:
    who the overdue lists name."""
    behind = [
        sa.and_(Cycle.state == str(phase), Evaluation.state.in_([str(s) for s in behind_states(phase)]))
        for phase in OPEN_PHASES
    ]
    return sa.or_(
        Evaluation.state.in_([str(s) for s in LOCKED]),
        sa.and_(sa.or_(*behind), own_deadline() < _at(now)),
    )


def task_deadline() -> sa.ColumnElement:
    """By when the step the evaluation waits for is due: one's own step by its deadline, a review
    by the review deadline, a keberatan by its decision date, a keberatan window by its end,
    anything else by the cycle's current phase deadline."""
    decide_by = (
        sa.select(Appeal.decide_by).where(Appeal.evaluation_id == Evaluation.id).correlate(Evaluation)
    ).scalar_subquery()
    return sa.type_coerce(
        sa.case(
            (Evaluation.state.in_([str(s) for s in OWN_PHASE]), own_deadline()),
            (
                sa.and_(
                    Evaluation.state == str(E.ASSESSMENT_SUBMITTED), Cycle.state == str(C.SELF_ASSESSMENT)
                ),
                Cycle.review_deadline,
            ),
            (Evaluation.state == str(E.APPEALED), decide_by),
            (Evaluation.state == str(E.REVIEWED), Evaluation.appeal_until),
            else_=phase_deadline(Cycle.state),
        ),
        UTCDateTime(),
    )


def _appeal_comments(*conditions) -> sa.Select:
    """Comments of the keberatan thread of the evaluation in the enclosing query."""
    return (
        sa.select(Comment.id)
        .where(Comment.evaluation_id == Evaluation.id, Comment.topic == "appeal", *conditions)
        .correlate(Evaluation)
    )


def explanation_asked(employee_id: int, account_id: int) -> sa.ColumnElement:
    """A keberatan's handler asked this person for an explanation they have not given since."""
    answered_up_to = (
        sa.select(sa.func.coalesce(sa.func.max(Comment.id), 0))
        .where(
            Comment.evaluation_id == Evaluation.id, Comment.topic == "appeal", Comment.author_id == account_id
        )
        .correlate(Evaluation)
        .scalar_subquery()
    )
    return sa.and_(
        Evaluation.state == str(E.APPEALED),
        _appeal_comments(Comment.addressed_to_id == employee_id, Comment.id > answered_up_to).exists(),
    )


def explanation_answered(account_id: int) -> sa.ColumnElement:
    """Someone wrote in the keberatan thread after this handler's latest request for an explanation."""
    asked_last = (
        sa.select(sa.func.max(Comment.id))
        .where(
            Comment.evaluation_id == Evaluation.id,
            Comment.topic == "appeal",
            Comment.author_id == account_id,
            Comment.addressed_to_id.is_not(None),
        )
        .correlate(Evaluation)
        .scalar_subquery()
    )
    return sa.and_(
        Evaluation.state == str(E.APPEALED),
        _appeal_comments(Comment.author_id != account_id, Comment.id > asked_last).exists(),
    )


def returned() -> sa.ColumnElement:
    """The draft came back from the rater with a comment (the SKP, or the self-assessment)."""
    topic = sa.case(
        (Evaluation.state == str(E.TARGETS_DRAFT), "targets"),
        (Evaluation.state == str(E.ASSESSMENT_DRAFT), "assessment"),
        else_="",
    )
    return (
        sa.select(Comment.id)
        .where(Comment.evaluation_id == Evaluation.id, Comment.topic == topic)
        .correlate(Evaluation)
        .exists()
    )


def needs_action(account: Account, now: datetime | None = None) -> sa.ColumnElement:
    """The evaluation waits for this person: a duty of theirs is owed, or an explanation asked of
    them is unanswered. Over Evaluation joined to Cycle; false for an account of no employee."""
    now = now or clock.utcnow()
    me = account.employee_id
    if me is None:
        return sa.false()
    duties = []
    for duty in DUTIES:
        mine = PARTY_COLUMN[duty.role] == me
        if duty.role != EMPLOYEE:
            mine = sa.and_(mine, Evaluation.employee_id != me)
        duties.append(sa.and_(mine, owed(duty, now)))
    return sa.or_(*duties, explanation_asked(me, account.id))


def _flag(condition) -> sa.ColumnElement:
    return sa.case((condition, 1), else_=0)


# ---- what the home shows -----------------------------------------------------------------------------


@dataclass
class Task:
    """One thing a person has to do: what, for whom, by when, and where the form is."""

    kind: str
    action: str
    person: str | None
    cycle: str | None
    deadline: datetime | None
    days_left: int | None
    endpoint: str
    args: dict
    anchor: str = ""
    note: str | None = None

    @property
    def overdue(self) -> bool:
        """The deadline has passed."""
        return self.deadline is not None and self.deadline < clock.utcnow()

    def sort_key(self):
        """Most urgent first: the nearest deadline (passed ones first); undated last."""
        return (self.deadline is None, self.deadline or datetime.max.replace(tzinfo=clock.tz()), self.kind)


@dataclass
class Step:
    """One phase of an employee's own evaluation: done, current (or locked), or to come."""

    label: str
    status: str  # done, current, locked, todo
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
    now: datetime = field(default_factory=clock.utcnow)


def days_left(deadline: datetime | None, now: datetime) -> int | None:
    """Calendar days (local) from today to the deadline's day: 0 today, negative after."""
    if deadline is None:
        return None
    zone = clock.tz()
    return (deadline.astimezone(zone).date() - now.astimezone(zone).date()).days


def _party_rows(account: Account, now: datetime):
    """One statement: every evaluation this person plays a part in that may ask something of them,
    with the flags of each duty, lateness, returns and the keberatan thread."""
    me = account.employee_id
    rater, handler = aliased(Employee), aliased(Employee)
    duty_flags = [_flag(owed(duty, now)).label(duty.kind) for duty in DUTIES]
    open_cycle = Cycle.state.in_([str(p) for p in OPEN_PHASES])
    return db.session.execute(
        sa.select(
            Evaluation.id,
            Evaluation.state,
            Evaluation.employee_id,
            Evaluation.rater_id,
            Evaluation.appeal_handler_id,
            Evaluation.extended_until,
            Evaluation.extended_phase,
            Evaluation.appeal_until,
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
            _flag(late(now)).label("late"),
            _flag(returned()).label("returned"),
            _flag(explanation_asked(me, account.id)).label("asked"),
            _flag(explanation_answered(account.id)).label("answered"),
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
                _l("Tenggat lewat: minta perpanjangan kepada admin kepegawaian"),
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


def _journey(row, now) -> Journey:
    """The employee's own evaluation as steps, and the sentence saying what is expected next."""
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
            status = "current"
        else:
            status = "todo"
        if status in ("current", "locked"):
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
        E.TARGETS_SUBMITTED: _("SKP Anda menunggu penetapan oleh %(rater)s.", rater=rater),
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
        E.ASSESSMENT_SUBMITTED: _("Penilaian mandiri Anda menunggu penilaian oleh %(rater)s.", rater=rater),
        E.ASSESSMENT_LOCKED: _(
            "Penilaian mandiri terkunci karena tenggat lewat. Minta perpanjangan kepada admin kepegawaian."
        ),
        E.REVIEWED: _(
            "Hasil penilaian sudah Anda terima. Bila tidak setuju, ajukan keberatan sebelum masa keberatan "
            "berakhir."
        ),
        E.APPEALED: _(
            "Keberatan Anda menunggu keputusan %(handler)s.",
            handler=row.handler_name or _("atasan pejabat penilai"),
        ),
        E.DECIDED: _("Keberatan Anda sudah diputus; hasilnya final dan akan diumumkan admin kepegawaian."),
        E.FINAL: _("Hasil penilaian Anda sudah final dan akan diumumkan admin kepegawaian."),
        E.PUBLISHED: _("Hasil penilaian sudah diumumkan."),
    }
    text = sentences[state]
    if state == E.TARGETS_DRAFT and row.returned:
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
                    deadline=row.due,
                    days_left=days_left(row.due, now),
                    group=group,
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
    team.sort(key=lambda r: (TEAM_GROUPS.index(r.group), r.deadline is None, r.deadline or now, r.employee))
    home.team = team[:TEAM_ON_HOME]
    home.team_counts = counts if team else {}
    home.appeals.sort(key=Task.sort_key)


# What "done" means for a cycle's progress in each phase: the evaluations past its step.
DONE_IN_PHASE = {
    C.TARGET_SETTING: (
        (
            E.TARGETS_APPROVED,
            E.ASSESSMENT_DRAFT,
            E.ASSESSMENT_SUBMITTED,
            E.REVIEWED,
            E.APPEALED,
            E.DECIDED,
            E.FINAL,
        ),
        _l("SKP ditetapkan"),
    ),
    C.SELF_ASSESSMENT: (
        (E.ASSESSMENT_SUBMITTED, E.REVIEWED, E.APPEALED, E.DECIDED, E.FINAL),
        _l("penilaian mandiri diajukan"),
    ),
    C.SUPERVISOR_REVIEW: ((E.REVIEWED, E.APPEALED, E.DECIDED, E.FINAL), _l("sudah dinilai atasan")),
    C.APPEAL: ((E.REVIEWED, E.DECIDED, E.FINAL), _l("dinilai, tanpa keberatan tertunda")),
}
ESCALATED_ON_HOME = 20


def _hr_part(home: Home, now: datetime) -> None:
    """The cycles HR runs (drafts to open, phases to move on, results to announce), their progress,
    who is late, and the keberatan past their decision date: four statements."""
    cycles = db.session.scalars(
        sa.select(Cycle)
        .where(Cycle.state.in_([str(C.DRAFT), *(str(p) for p in OPEN_PHASES)]))
        .order_by(Cycle.id)
    ).all()
    if not cycles:
        return
    ids = [cycle.id for cycle in cycles]
    counts = db.session.execute(
        sa.select(Evaluation.cycle_id, Evaluation.state, sa.func.count(), sa.func.count(Appeal.escalated_at))
        .outerjoin(Appeal, Appeal.evaluation_id == Evaluation.id)
        .where(Evaluation.cycle_id.in_(ids))
        .group_by(Evaluation.cycle_id, Evaluation.state)
    ).all()
    late_counts = dict(
        db.session.execute(
            sa.select(Evaluation.cycle_id, sa.func.count())
            .join(Cycle, Cycle.id == Evaluation.cycle_id)
            .where(Evaluation.cycle_id.in_(ids), late(now))
            .group_by(Evaluation.cycle_id)
        ).all()
    )
    by_id = {}
    for cycle in cycles:
        deadline = cycle.deadline_of(cycle.state)
        progress = CycleProgress(
            id=cycle.id,
            name=cycle.name,
            state=cycle.state,
            deadline=deadline,
            days_left=days_left(deadline, now),
            late=late_counts.get(cycle.id, 0),
        )
        if cycle.state in DONE_IN_PHASE:
            progress.done_label = str(DONE_IN_PHASE[C(cycle.state)][1])
        by_id[cycle.id] = progress
    for cycle_id, state, count, escalated in counts:
        progress = by_id[cycle_id]
        progress.total += count
        if state == E.APPEALED:
            progress.escalated += escalated
        done = DONE_IN_PHASE.get(C(progress.state))
        if done and state in done[0]:
            progress.done += count
    home.cycles = list(by_id.values())
    for cycle, progress in zip(cycles, home.cycles, strict=True):
        home.tasks.extend(_cycle_tasks(cycle, progress, now))
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


def _cycle_tasks(cycle: Cycle, progress: CycleProgress, now: datetime) -> list[Task]:
    """What a cycle asks of HR now."""

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
    if cycle.state == C.DRAFT:
        first = cycle.assessment_deadline if cycle.is_periodic else cycle.target_deadline
        tasks.append(task("open_cycle", _("Periksa cakupan, lalu buka periode"), "cycles.view", first))
        return tasks
    if progress.late:
        tasks.append(
            task(
                "overdue",
                _("Tindak lanjuti pegawai yang lewat tenggat"),
                "cycles.overdue_list",
                progress.deadline,
                person=_("%(n)d pegawai", n=progress.late),
            )
        )
    if progress.deadline is not None and progress.deadline < now:
        if cycle.state == C.APPEAL:
            tasks.append(
                task("publish", _("Masa keberatan berakhir: umumkan hasil"), "cycles.view", progress.deadline)
            )
        elif not cycle.auto_advance:
            tasks.append(
                task(
                    "advance",
                    _("Tenggat tahap lewat: lanjutkan ke tahap berikutnya"),
                    "cycles.view",
                    progress.deadline,
                )
            )
    return tasks


def home(account: Account) -> Home:
    """What waits for this person, most urgent first, and what their home shows besides."""
    now = clock.utcnow()
    result = Home(is_hr=is_hr(account), now=now)
    if account.employee_id is not None:
        _employee_part(result, account, now)
    if result.is_hr:
        _hr_part(result, now)
    result.tasks.sort(key=Task.sort_key)
    return result
