"""The HR cockpit's figures for a cycle: progress per phase and per unit, completion over time,
overdue by unit, and what each cycle waits for from HR.

Each figure is one grouped query whose result the pages reuse, so a number is counted once and
agrees wherever it shows: the HR home's progress bar reads `cycle_counts` and `done_in_phase` as
the dashboard does; the overdue badge is the sum of the overdue-by-unit bars. Who is late is
app/services/tasks.py's `late()`. Completion over time comes from the audit trail, read in full
once per worker process and then only for the rows not settled yet (see `_reached`). The
templates draw the charts (cycles/_charts.html).
"""

import functools
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from app import clock
from app.domain import OrgPredikat, Predikat
from app.extensions import db
from app.models import Appeal, AuditEvent, Cycle, Evaluation, EvaluationTally, OrgUnit, UnitPredikat
from app.models.tally import NOT_STARTED  # a draft with nothing written: "SKP disusun" counts SKPs written
from app.models.types import UTCDateTime
from app.services.tasks import (
    LOCKED,
    OPEN_PHASES,
    OWN_PHASE,
    C,
    E,
    behind,
    behind_states,
    late,
    own_phase,
    phase_deadline,
)

PHASES = (C.TARGET_SETTING, C.SELF_ASSESSMENT, C.SUPERVISOR_REVIEW, C.APPEAL)

# What "done" means in each phase: the evaluations past its step, and how the bar names them.
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
            E.PUBLISHED,
        ),
        _l("SKP ditetapkan"),
    ),
    C.SELF_ASSESSMENT: (
        (E.ASSESSMENT_SUBMITTED, E.REVIEWED, E.APPEALED, E.DECIDED, E.FINAL, E.PUBLISHED),
        _l("penilaian mandiri diajukan"),
    ),
    C.SUPERVISOR_REVIEW: (
        (E.REVIEWED, E.APPEALED, E.DECIDED, E.FINAL, E.PUBLISHED),
        _l("sudah dinilai atasan"),
    ),
    C.APPEAL: ((E.REVIEWED, E.DECIDED, E.FINAL, E.PUBLISHED), _l("dinilai, tanpa keberatan tertunda")),
}

# Completion over time: the transitions (as the audit trail records them) that reach each step.
REACHED = (
    (C.TARGET_SETTING, "evaluation.approve_targets", E.TARGETS_APPROVED),
    (C.SELF_ASSESSMENT, "evaluation.submit_assessment", E.ASSESSMENT_SUBMITTED),
    (C.SUPERVISOR_REVIEW, "evaluation.review", E.REVIEWED),
)

OVERDUE_UNITS = 8  # bars of the overdue chart; the other units are summed as "lainnya"


# DONE_IN_PHASE's states as the counters name them, by phase name (looked up per unit).
_DONE_STATES = {str(phase): tuple(str(s) for s in done) for phase, (done, _label) in DONE_IN_PHASE.items()}
_WITHDRAWN = str(E.WITHDRAWN)


def counted(states: dict[str, int]) -> int:
    """The evaluations that count in a cycle's totals: all but those withdrawn from it."""
    return sum(states.values()) - states.get(_WITHDRAWN, 0)


def done_in_phase(phase: str, counts: dict[str, int]) -> int:
    """How many of the counted evaluations (state -> n) have done `phase`'s step."""
    return sum(counts.get(state, 0) for state in _DONE_STATES.get(str(phase), ()))


def done_label(phase: str) -> str:
    """What the phase's bar counts ("SKP ditetapkan"), or "" for a phase without a step."""
    return str(DONE_IN_PHASE[C(phase)][1]) if phase in DONE_IN_PHASE else ""


# ---- several cycles at once (HR's home, the cycle list) ---------------------------------------------


@dataclass
class CycleCounts:
    """A cycle's evaluations per state, how many are late, how many keberatan are escalated."""

    states: dict[str, int] = field(default_factory=dict)
    late: int = 0
    escalated: int = 0

    @property
    def total(self) -> int:
        """Every evaluation of the cycle, those withdrawn from it aside."""
        return counted(self.states)


