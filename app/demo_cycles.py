"""The demo agency's two annual cycles, played through the workflow services.

Last year's cycle runs from the SKPs to publication and closing, with one keberatan decided by
the camat; this year's stands in target setting with SKPs drafted, submitted, returned and
approved. What happens is data (app/demo.toml); when it happens is relative to today, so the
demo never goes stale. Each step is a real service call made with the clock set to its moment,
in the order of those moments, so the audit trail, comments and emails carry plausible dates;
the clock reads as before afterwards.
"""

import heapq
import itertools
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from app import clock
from app.domain import Comparator, CoreValue
from app.extensions import db
from app.models import Account, Cycle, Employee, Evaluation, Indicator, OrgUnit, Position, ProgressRule, Rhk
from app.workflow import cycles, evaluations, planning
from app.workflow.monitoring import dialog, progress

DATA = Path(__file__).with_name("demo.toml")
OPENS, CLOSES = time(8), time(16)  # office hours: when the people of the story act
STEP = timedelta(minutes=10)  # between one person's consecutive actions (write, then submit)


@cache
def story() -> dict:
    """The story as data (app/demo.toml)."""
    with DATA.open("rb") as file:
        return tomllib.load(file)


def play(people: dict[str, Employee], hr: Account) -> int:
    """Play both cycles unless the database has a cycle already; return how many were made.

    `people`: the demo's employees by person key; `hr`: the account that runs the cycles.
    """
    if db.session.scalar(sa.select(Cycle.id).limit(1)) is not None:
        return 0  # loaded before (maybe on another day), or someone else's cycles: leave them
    today = clock.now()
    with clock.kept():
        Timeline(people, hr).last_year(today.year - 1).this_year(today).run()
    return 2


# ---- when: office hours ---------------------------------------------------------------------


def _on(day: date, at: time) -> datetime:
    """That day at that time, local."""
    return datetime.combine(day, at, clock.tz())


def office_moments(start: datetime, end: datetime, count: int) -> list[datetime]:
    """`count` moments spread evenly over the office hours (weekdays 08:00–16:00) from start to end."""
    spans = []
    day = start.date()
    while day <= end.date():
        first, last = max(start, _on(day, OPENS)), min(end, _on(day, CLOSES))
        if day.weekday() < 5 and last > first:
            spans.append((first, last))
        day += timedelta(days=1)
    spans = spans or [(start, end)]  # no office hours in between: any hour will do
    total = sum((last - first for first, last in spans), timedelta())
    moments = []
    for k in range(count):
        offset = total * (k + 0.5) / count
        for first, last in spans:
            if offset < last - first:
                moments.append((first + offset).replace(second=0, microsecond=0))
                break
            offset -= last - first
        else:  # rounding put it past the end
            moments.append(spans[-1][1])
    return moments


def office_after(moment: datetime, hours: float) -> datetime:
    """The moment `hours` office hours after `moment`."""
    left = timedelta(hours=hours)
    while True:
        if moment.weekday() < 5 and moment < _on(moment.date(), CLOSES):
            moment = max(moment, _on(moment.date(), OPENS))
            room = _on(moment.date(), CLOSES) - moment
            if left <= room:
                return moment + left
            left -= room
        moment = _on(moment.date() + timedelta(days=1), OPENS)


def _weekday(day: date, direction: int) -> date:
    """The day itself, or the nearest weekday before (-1) or after (+1) it."""
    while day.weekday() >= 5:
        day += timedelta(days=direction)
    return day


# ---- what: the story --------------------------------------------------------------------------


