"""Who must act on what, and by when: the one place the home pages, the lists' "perlu tindakan
saya" filter and the reminder digests read.

A duty is a step an evaluation waits for (`DUTIES`: the evaluation state, whose step it is, the
cycle phases in which it is owed). Every condition here is a SQL expression over an evaluation
joined to its cycle, so a page answers for a whole team in a fixed number of statements and the
reminders select exactly the rows the home shows (app/services/home.py puts one person's together).
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import clock
from app.models import Account, Appeal, Comment, Cycle, CycleState, Evaluation, EvaluationState
from app.models.types import UTCDateTime

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


def _at(moment: datetime | sa.ColumnElement):
    """A moment as SQL: a datetime, or a bound parameter of a statement built once and reused."""
    if isinstance(moment, sa.ColumnElement):
        return moment
    return sa.literal(moment, UTCDateTime())


def phase_deadline(phase) -> sa.ColumnElement:
    """The cycle's deadline of `phase` (a phase name: its column; or a SQL expression naming one)."""
    if isinstance(phase, str):
        column = Cycle.DEADLINE_OF_PHASE.get(CycleState(phase))
        return getattr(Cycle, column) if column else sa.type_coerce(sa.null(), UTCDateTime())
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
    """The evaluation's deadline of `own_phase()` (see `deadline_in`)."""
    return deadline_in(own_phase())


def deadline_in(phase: str | sa.ColumnElement) -> sa.ColumnElement:
    """The evaluation's deadline of `phase` (a phase name or a SQL expression naming one): the
    cycle's, or a later personal extension (the workflow's `effective_deadline`, in SQL)."""
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
    deadline = deadline_in(str(OWN_PHASE[duty.state]))  # own_deadline() of an evaluation in duty.state
    return sa.and_(in_state, sa.or_(in_phase, extension), sa.or_(deadline.is_(None), deadline >= _at(now)))


def late(now: datetime) -> sa.ColumnElement:
    """Locked, or behind in the cycle's current phase past the (personally extended) deadline:
    who the overdue lists name."""
    return sa.or_(
        Evaluation.state.in_([str(s) for s in LOCKED]),
        sa.and_(behind(), own_deadline() < _at(now)),
    )


def behind() -> sa.ColumnElement:
    """The evaluation still owes the step of its cycle's current phase (late or not)."""
    return sa.or_(
        *(
            sa.and_(Cycle.state == str(phase), Evaluation.state.in_([str(s) for s in behind_states(phase)]))
            for phase in OPEN_PHASES
        )
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
    if account.employee_id is None:
        return sa.false()
    return waits_for(account.employee_id, account.id, now or clock.utcnow())


def waits_for(me, account_id, now) -> sa.ColumnElement:
    """`needs_action` of the employee `me` signed in as `account_id` at `now`: values, or bind
    parameters of a statement built once per process and reused."""
    duties = []
    for duty in DUTIES:
        mine = PARTY_COLUMN[duty.role] == me
        if duty.role != EMPLOYEE:
            mine = sa.and_(mine, Evaluation.employee_id != me)
        duties.append(sa.and_(mine, owed(duty, now)))
    return sa.or_(*duties, explanation_asked(me, account_id))


def flag(condition) -> sa.ColumnElement:
    return sa.case((condition, 1), else_=0)