def cycle_counts(ids: list[int], now: datetime) -> dict[int, CycleCounts]:
    """Per cycle: evaluations per state, late ones, escalated keberatan (three grouped queries,
    however many cycles and evaluations)."""
    result = {cycle_id: CycleCounts() for cycle_id in ids}
    if not ids:
        return result
    # From the counters kept per unit (app/models/tally.py), drafts not started among the drafts.
    tally = EvaluationTally
    state = sa.case((tally.state == NOT_STARTED, E.TARGETS_DRAFT.value), else_=tally.state)
    for cycle_id, state_, n in db.session.execute(
        sa.select(tally.cycle_id, state, sa.func.sum(tally.n))
        .where(tally.cycle_id.in_(ids), tally.n != 0)
        .group_by(tally.cycle_id, state)
    ):
        result[cycle_id].states[state_] = int(n)
    # Who is late, as the dashboard counts it (`late_per_unit`): the counts of the late states (drafts
    # not started are among the drafts here, and late together with them), then the correction for
    # personal extensions. The cycles are in the session: their callers loaded them.
    for cycle_id in ids:
        late_states = _late_states(db.session.get(Cycle, cycle_id), now)
        result[cycle_id].late = sum(result[cycle_id].states.get(s, 0) for s in late_states)
    for cycle_id, _unit_id, n in db.session.execute(_late_corrected(), {"cycle_ids": ids, "now": now}):
        result[cycle_id].late += int(n)
    for cycle_id, n in db.session.execute(
        sa.select(Evaluation.cycle_id, sa.func.count())
        .join(Appeal, Appeal.evaluation_id == Evaluation.id)
        .where(
            Evaluation.cycle_id.in_(ids),
            Evaluation.state == str(E.APPEALED),
            Appeal.escalated_at.is_not(None),
        )
        .group_by(Evaluation.cycle_id)
    ):
        result[cycle_id].escalated = n
    return result


def waiting_for_hr(cycle: Cycle, counts: CycleCounts, now: datetime) -> list[str]:
    """What the cycle waits for from HR, in this order: "open_cycle" (a draft), "overdue" (people
    late), "escalated" (keberatan past their decision date), "publish" (the keberatan phase is
    over), "advance" (the phase's deadline passed and no automatic move is set)."""
    if cycle.state == C.DRAFT:
        return ["open_cycle"]
    if cycle.state not in PHASES:
        return []
    kinds = []
    if counts.late:
        kinds.append("overdue")
    if counts.escalated:
        kinds.append("escalated")
    deadline = cycle.deadline_of(cycle.state)
    if deadline is not None and deadline < now:
        if cycle.state == C.APPEAL:
            kinds.append("publish")
        elif not cycle.auto_advance:
            kinds.append("advance")
    return kinds


# ---- one cycle's dashboard ------------------------------------------------------------------------


@dataclass
class UnitProgress:
    """One unit's evaluations per state, and how many have done the current phase's step."""

    unit_id: int
    name: str
    states: dict[str, int] = field(default_factory=dict)
    done: int = 0
    total: int = 0  # every evaluation of the unit in the cycle, those withdrawn aside
    percent: int = 0  # share done, in whole percent (rounded down: 100 only when all are done)


@dataclass
class PhaseBar:
    """How many evaluations have done one phase's step."""

    phase: str
    label: str
    done: int
    total: int
    current: bool

    @property
    def percent(self) -> int:
        """Share done, in whole percent (rounded down)."""
        return 100 * self.done // self.total if self.total else 0


# The states in which an evaluation's predikat counts on the curve (app/workflow/distribution.py).
RATED_STATES = (E.REVIEWED, E.APPEALED, E.DECIDED, E.FINAL, E.PUBLISHED)


@dataclass
class UnitCounts:
    """One unit's evaluations in a cycle, as the counters give them: the dashboard's progress, the
    curve and the overdue counts are all drawn from these."""

    unit_id: int
    name: str
    states: dict[str, int]  # per state (NOT_STARTED: drafts with nothing written); none at 0
    rated: dict[Predikat, int]  # per predikat, in a rated state; every predikat, 0 included
    org_predikat: OrgPredikat | None = None  # the unit's predikat in this cycle, once HR set it


class json_object_agg(FunctionElement):
    """An aggregate of (key, value) pairs into one JSON object: PostgreSQL's `json_object_agg`,
    SQLite's `json_group_object`; read back as a dict."""

    type = sa.JSON()
    name = "json_object_agg"
    inherit_cache = True


@compiles(json_object_agg)
def _json_object_agg(element, compiler, **kw) -> str:
    return f"json_object_agg({compiler.process(element.clauses, **kw)})"