class Timeline:
    """The story's steps, each at its moment; `run()` plays them in time order.

    A step may add later steps (a submission schedules its approval), so they wait in a heap.
    """

    def __init__(self, people: dict[str, Employee], hr: Account):
        self.people = people
        self.key_of = {employee.id: key for key, employee in people.items()}
        self.hr = hr
        self.steps: list[tuple[datetime, int, Callable[[], object]]] = []
        self.order = itertools.count()  # steps at the same moment keep the order they were added in

    def at(self, moment: datetime, action: Callable[[], object]) -> None:
        """Do `action` at `moment`."""
        heapq.heappush(self.steps, (moment, next(self.order), action))

    def run(self) -> None:
        """Play every step with the clock at its moment."""
        # Nobody else writes while the demo loads, so what this session holds stays true across
        # its commits and need not be read again after each of the ~700; the phase changes write
        # in bulk SQL, so after those everything is read afresh. Ten times fewer queries.
        session = db.session()
        session.expire_on_commit = False
        try:
            while self.steps:
                moment, _order, action = heapq.heappop(self.steps)
                clock.travel_to(moment)
                action()
        finally:
            session.expire_on_commit = True

    # Steps are added before the cycles exist, so they find their evaluations when they run.

    def _evaluations(self, year: int) -> list[tuple[str, Evaluation]]:
        """The evaluations of the year's demo cycle with their person keys, in the agency's order."""
        rows = db.session.scalars(
            sa.select(Evaluation).join(Cycle).where(Cycle.name == _cycle_name(year))
        ).all()
        by_key = {self.key_of.get(evaluation.employee_id): evaluation for evaluation in rows}
        return [(key, by_key[key]) for key in self.people if key in by_key]

    def _cycle(self, year: int, start: datetime, deadlines: dict, window: int, decision: int) -> None:
        """HR creates the year's annual cycle over the kecamatan at `start`, and opens it."""

        def create():
            """HR fills in the cycle form."""
            scope = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == story()["scope"]))
            data = {
                "name": _cycle_name(year),
                "kind": "annual",
                "year": year,
                "period": None,
                "annual_cycle_id": None,
                "unit_ids": [scope.id],
                "appeal_window_days": window,
                "appeal_decision_days": decision,
                **deadlines,
            }
            cycles.save_cycle(None, data, self.hr)

        self.at(start, create)
        self.at(start + STEP, lambda: _bulk(cycles.open_cycle, year, self.hr))

    def _per_person(self, year: int, moments: Callable[[int], list[datetime]], plan) -> None:
        """Schedule `plan(key, evaluation, moment)` for each evaluation, once the cycle is open."""
        # The moments depend on how many of the people the cycle covers: those with an active rater.
        count = sum(
            1
            for employee in self.people.values()
            if employee.active and employee.supervisor is not None and employee.supervisor.active
        )
        for index, moment in enumerate(moments(count)):

            def act(index=index, moment=moment):
                """The index-th person's turn."""
                rows = self._evaluations(year)
                if index < len(rows):
                    plan(*rows[index], moment)

            self.at(moment, act)

    def last_year(self, year: int) -> "Timeline":
        """Last year's cycle, from opening to closing."""
        data = story()["previous"]

        def on(text: str) -> datetime:
            """That month-day and time of the year, moved back to Friday when it is a weekend."""
            moment = datetime.strptime(f"{year}-{text}", "%Y-%m-%d %H:%M")
            return _on(_weekday(moment.date(), -1), moment.time())

        self._cycle(
            year,
            on(data["created"]),
            {
                "target_deadline": on(data["target_deadline"]),
                "assessment_deadline": on(data["assessment_deadline"]),
                "review_deadline": on(data["review_deadline"]),
                "appeal_deadline": on(data["appeal_deadline"]),
            },
            data["appeal_window_days"],
            data["appeal_decision_days"],
        )

        def targets(key, evaluation, moment):
            """The SKP written and submitted; the rater approves it later that day or the next."""
            self._write(key, evaluation, moment, submit=True)
            self.at(
                office_after(moment, 6), lambda: evaluations.approve_targets(evaluation, _rater(evaluation))
            )

        def assessment(key, evaluation, moment):
            """Realisations as good as the rating the person will get; then submitted."""
            actor = self.people[key].account
            factor = Decimal(str(data["attainment"][_ratings(key)[0]]))
            for indicator in evaluation.indicators:
                value = _realised(indicator, factor)
                evaluations.save_realisation(
                    evaluation, actor, indicator, str(value), data["realisation_note"]
                )
            self.at(moment + STEP, lambda: evaluations.submit_assessment(evaluation, actor))

        def review(key, evaluation, moment):
            """The rater's review; the keberatan follows it where the story has one."""
            evaluations.review(evaluation, _rater(evaluation), _review_data(evaluation, _ratings(key)))
            if key == data["appeal"]["employee"]:
                self._appeal(evaluation, moment)

        def spread(first: str, last: str) -> Callable[[int], list[datetime]]:
            """Moments over the office hours between two dates of the year."""
            return lambda count: office_moments(on(first), on(last), count)

        self._per_person(year, spread(*data["targets"]), targets)
        self._monitoring(year, on)
        self.at(on(data["advanced_to_assessment"]), lambda: _bulk(cycles.advance, year, self.hr))
        self._per_person(year, spread(*data["realisations"]), assessment)
        self.at(on(data["advanced_to_review"]), lambda: _bulk(cycles.advance, year, self.hr))
        self._per_person(year, spread(*data["reviews"]), review)
        self.at(on(data["advanced_to_appeal"]), lambda: _bulk(cycles.advance, year, self.hr))

        def org_predikat():
            """HR records the units' predikat organisasi before publishing."""
            cycle = _find_cycle(year)
            for code, value in data["org_predikat"].items():
                unit = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == code))
                cycles.set_unit_predikat(cycle, self.hr, unit.id, value)

        self.at(on(data["unit_predikat"]), org_predikat)
        self.at(
            on(data["published"]),
            lambda: _bulk(cycles.publish, year, self.hr, data["publication_mode"]),
        )
        self.at(on(data["closed"]), lambda: _bulk(cycles.close, year, self.hr))
        return self

    def _monitoring(self, year: int, on: Callable[[str], datetime]) -> None:
        """Last year's progress logs, verified by the raters, and the raters' dialog records."""
        data = story()["previous"]["monitoring"]

        def evaluation_of(key: str) -> Evaluation:
            return dict(self._evaluations(year))[key]

        for key in data["log"]:
            factor = Decimal(str(story()["previous"]["attainment"][_ratings(key)[0]]))
            count = len(data["months"])
            for index, month in enumerate(data["months"]):
                moment = on(f"{month:02d}-{data['day']:02d} 14:00")

                def log(key=key, index=index, moment=moment, factor=factor, count=count):
                    """The month's entry on the first indicator; the rater verifies it later."""
                    evaluation = evaluation_of(key)
                    indicator = evaluation.indicators[0]
                    value = _logged(indicator, factor, index, count)
                    employee = self.people[key].account
                    entry = progress.add_entry(
                        evaluation, employee, indicator, moment.date(), str(value), data["note"]
                    )
                    rater = _rater(evaluation)
                    self.at(
                        office_after(moment, data["verified_after_hours"]),
                        lambda: progress.verify_entry(evaluation, rater, entry),
                    )

                self.at(moment, log)
        for plan in data["records"]:
            held = on(plan["held"])

            def record(plan=plan, held=held):
                """The rater's record; the employee confirms it and does the follow-up."""
                evaluation = evaluation_of(plan["employee"])
                action, due, owner = plan["follow_up"]
                due_on = on(f"{due} 16:00").date()
                added = dialog.add_record(
                    evaluation,
                    _rater(evaluation),
                    plan["kind"],
                    held.date(),
                    plan["notes"],
                    [dialog.FollowUpInput(action, due_on, owner)],
                )
                employee = self.people[plan["employee"]].account
                confirmed = office_after(held, 8)
                self.at(confirmed, lambda: dialog.acknowledge(added, employee))
                self.at(
                    office_after(confirmed, 16),
                    lambda: dialog.complete_follow_up(added.follow_ups[0], employee, "Sudah dilaksanakan."),
                )

            self.at(held, record)

    def _appeal(self, evaluation: Evaluation, reviewed: datetime) -> None:
        """The keberatan against this review: filed, explained on request, decided by the handler."""
        data = story()["previous"]["appeal"]
        employee = evaluation.employee.account
        handler = evaluation.appeal_handler.account
        filed = office_after(reviewed, data["filed_after_hours"])
        asked = office_after(filed, data["question_after_hours"])
        answered = office_after(asked, data["answer_after_hours"])
        decided = office_after(answered, data["decided_after_hours"])
        self.at(filed, lambda: evaluations.file_appeal(evaluation, employee, data["reasons"]))
        self.at(asked, lambda: evaluations.appeal_comment(evaluation, handler, data["question"], "rater"))
        self.at(answered, lambda: evaluations.appeal_comment(evaluation, _rater(evaluation), data["answer"]))
        decision = {
            "results_rating": data["results_rating"],
            "behaviour_rating": data["behaviour_rating"],
            "reasons": data["decision"],
        }
        self.at(decided, lambda: evaluations.decide_appeal(evaluation, handler, decision))

    def this_year(self, today: datetime) -> "Timeline":
        """This year's cycle: opened some days ago, SKPs in every state by now."""
        data = story()["current"]
        year = today.year
        opened = _on(_weekday((today - timedelta(days=data["opened_days_ago"])).date(), -1), OPENS)
        hour, minute = map(int, data["target_deadline_time"].split(":"))
        target = _on(
            _weekday((today + timedelta(days=data["target_deadline_days_ahead"])).date(), +1),
            time(hour, minute),
        )
        gap = timedelta(days=data["days_between_deadlines"])
        year_end = datetime.strptime(f"{year}-{data['assessment_deadline']}", "%Y-%m-%d %H:%M")
        assessment = max(year_end.replace(tzinfo=clock.tz()), target + gap)
        deadlines = {
            "target_deadline": target,
            "assessment_deadline": assessment,
            "review_deadline": assessment + gap,
            "appeal_deadline": assessment + 2 * gap,
        }
        self._cycle(year, opened, deadlines, data["appeal_window_days"], data["appeal_decision_days"])
        state_of = {key: state for state, keys in data["skp"].items() for key in keys}
        # People write in the first part of the week; their raters answer later, always before now.
        writing_ends = opened + (today - opened) * 0.6
        latest = today - STEP

        def skp(key, evaluation, moment):
            """As far as the person has got with the SKP, and the rater's answer to it."""
            state = state_of.get(key)
            if state is None:
                return  # not started yet
            self._write(key, evaluation, moment, submit=state != "drafted", first_only=state == "drafted")
            answered = min(office_after(moment, 6), latest)
            rater = _rater(evaluation)
            if state == "approved":
                self.at(answered, lambda: evaluations.approve_targets(evaluation, rater))
            elif state == "returned":
                comment = data["return_comments"][key]
                self.at(answered, lambda: evaluations.return_targets(evaluation, rater, comment))

        self._per_person(year, lambda count: office_moments(opened + 2 * STEP, writing_ends, count), skp)
        self.at(min(writing_ends + STEP, latest), lambda: self._templates(year))
        return self

    def _templates(self, year: int) -> None:
        """The RHK templates of the story, published as the templates page does."""
        for plan in story().get("templates", []):
            publisher = self.people[plan["publisher"]]
            parent = db.session.scalar(
                sa.select(Rhk.id)
                .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
                .join(Cycle, Cycle.id == Evaluation.cycle_id)
                .where(
                    Cycle.name == _cycle_name(year),
                    Evaluation.employee_id == publisher.id,
                    Rhk.text == plan["parent"],
                )
            )
            position = db.session.scalar(sa.select(Position.id).where(Position.name == plan["position"]))
            rows = [
                {
                    "aspect": aspect,
                    "text": text,
                    "comparator": comparator,
                    "target": str(target),
                    "unit": unit,
                    "progress_rule": rule,
                }
                for aspect, text, comparator, target, unit, rule in plan["indicators"]
            ]
            data = {"position_id": position, "kind": "main", "text": plan["text"], "parent_rhk_id": parent}
            planning.publish_template(publisher.account, {**data, "indicators": rows})

    def _write(self, key: str, evaluation: Evaluation, moment: datetime, *, submit: bool, first_only=False):
        """The employee writes the SKP of their position (only its first RHK: a draft), maybe submits."""
        employee = self.people[key]
        actor = employee.account
        plans = story()["skp"][employee.position.name]
        for plan in plans[:1] if first_only else plans:
            rhk = evaluations.save_rhk(
                evaluation, actor, {"kind": plan.get("kind", "main"), "text": plan["text"]}
            )
            for aspect, text, comparator, target, unit in plan["indicators"]:
                low, high = target if comparator == Comparator.RANGE else (target, None)
                indicator = {
                    "aspect": aspect,
                    "text": text,
                    "comparator": comparator,
                    "target": str(low),
                    "target_max": None if high is None else str(high),
                    "unit": unit,
                }
                evaluations.save_indicator(evaluation, actor, rhk, indicator)
        if submit:
            self.at(moment + STEP, lambda: evaluations.submit_targets(evaluation, actor))