@compiles(json_object_agg, "sqlite")
def _json_group_object(element, compiler, **kw) -> str:
    return f"json_group_object({compiler.process(element.clauses, **kw)})"


@functools.cache
def _unit_counts_statement() -> sa.Select:
    """Per unit of the cycle `:cycle_id`, by name, with its org predikat: its counters as one JSON
    object {"state:predikat": n} (the counters' key is unique per unit). One row per unit, not one
    per unit, state and predikat (217 rows at 100 000, not 1 900), and no column per state to sum
    in the database and unpack in Python: the pairs cost a third of a pivot with a CASE per
    state. Built once per process."""
    tally = EvaluationTally
    counts = (
        sa.select(tally.unit_id, json_object_agg(tally.state + ":" + tally.predikat, tally.n).label("counts"))
        .where(tally.cycle_id == sa.bindparam("cycle_id"), tally.n != 0)
        .group_by(tally.unit_id)
        .subquery()
    )
    org = sa.and_(UnitPredikat.cycle_id == sa.bindparam("cycle_id"), UnitPredikat.unit_id == OrgUnit.id)
    return (
        sa.select(OrgUnit.name, UnitPredikat.org_predikat, counts.c.unit_id, counts.c.counts)
        .join(counts, counts.c.unit_id == OrgUnit.id)
        .outerjoin(UnitPredikat, org)
        .order_by(OrgUnit.name, OrgUnit.id)
    )


_RATED = frozenset(str(s) for s in RATED_STATES)
_PREDIKAT = {p.value: p for p in Predikat}
_NO_RATINGS = dict.fromkeys(Predikat, 0)  # copied per unit: iterating the enum costs more


def unit_counts(cycle: Cycle) -> list[UnitCounts]:
    """Every unit with evaluations in the cycle, by name, with its org predikat (one statement,
    `_unit_counts_statement`)."""
    units = []
    for name, org_predikat, unit_id, pairs in db.session.execute(
        _unit_counts_statement(), {"cycle_id": cycle.id}
    ):
        states: dict[str, int] = {}
        rated = _NO_RATINGS.copy()
        for key, n in pairs.items():
            state, _sep, predikat = key.partition(":")
            states[state] = states.get(state, 0) + n
            if state in _RATED and predikat:
                rated[_PREDIKAT[predikat]] += n
        units.append(UnitCounts(unit_id, name, states, rated, org_predikat))
    return units


def unit_progress(cycle: Cycle, counts: list[UnitCounts] | None = None) -> list[UnitProgress]:
    """Counts per state per unit, by unit name (`unit_counts`, unless given); drafts without any
    RHK count as NOT_STARTED; `done` counts the current phase's step."""
    units = []
    for unit in unit_counts(cycle) if counts is None else counts:
        done, total = done_in_phase(cycle.state, unit.states), counted(unit.states)
        units.append(
            UnitProgress(
                unit.unit_id, unit.name, unit.states, done, total, 100 * done // total if total else 0
            )
        )
    return units


def totals(units: list[UnitProgress]) -> dict[str, int]:
    """The cycle's evaluations per state, summed from its units."""
    result: dict[str, int] = {}
    for unit in units:
        for state, n in unit.states.items():
            result[state] = result.get(state, 0) + n
    return result


def phases_of(cycle: Cycle) -> list[str]:
    """The phases the cycle has gone through, the current one last (all of them once it is over);
    a periodic cycle starts at the self-assessment."""
    phases = list(PHASES[1:] if cycle.is_periodic else PHASES)
    if cycle.state in phases:
        return phases[: phases.index(cycle.state) + 1]
    return phases if cycle.state in (C.PUBLISHED, C.CLOSED) else []


def phase_bars(cycle: Cycle, units: list[UnitProgress]) -> list[PhaseBar]:
    """One bar per phase gone through: how many evaluations have done its step (from the
    per-unit counts, so the bars and the unit table add up)."""
    states = totals(units)
    total = counted(states)
    return [
        PhaseBar(phase, done_label(phase), done_in_phase(phase, states), total, phase == cycle.state)
        for phase in phases_of(cycle)
    ]


@dataclass
class Series:
    """One line of the completion chart: the cumulative count of evaluations past a step per day."""

    phase: str
    label: str
    points: list[tuple[date, int]] = field(default_factory=list)

    @property
    def last(self) -> int:
        """Where the line ends."""
        return self.points[-1][1] if self.points else 0

    def at(self, day: date) -> int:
        """The cumulative count at the end of `day`."""
        value = 0
        for when, n in self.points:
            if when > day:
                break
            value = n
        return value