def _cycle_name(year: int) -> str:
    """The name of the year's demo cycle."""
    return story()["cycle_name"].format(year=year)


def _find_cycle(year: int) -> Cycle:
    """The year's demo cycle."""
    return db.session.scalars(sa.select(Cycle).where(Cycle.name == _cycle_name(year))).one()


def _bulk(service: Callable, year: int, *args) -> None:
    """A phase change of the year's cycle; its bulk SQL changed rows this session holds."""
    service(_find_cycle(year), *args)
    db.session.expire_all()


def _rater(evaluation: Evaluation) -> Account:
    """The account of the evaluation's rater."""
    return evaluation.rater.account


def _ratings(key: str) -> tuple[str, str]:
    """The person's (results, behaviour) rating last year."""
    return tuple(story()["previous"]["ratings"].get(key, ("meets", "meets")))


def _realised(indicator: Indicator, factor: Decimal) -> Decimal:
    """A realisation that beats (factor > 1), meets or misses (factor < 1) the target; a
    percentage stays within 100."""
    target = indicator.target
    if indicator.comparator is Comparator.RANGE:
        value = (target + indicator.target_max) / 2 if factor >= 1 else target * factor
    elif indicator.comparator is Comparator.AT_MOST:
        value = target * (2 - factor)
    else:
        value = target * factor
    if indicator.unit == "%":
        value = min(value, Decimal(100))
    whole = target == target.to_integral_value()
    return value.quantize(Decimal(1) if whole else Decimal("0.01"), ROUND_HALF_UP)


def _logged(indicator: Indicator, factor: Decimal, index: int, count: int) -> Decimal:
    """The index-th monthly entry of `count` on the way to the realisation: a month's share of a
    counted target, or a level a little further from it the earlier the month."""
    final = _realised(indicator, factor)
    if indicator.rule is ProgressRule.SUM:
        return (final / count).quantize(Decimal("0.01"), ROUND_HALF_UP)
    step = Decimal("0.02") * (count - 1 - index)
    value = final * (1 + step) if indicator.comparator is Comparator.AT_MOST else final * (1 - step)
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _review_data(evaluation: Evaluation, ratings: tuple[str, str]) -> dict:
    """The rater's review: feedback per indicator and BerAKHLAK value as the ratings call for."""
    data = story()["previous"]
    results, behaviour = ratings
    return {
        "results_rating": results,
        "behaviour_rating": behaviour,
        "summary": data["summary"][results],
        "indicator_feedback": {i.id: data["indicator_feedback"][results] for i in evaluation.indicators},
        "behaviour_feedback": {
            value.value: data["behaviour_feedback"][behaviour].format(value=value.label)
            for value in CoreValue
        },
    }