# The completion chart's drawing box (SVG user units): the plot inside a 600 x 240 view box.
PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT = 80, 16, 496, 180  # room left for a 6-digit count


@dataclass
class Timeline:
    """Completion over time: the days with a change, a line per step reached, and the span drawn
    (from the day the cycle opened to today, or to its last change once it is over)."""

    days: list[date]
    series: list[Series]
    total: int
    start: date | None = None
    end: date | None = None

    def x(self, day: date) -> float:
        """The horizontal position of a day."""
        if self.start is None or self.end is None:
            return PLOT_LEFT
        span = max((self.end - self.start).days, 1)
        return round(PLOT_LEFT + PLOT_WIDTH * (day - self.start).days / span, 1)

    def y(self, n: int) -> float:
        """The vertical position of a count."""
        return round(PLOT_TOP + PLOT_HEIGHT * (1 - (n / self.total if self.total else 0)), 1)

    def polyline(self, line: Series) -> str:
        """The line as SVG points: a step up at the end of each day with a change."""
        if self.start is None or self.end is None:
            return ""
        points = [(self.x(self.start), self.y(0))]
        value = 0
        for day, n in line.points:
            points += [(self.x(day), self.y(value)), (self.x(day), self.y(n))]
            value = n
        points.append((self.x(self.end), self.y(value)))
        return " ".join(f"{x},{y}" for x, y in points)

    def ticks(self) -> list[int]:
        """The counts marked on the vertical axis."""
        return sorted({0, self.total // 2, self.total}) if self.total else [0]


def _local_day(column) -> sa.ColumnElement:
    """The calendar day, in the agency's time zone, of a stored UTC moment."""
    if db.engine.dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone(clock.tz().key, column))
    offset = clock.now().utcoffset()  # Indonesia keeps no daylight saving time
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return sa.func.date(column, f"{minutes:+d} minutes")


# What the completion chart has read so far, per cycle. Audit ids come from a sequence, taken when
# a row is written, and on PostgreSQL transactions commit in any order: a row may become visible
# after a row with a higher id was read. So each worker keeps the counts of the *settled* rows only,
# those up to an id below which no row can appear any more, and reads the rows since again on every
# view (the last moments' few). An id is settled
# - on PostgreSQL, once every transaction that was running when a view saw it as the newest has
#   ended: the oldest running transaction (`pg_snapshot_xmin`) is past that view's `xmax`. Any
#   transaction that took a lower id was running then, or it would have been visible;
# - or once its row was written SETTLE_AFTER ago (request transactions end within seconds): this
#   settles most of the history at a worker's first view of the cycle, which reads it all in one
#   set-based query;
# - on SQLite at once: one writer at a time, so ids are committed in order.
SETTLE_AFTER = timedelta(minutes=5)
_reached: dict[tuple, "_Reached"] = {}
_reached_lock = threading.Lock()


def forget_reached() -> None:
    """Drop what this process keeps of every completion chart: for a database emptied and filled
    again under the same URL (the tests), whose rows could repeat the old ones id for id."""
    with _reached_lock:
        _reached.clear()


@dataclass
class _Reached:
    """Evaluations newly past each step, per local day, up to the settled audit row `settled_id`;
    the views' newest ids still waiting to settle, each with the `xmax` of its view; and the newest
    row at the last view with its moment and object (`checked`, `mark`), to recognise the database."""

    settled_id: int
    counts: dict[tuple[str, date], int]
    waiting: tuple[tuple[int, int], ...]
    checked: int
    mark: tuple


@functools.cache
def _probe_statement(actions: tuple[str, ...], dialect: str) -> sa.Select:
    """One statement per view: the newest audit row of these actions (one index seek per action)
    with its moment and object, those of the row `:checked` (the newest at the view before: a
    different database, as in tests, never matches them), the newest row of these actions after
    `:settled_id` written by `:cutoff`, and on PostgreSQL the statement's snapshot bounds (see
    `_reached`). Built once per process for each set of steps (a cycle's phases so far)."""
    settled_id = sa.bindparam("settled_id")
    cutoff = sa.bindparam("cutoff", type_=UTCDateTime())

    def newest(*conditions) -> sa.ScalarSelect:  # per action, each on ix_audit_event_action
        per_action = sa.union_all(
            *(
                sa.select(sa.func.max(AuditEvent.id).label("id")).where(AuditEvent.action == a, *conditions)
                for a in actions
            )
        ).subquery()
        return sa.select(sa.func.max(per_action.c.id)).scalar_subquery()

    def at(row_id, column) -> sa.ScalarSelect:
        return sa.select(column).where(AuditEvent.id == row_id).scalar_subquery()

    newest_id = newest()
    checked = sa.bindparam("checked")
    columns = [
        newest_id.label("newest"),
        at(newest_id, AuditEvent.occurred_at).label("newest_at"),
        at(newest_id, AuditEvent.object_id).label("newest_object"),
        at(checked, AuditEvent.occurred_at).label("checked_at"),
        at(checked, AuditEvent.object_id).label("checked_object"),
        newest(AuditEvent.id > settled_id, AuditEvent.occurred_at <= cutoff).label("written_before"),
    ]
    if dialect == "postgresql":
        snapshot = sa.func.pg_current_snapshot()
        for bound in ("xmin", "xmax"):
            xid = getattr(sa.func, f"pg_snapshot_{bound}")(snapshot)  # an xid8, through text
            columns.append(sa.cast(sa.cast(xid, sa.Text), sa.BigInteger).label(bound))
    return sa.select(*columns)


def _reached_between(
    cycle: Cycle, steps: list, after: int | None, upto: int, settled: int
) -> list[tuple[str, date, bool, int]]:
    """Per step, local day and whether settled (first row at most `settled`): the cycle's
    evaluations whose first transition into the step is an audit row in (`after`, `upto`];
    `after` None reads from the cycle's opening on."""
    actions = [action for _p, action, _s in steps]
    states = [str(state) for _p, _a, state in steps]
    conditions = [
        AuditEvent.action.in_(actions),  # ix_audit_event_action
        AuditEvent.id <= upto,
        AuditEvent.object_type == "evaluation",
        AuditEvent.to_state.in_(states),
    ]
    if after is None:
        since = sa.select(sa.func.min(AuditEvent.id)).where(AuditEvent.occurred_at >= cycle.opened_at)
        conditions.append(AuditEvent.id >= since.scalar_subquery())
        # All of the cycle's rows: its evaluation ids taken once as a set, not looked up per row.
        in_cycle = sa.select(sa.cast(Evaluation.id, sa.String)).where(Evaluation.cycle_id == cycle.id)
        conditions.append(AuditEvent.object_id.in_(in_cycle))
        query = sa.select(AuditEvent.to_state, AuditEvent.object_id, AuditEvent.occurred_at)
    else:
        # The few rows since `after`: each joined to its evaluation, and left out when the
        # evaluation had passed the step before (returned and sent again, say).
        earlier = aliased(AuditEvent)
        passed_before = sa.exists().where(
            earlier.object_type == "evaluation",
            earlier.object_id == AuditEvent.object_id,  # ix_audit_event_object
            earlier.to_state == AuditEvent.to_state,
            earlier.action.in_(actions),
            earlier.id <= after,
            earlier.occurred_at >= cycle.opened_at,
        )
        evaluation_id = sa.case(
            (AuditEvent.object_type == "evaluation", sa.cast(AuditEvent.object_id, sa.Integer))
        )
        conditions += [AuditEvent.id > after, Evaluation.cycle_id == cycle.id, ~passed_before]
        query = sa.select(AuditEvent.to_state, AuditEvent.object_id, AuditEvent.occurred_at).join(
            Evaluation, Evaluation.id == evaluation_id
        )
    rows = query.add_columns(AuditEvent.id).where(*conditions).subquery()
    first = (
        sa.select(
            rows.c.to_state,
            sa.func.min(rows.c.occurred_at).label("at"),
            sa.case((sa.func.min(rows.c.id) <= settled, 1), else_=0).label("settled"),
        )
        .group_by(rows.c.to_state, rows.c.object_id)
        .subquery()
    )
    day = _local_day(first.c.at).label("day")
    result = db.session.execute(
        sa.select(first.c.to_state, day, first.c.settled, sa.func.count()).group_by(
            first.c.to_state, day, first.c.settled
        )
    ).all()
    return [
        (state, when if isinstance(when, date) else date.fromisoformat(str(when)), bool(kept), n)
        for state, when, kept, n in result
    ]


def _reached_counts(cycle: Cycle, steps: list) -> dict[tuple[str, date], int]:
    """Evaluations newly past each step per local day: the settled counts this process keeps,
    brought forward to the newest settled row, plus the rows since, read again (see `_reached`).
    One probe, then at most one read of the rows since the kept point."""
    actions = tuple(action for _p, action, _s in steps)
    dialect = db.engine.dialect.name
    key = (str(db.engine.url), cycle.id, cycle.opened_at, tuple(str(s) for _p, _a, s in steps))
    with _reached_lock:
        known = _reached.get(key)
    params = {
        "settled_id": known.settled_id if known else 0,
        "checked": known.checked if known else 0,
        "cutoff": clock.utcnow() - SETTLE_AFTER,
    }
    probe = db.session.execute(_probe_statement(actions, dialect), params).one()
    written_before = probe.written_before
    if known is not None and (probe.checked_at, probe.checked_object) != known.mark:
        # another database under the same URL (tests): start again, settling nothing by age this
        # time (the probe looked after the other database's point), without a second statement
        known, written_before = None, None
    if probe.newest is None:
        return {}
    after = known.settled_id or None if known is not None else None  # None: from the opening on
    kept = dict(known.counts) if known is not None else {}
    if dialect == "postgresql":
        waiting = known.waiting if known is not None else ()
        ended = [newest for xmax, newest in waiting if probe.xmin >= xmax]
        settle = max([after or 0, written_before or 0, *ended])
        waiting = tuple((xmax, newest) for xmax, newest in waiting if newest > settle)
        if probe.newest > settle and not any(newest >= probe.newest for _x, newest in waiting):
            waiting = (*waiting[-20:], (probe.xmax, probe.newest))  # a few views' worth
    else:
        settle, waiting = probe.newest, ()
    counts = dict(kept)
    if after is None or after < probe.newest:
        for state, day, settled, n in _reached_between(cycle, steps, after, probe.newest, settle):
            counts[(state, day)] = counts.get((state, day), 0) + n
            if settled:
                kept[(state, day)] = kept.get((state, day), 0) + n
    known = _Reached(settle, kept, waiting, probe.newest, (probe.newest_at, probe.newest_object))
    with _reached_lock:
        _reached[key] = known
    return counts


def completion_over_time(cycle: Cycle, total: int) -> Timeline:
    """How many evaluations had reached each step by the end of each day: the first time the
    audit trail records the transition into it, per evaluation, counted per local day."""
    phases = set(phases_of(cycle))
    steps = [(phase, action, state) for phase, action, state in REACHED if phase in phases]
    series = [Series(str(phase), done_label(phase)) for phase, _a, _s in steps]
    if not steps or cycle.opened_at is None:
        return Timeline([], series, total)
    start = cycle.opened_at.astimezone(clock.tz()).date()
    by_state = {str(state): line for (_p, _a, state), line in zip(steps, series, strict=True)}
    counts = _reached_counts(cycle, steps)
    for (state, day), n in sorted(counts.items(), key=lambda item: item[0][1]):
        line = by_state[state]
        line.points.append((day, line.last + n))
    days = sorted({day for _state, day in counts})
    today = clock.now().date()
    end = max(days, default=start) if cycle.is_frozen else max(today, start)
    return Timeline(days, series, total, start, end)


@dataclass
class OverdueBar:
    """Late evaluations of one unit (or of the units beyond the chart's bars)."""

    name: str
    count: int
    unit_id: int | None = None

    def percent_of(self, largest: int) -> int:
        """The bar's length against the largest bar, in whole percent."""
        return 100 * self.count // largest if largest else 0


@dataclass
class OverdueByUnit:
    """The overdue chart: the units with most late evaluations, the rest together, the total."""

    bars: list[OverdueBar]
    units: int  # how many units have someone late
    total: int

    @property
    def largest(self) -> int:
        """The longest bar's count."""
        return max((bar.count for bar in self.bars), default=0)


def _late_states(cycle: Cycle, now: datetime) -> list[str]:
    """The states (as the counters hold them) whose evaluations are late in the cycle at `now` by
    their state alone: locked, or behind in the current phase past its deadline."""
    states = {str(s) for s in LOCKED}
    if cycle.state in OPEN_PHASES:
        for state in behind_states(cycle.state):
            deadline = cycle.deadline_of(OWN_PHASE.get(state, cycle.state))
            if deadline is not None and deadline < now:
                states.add(str(state))
    if E.TARGETS_DRAFT in states:
        states.add(NOT_STARTED)
    return sorted(states)


@functools.cache
def _late_corrected() -> sa.Select:
    """(cycle_id, unit_id, n) correcting the counts of `_late_states` for the few evaluations under a personal
    extension (the partial index ix_evaluation_extended), the only ones whose deadline is not their
    state's, judged by `late` itself; for the cycles `:cycle_ids` at `:now`. Built once per
    process: composing `late` costs more than running it."""
    now = sa.bindparam("now", type_=UTCDateTime())
    by_state = sa.or_(
        Evaluation.state.in_([str(s) for s in LOCKED]),
        sa.and_(behind(), phase_deadline(own_phase()) < now),
    )
    return (
        sa.select(
            Evaluation.cycle_id,
            Evaluation.unit_id,
            sa.func.sum(sa.case((late(now), 1), else_=0)) - sa.func.sum(sa.case((by_state, 1), else_=0)),
        )
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.cycle_id.in_(sa.bindparam("cycle_ids", expanding=True)),
            Evaluation.extended_until.is_not(None),
        )
        .group_by(Evaluation.cycle_id, Evaluation.unit_id)
    )


def late_per_unit(
    cycle: Cycle, now: datetime, counts: list[UnitCounts] | None = None
) -> dict[int, tuple[str, int]]:
    """Late evaluations per unit (tasks.late) as {unit id: (name, n)}: from the counters
    (`unit_counts`, unless given) by state, corrected for those under a personal extension."""
    if counts is None:
        counts = unit_counts(cycle)
    states = _late_states(cycle, now)
    per_unit = {unit.unit_id: [unit.name, sum(unit.states.get(s, 0) for s in states)] for unit in counts}
    params = {"cycle_ids": [cycle.id], "now": now}
    for _cycle_id, unit_id, n in db.session.execute(_late_corrected(), params):
        # A unit with an extension has evaluations, so it was counted; unless one moved to a new
        # unit between the two reads, when the next view counts it.
        if unit_id in per_unit:
            per_unit[unit_id][1] += int(n)
    return {unit_id: (name, n) for unit_id, (name, n) in per_unit.items() if n}


def overdue_by_unit(
    cycle: Cycle, now: datetime | None = None, limit: int = OVERDUE_UNITS, per_unit: dict | None = None
) -> OverdueByUnit:
    """Late evaluations per unit (`late_per_unit`, unless given), most first; beyond `limit` units
    summed as "lainnya". `total` is the number every page gives as overdue."""
    if per_unit is None:
        per_unit = late_per_unit(cycle, now or clock.utcnow())
    rows = sorted(
        ((unit_id, name, n) for unit_id, (name, n) in per_unit.items()),
        key=lambda row: (-row[2], row[1], row[0]),
    )
    bars = [OverdueBar(name, n, unit_id) for unit_id, name, n in rows[:limit]]
    rest = rows[limit:]
    if rest:
        bars.append(OverdueBar(_("%(n)d unit lainnya", n=len(rest)), sum(n for _i, _name, n in rest)))
    return OverdueByUnit(bars, len(rows), sum(n for _i, _name, n in rows))


CURVE_UNITS = 10  # units drawn against their curve on the dashboard; the distribution page has all


@dataclass
class CurveChart:
    """The units drawn against their kurva distribusi (those off it first), and how many there are.

    `units` are app/workflow/distribution.py's UnitDistribution, each with its band checks."""

    units: list
    total: int  # every unit with evaluations in the cycle (as the distribution page counts them)
    judged: int  # units with an org predikat and a predikat given
    off: int  # units off their curve (the distribution page's count)
    unset: int  # units with predikat given but no org predikat yet


def curve_chart(units: list, limit: int = CURVE_UNITS) -> CurveChart:
    """Pick the units to draw from the distribution the publication page shows (the same counts):
    the ones off their curve first, then the others, by name."""
    judged = [u for u in units if u.org_predikat is not None and u.rated]
    judged.sort(key=lambda u: (not u.problems, u.unit_name))
    unset = sum(1 for u in units if u.org_predikat is None and u.rated)
    off = sum(1 for u in units if u.problems)
    return CurveChart(judged[:limit], len(units), len(judged), off, unset)
