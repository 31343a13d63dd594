"""Random sequences of service calls against a model of what each must do (hypothesis, stateful).

The model below is written from DESIGN.md and DOMAIN.md, not from the code: for every action
it predicts whether the service accepts or refuses it, and what the state of each evaluation
is afterwards. After every step the database must equal the model, every state change must
have exactly one audit event, and a content edit on a locked evaluation or in a published or
closed cycle must be refused. HR may move the rater or appeal handler of an evaluation (a Plt.):
each evaluation has exactly one current rater and handler, only they can act, every move is
audited, and nothing moves once the cycle is published. The employee logs progress against
her indicators once her SKP is approved and until publication; she edits an entry until her
rater verifies it, after which it never changes; every entry's change is audited once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from app import clock
from app.domain import Aspect, Comparator
from app.extensions import db as _db
from app.models import (
    Account,
    AuditEvent,
    Cycle,
    Employee,
    Evaluation,
    FeedbackRecord,
    Indicator,
    OrgUnit,
    ProgressEntry,
    Reassignment,
    Rhk,
    Role,
)
from app.services import Refused
from app.workflow import cycles, evaluations, reassign, set_aside
from app.workflow.monitoring import dialog, progress
from tests.test_domain import EXPECTED
from tests.workflow_helpers import START, cycle_data

# the states, spelt out (the model does not borrow the code's enums)
TARGETS_DRAFT, TARGETS_SUBMITTED, TARGETS_APPROVED, TARGETS_LOCKED = (
    "targets_draft",
    "targets_submitted",
    "targets_approved",
    "targets_locked",
)
ASSESSMENT_DRAFT, ASSESSMENT_SUBMITTED, ASSESSMENT_LOCKED = (
    "assessment_draft",
    "assessment_submitted",
    "assessment_locked",
)
REVIEWED, APPEALED, DECIDED, FINAL, PUBLISHED = "reviewed", "appealed", "decided", "final", "published"
WITHDRAWN, NOT_RATED = "withdrawn", "not_rated"  # HR's decisions for those who get no result
# no result yet: HR may mark these "tidak dinilai" once the review phase runs; they block publication
NO_RESULT_YET = (
    TARGETS_DRAFT,
    TARGETS_SUBMITTED,
    TARGETS_APPROVED,
    TARGETS_LOCKED,
    ASSESSMENT_DRAFT,
    ASSESSMENT_SUBMITTED,
    ASSESSMENT_LOCKED,
)
TARGET_SETTING, SELF_ASSESSMENT, SUPERVISOR_REVIEW, APPEAL = (
    "target_setting",
    "self_assessment",
    "supervisor_review",
    "appeal",
)
CYCLE_PUBLISHED, CLOSED = "published", "closed"
NEXT_PHASE = {TARGET_SETTING: SELF_ASSESSMENT, SELF_ASSESSMENT: SUPERVISOR_REVIEW, SUPERVISOR_REVIEW: APPEAL}
REVIEW_PHASES = (SELF_ASSESSMENT, SUPERVISOR_REVIEW, APPEAL)
TABLE = {(results, behaviour): expected for results, behaviour, expected, _label in EXPECTED}
# the phase whose step an employee still owes in these states (what a personal extension extends)
OWED = {
    TARGETS_DRAFT: TARGET_SETTING,
    TARGETS_LOCKED: TARGET_SETTING,
    ASSESSMENT_DRAFT: SELF_ASSESSMENT,
    ASSESSMENT_LOCKED: SELF_ASSESSMENT,
}
RATINGS = st.sampled_from(["above", "meets", "below"])
WHO = st.integers(min_value=0, max_value=2)
OFFICIALS = ("head", "camat", "plt", "sekcam")  # who may be made rater or appeal handler
OFFICIAL = st.sampled_from(OFFICIALS)
APPEAL_WINDOW = timedelta(days=14)
# the progress log is open once the SKP is approved, until the result is published
LOG_OPEN = (
    TARGETS_APPROVED,
    ASSESSMENT_DRAFT,
    ASSESSMENT_SUBMITTED,
    ASSESSMENT_LOCKED,
    REVIEWED,
    APPEALED,
    DECIDED,
    FINAL,
)
YEAR_END = date(2027, 12, 31)


@dataclass
class Expected:
    """What the model knows of one evaluation."""

    id: int
    employee: int  # account id
    state: str = TARGETS_DRAFT
    targets: bool = False  # an RHK utama with an indicator
    realised: bool = False  # every indicator has its realisation
    extended_phase: str | None = None
    extended_until: datetime | None = None
    appeal_until: datetime | None = None
    predikat: str | None = None
    changes: int = 1  # state changes so far, creation included
    rater: str = "head"  # who holds each role now (names of OFFICIALS)
    handler: str = "camat"
    moves: int = 0  # reassignments so far (each audited)
    left: str | None = None  # the state a withdrawal or a "tidak dinilai" left
    # the progress log: entry id -> [value, verified, audited changes]
    log: dict = field(default_factory=dict)
    # dialog records: record id -> [author (an official's name or "employee"), notes, acknowledged, audits]
    records: dict = field(default_factory=dict)


# what the services write; the agency itself (units, people, accounts) is built once per test
WORKFLOW_TABLES = {
    "audit_event",
    "follow_up",
    "feedback_attachment",
    "feedback_record",
    "progress_revision",
    "progress_evidence",
    "progress_entry",
    "outbox_message",
    "reassignment",
    "appeal",
    "evidence",
    "comment",
    "behaviour_note",
    "indicator",
    "rhk",
    "evaluation",
    "unit_predikat",
    "cycle_unit",
    "cycle",
}


def reset_workflow() -> None:
    """Empty every table the services write to: each example starts from the same agency."""
    _db.session.rollback()
    for table in reversed(_db.metadata.sorted_tables):
        if table.name in WORKFLOW_TABLES:
            _db.session.execute(table.delete())
    _db.session.commit()


def build_agency(make) -> dict:
    """Three nurses, their head (the rater), the camat (appeal handler) and HR; account ids."""
    kecamatan = make.unit("Kecamatan Rakumpit")
    puskesmas = make.unit("Puskesmas Rakumpit", parent=kecamatan)
    camat = make.employee("Camat", unit=kecamatan)
    head = make.employee("Kepala Puskesmas", supervisor=camat, unit=kecamatan)
    nurses = [make.employee(f"Perawat {n}", supervisor=head, unit=puskesmas) for n in range(3)]
    hr = make.employee("Petugas HR", roles={Role.EMPLOYEE, Role.HR}, unit=kecamatan)
    plt = make.employee("Plt. Kepala Puskesmas", supervisor=camat, unit=kecamatan)
    sekcam = make.employee("Sekretaris Camat", supervisor=camat, unit=kecamatan)
    return {
        "unit": puskesmas.id,
        "head": head.account.id,
        "camat": camat.account.id,
        "hr": hr.account.id,
        "officials": {"head": head.id, "camat": camat.id, "plt": plt.id, "sekcam": sekcam.id},
        "nurses": [(nurse.id, nurse.account.id) for nurse in nurses],
    }


class EvaluationYear(RuleBasedStateMachine):
    """One annual cycle of a puskesmas, driven by random actions of its people and of HR."""

    agency: dict = {}  # set by the test before the run

    def __init__(self):
        super().__init__()
        reset_workflow()
        clock.travel_to(START)
        people = self.agency
        self.hr = people["hr"]
        self.officials = people["officials"]
        self.deadlines = {
            phase: START + timedelta(days=days)
            for phase, days in [
                (TARGET_SETTING, 25),
                (SELF_ASSESSMENT, 60),
                (SUPERVISOR_REVIEW, 80),
                (APPEAL, 110),
            ]
        }
        unit = _db.session.get(OrgUnit, people["unit"])
        cycle = cycles.save_cycle(None, cycle_data([unit]), self.account(self.hr))
        cycles.open_cycle(cycle, self.account(self.hr))
        self.cycle_id, self.phase = cycle.id, TARGET_SETTING
        ids = dict(
            _db.session.execute(
                sa.select(Evaluation.employee_id, Evaluation.id).where(Evaluation.cycle_id == cycle.id)
            ).all()
        )
        self.evs = [Expected(id=ids[employee], employee=account) for employee, account in people["nurses"]]

    # ---- plumbing ---------------------------------------------------------------------------------

    @staticmethod
    def account(account_id: int) -> Account:
        return _db.session.get(Account, account_id)

    def official(self, name: str) -> Employee:
        return _db.session.get(Employee, self.officials[name])

    def rater(self, ev: Expected) -> Account:
        """The account of the evaluation's current rater, as the model knows it."""
        return self.official(ev.rater).account

    def handler(self, ev: Expected) -> Account:
        return self.official(ev.handler).account

    def evaluation(self, ev: Expected) -> Evaluation:
        return _db.session.get(Evaluation, ev.id)

    @property
    def cycle(self) -> Cycle:
        return _db.session.get(Cycle, self.cycle_id)

    @staticmethod
    def attempt(expected: bool, call, *args, **kwargs) -> bool:
        """Call a service; its acceptance must be what the model predicted."""
        try:
            call(*args, **kwargs)
        except Refused as refusal:
            assert not expected, f"{call.__name__} refused, the model expected it to pass: {refusal}"
            return False
        assert expected, f"{call.__name__} passed, the model expected a refusal"
        return True

    def move(self, ev: Expected, *states: str) -> None:
        ev.state = states[-1]
        ev.changes += len(states)

    # ---- the rules of the model ----------------------------------------------------------------------

    @property
    def frozen(self) -> bool:
        return self.phase in (CYCLE_PUBLISHED, CLOSED)

    def extended(self, ev: Expected, phase: str) -> bool:
        """A personal extension of `phase` that still runs."""
        return ev.extended_phase == phase and clock.utcnow() <= ev.extended_until

    def deadline(self, ev: Expected, phase: str) -> datetime:
        deadline = self.deadlines[phase]
        if ev.extended_phase == phase and ev.extended_until > deadline:
            return ev.extended_until
        return deadline

    def open_for(self, ev: Expected, phase: str) -> bool:
        """The employee may work on `phase` now: it runs (for everyone, or for them by an
        extension) and its deadline, personal or not, has not passed."""
        running = self.phase == phase or self.extended(ev, phase)
        return not self.frozen and running and clock.utcnow() <= self.deadline(ev, phase)

    def in_phases(self, ev: Expected, phases: tuple[str, ...]) -> bool:
        """A step of those phases may be taken now: the cycle is in one of them, or the employee
        has a running personal extension of one (so the rater can act on a late SKP too)."""
        return not self.frozen and (self.phase in phases or any(self.extended(ev, p) for p in phases))

    def pending(self) -> bool:
        """An undecided appeal, an appeal window still open, or an evaluation with neither a
        result nor HR's decision (withdrawn, "tidak dinilai") blocks publication."""
        now = clock.utcnow()
        return any(
            ev.state == APPEALED
            or (ev.state == REVIEWED and ev.appeal_until > now)
            or ev.state in NO_RESULT_YET
            for ev in self.evs
        )

    @initialize(
        reached=st.sampled_from([TARGET_SETTING, SELF_ASSESSMENT, SUPERVISOR_REVIEW, APPEAL]),
        diligence=st.lists(st.integers(min_value=0, max_value=3), min_size=3, max_size=3),
        results=RATINGS,
        behaviour=RATINGS,
        feedback=st.booleans(),
        then=st.sampled_from(["on time", "deadline passes", "deadline passes, one extended"]),
        acting=st.none() | st.sampled_from(["plt", "sekcam"]),
    )
    def a_head_start(self, reached, diligence, results, behaviour, feedback, then, acting):
        """Start somewhere in the year: in each phase up to `reached`, evaluation i takes
        diligence[i] natural steps before HR moves on. Then the deadline of the phase reached may
        pass (HR having extended the first one behind until a few days later): the others try
        their next step too late, and HR moves on. With `acting`, HR first hands the head's whole
        team to that official (a Plt.), who then does the head's part all year."""
        if acting:
            self.reassign_everything_rated_by(source="head", to=acting)
        while True:
            for step in range(max(diligence)):
                who = {i for i, n in enumerate(diligence) if step < n}
                self.next_step_of(who, results, behaviour, feedback=feedback)
            if self.phase == reached:
                break
            self.advance()
        deadline = self.deadlines[self.phase]
        if then == "on time" or deadline <= clock.utcnow():
            return
        extended = set()
        if then.endswith("extended"):
            behind = [i for i, ev in enumerate(self.evs) if ev.state in (TARGETS_DRAFT, ASSESSMENT_DRAFT)]
            extended = set(behind[:1])
            for i in extended:
                self.extend_one(i=i, days=(deadline - clock.utcnow()).days + 3)
        clock.travel_to(deadline + timedelta(minutes=1))
        self.next_step_of({0, 1, 2} - extended, results, behaviour, feedback=feedback)
        if self.phase in NEXT_PHASE:
            self.advance()

    # ---- employee ------------------------------------------------------------------------------------

    @rule(i=WHO)
    def write_targets(self, i):
        ev = self.evs[i]
        expected = ev.state == TARGETS_DRAFT and self.open_for(ev, TARGET_SETTING)
        evaluation, me = self.evaluation(ev), self.account(ev.employee)
        data = {"kind": "main", "text": "Waktu tunggu pasien turun"}
        if self.attempt(expected, evaluations.save_rhk, evaluation, me, data):
            rhk = _db.session.scalars(
                sa.select(Rhk).filter_by(evaluation_id=ev.id).order_by(Rhk.id.desc())
            ).first()
            indicator = {
                "aspect": Aspect.TIME,
                "text": "Waktu tunggu",
                "comparator": Comparator.AT_MOST,
                "target": "30",
                "unit": "menit",
            }
            self.attempt(True, evaluations.save_indicator, self.evaluation(ev), me, rhk, indicator)
            ev.targets = True

    @rule(i=WHO)
    def submit_targets(self, i):
        ev = self.evs[i]
        expected = ev.state == TARGETS_DRAFT and self.open_for(ev, TARGET_SETTING) and ev.targets
        if self.attempt(expected, evaluations.submit_targets, self.evaluation(ev), self.account(ev.employee)):
            self.move(ev, TARGETS_SUBMITTED)

    @rule(i=WHO, value=st.integers(min_value=0, max_value=200))
    def save_realisations(self, i, value):
        ev = self.evs[i]
        expected = ev.state == ASSESSMENT_DRAFT and self.open_for(ev, SELF_ASSESSMENT)
        evaluation, me = self.evaluation(ev), self.account(ev.employee)
        for indicator in evaluation.indicators:
            self.attempt(expected, evaluations.save_realisation, evaluation, me, indicator, str(value), None)
        if expected:
            ev.realised = True

    @rule(i=WHO)
    def submit_assessment(self, i):
        ev = self.evs[i]
        expected = ev.state == ASSESSMENT_DRAFT and self.open_for(ev, SELF_ASSESSMENT) and ev.realised
        if self.attempt(
            expected, evaluations.submit_assessment, self.evaluation(ev), self.account(ev.employee)
        ):
            self.move(ev, ASSESSMENT_SUBMITTED)

    @rule(i=WHO, short=st.booleans())
    def file_appeal(self, i, short):
        ev = self.evs[i]
        in_window = ev.appeal_until is not None and clock.utcnow() <= ev.appeal_until
        expected = ev.state == REVIEWED and self.in_phases(ev, REVIEW_PHASES) and in_window and not short
        reasons = "Tidak setuju." if short else "Semua target utama tercapai dengan bukti lengkap."
        if self.attempt(
            expected, evaluations.file_appeal, self.evaluation(ev), self.account(ev.employee), reasons
        ):
            self.move(ev, APPEALED)

    def log_open(self, ev: Expected) -> bool:
        return not self.frozen and ev.state in LOG_OPEN

    def first_indicator(self, ev: Expected) -> Indicator | None:
        return _db.session.scalars(
            sa.select(Indicator).join(Rhk).where(Rhk.evaluation_id == ev.id).order_by(Indicator.id)
        ).first()

    @staticmethod
    def today() -> date:
        """The local day, kept inside the SKP's year (the clock may run past it)."""
        return min(clock.now().date(), YEAR_END)

    @rule(i=WHO, value=st.integers(min_value=0, max_value=200))
    def log_progress(self, i, value):
        ev = self.evs[i]
        indicator = self.first_indicator(ev)
        if indicator is None:
            return
        me = self.account(ev.employee)
        before = set(_db.session.scalars(sa.select(ProgressEntry.id)))
        if self.attempt(
            self.log_open(ev),
            progress.add_entry,
            self.evaluation(ev),
            me,
            indicator,
            self.today(),
            str(value),
            None,
        ):
            [entry_id] = set(_db.session.scalars(sa.select(ProgressEntry.id))) - before
            ev.log[entry_id] = [value, False, 1]

    @rule(i=WHO, pick=st.integers(min_value=0, max_value=5), value=st.integers(min_value=0, max_value=200))
    def correct_progress(self, i, pick, value):
        ev = self.evs[i]
        if not ev.log:
            return
        entry_id = sorted(ev.log)[pick % len(ev.log)]
        known = ev.log[entry_id]
        entry = _db.session.get(ProgressEntry, entry_id)
        expected = self.log_open(ev) and not known[1] and value != known[0]
        if self.attempt(
            expected,
            progress.edit_entry,
            self.evaluation(ev),
            self.account(ev.employee),
            entry,
            entry.entry_date,
            str(value),
            None,
        ):
            known[0], known[2] = value, known[2] + 1

    @rule(i=WHO, pick=st.integers(min_value=0, max_value=5))
    def verify_progress(self, i, pick):
        ev = self.evs[i]
        if not ev.log:
            return
        entry_id = sorted(ev.log)[pick % len(ev.log)]
        known = ev.log[entry_id]
        entry = _db.session.get(ProgressEntry, entry_id)
        expected = self.log_open(ev) and not known[1]
        if self.attempt(expected, progress.verify_entry, self.evaluation(ev), self.rater(ev), entry):
            known[1], known[2] = True, known[2] + 1

    @rule(who=st.sets(WHO, min_size=1), value=st.integers(min_value=0, max_value=200), verify=st.booleans())
    def a_month_of_progress(self, who, value, verify):
        """Each chosen employee logs, corrects her oldest entry, and (perhaps) the rater verifies
        the newest: the log's steps together, so random runs meet them often."""
        for i in sorted(who):
            self.log_progress(i=i, value=value)
            self.correct_progress(i=i, pick=0, value=value + 1)
            if verify:
                self.verify_progress(i=i, pick=-1)

    # ---- dialog kinerja ---------------------------------------------------------------------------------

    def dialog_open(self, ev: Expected) -> bool:
        """Records are written and changed while the cycle runs and the evaluation counts."""
        return not self.frozen and ev.state not in (WITHDRAWN, NOT_RATED)

    @rule(i=WHO, by_employee=st.booleans())
    def record_dialogue(self, i, by_employee):
        """The rater records a dialog kinerja with a follow-up for the employee, or the employee
        writes a note."""
        ev = self.evs[i]
        day = self.today()
        if by_employee:
            writer, kind, rows = self.account(ev.employee), "note", []
        else:
            writer, kind = self.rater(ev), "dialog"
            rows = [dialog.FollowUpInput("Uji coba antrean daring", day + timedelta(days=5), "employee")]
        before = set(_db.session.scalars(sa.select(FeedbackRecord.id)))
        notes = f"Catatan {len(before)}"
        if self.attempt(
            self.dialog_open(ev), dialog.add_record, self.evaluation(ev), writer, kind, day, notes, rows
        ):
            [record_id] = set(_db.session.scalars(sa.select(FeedbackRecord.id))) - before
            ev.records[record_id] = ["employee" if by_employee else ev.rater, notes, False, 1]

    @rule(i=WHO, pick=st.integers(min_value=0, max_value=5))
    def change_record(self, i, pick):
        """The author changes a record: only until the employee acknowledged it, and only while
        they still hold the part they wrote it in."""
        ev = self.evs[i]
        if not ev.records:
            return
        record_id = sorted(ev.records)[pick % len(ev.records)]
        known = ev.records[record_id]
        author = self.account(ev.employee) if known[0] == "employee" else self.official(known[0]).account
        record = _db.session.get(FeedbackRecord, record_id)
        holds = known[0] in ("employee", ev.rater)
        expected = self.dialog_open(ev) and not known[2] and holds
        notes = known[1] + " (diperbaiki)"
        if self.attempt(
            expected, dialog.edit_record, record, author, record.kind.value, record.held_on, notes
        ):
            known[1], known[3] = notes, known[3] + 1

    @rule(i=WHO, pick=st.integers(min_value=0, max_value=5))
    def acknowledge_record(self, i, pick):
        ev = self.evs[i]
        if not ev.records:
            return
        record_id = sorted(ev.records)[pick % len(ev.records)]
        known = ev.records[record_id]
        expected = self.dialog_open(ev) and known[0] != "employee" and not known[2]
        record = _db.session.get(FeedbackRecord, record_id)
        if self.attempt(expected, dialog.acknowledge, record, self.account(ev.employee)):
            known[2], known[3] = True, known[3] + 1

    # ---- rater and appeal handler ------------------------------------------------------------------------

    @rule(i=WHO, approve=st.booleans())
    def decide_targets(self, i, approve):
        ev = self.evs[i]
        expected = ev.state == TARGETS_SUBMITTED and self.in_phases(ev, (TARGET_SETTING, SELF_ASSESSMENT))
        head, evaluation = self.rater(ev), self.evaluation(ev)
        if approve:
            if self.attempt(expected, evaluations.approve_targets, evaluation, head):
                # approved late, after target setting ended: the self-assessment opens at once
                late = self.phase != TARGET_SETTING
                self.move(ev, TARGETS_APPROVED, *([ASSESSMENT_DRAFT] if late else []))
        elif self.attempt(expected, evaluations.return_targets, evaluation, head, "Perjelas targetnya"):
            self.move(ev, TARGETS_DRAFT)

    @rule(i=WHO)
    def return_assessment(self, i):
        ev = self.evs[i]
        expected = ev.state == ASSESSMENT_SUBMITTED and self.in_phases(ev, REVIEW_PHASES)
        if self.attempt(
            expected,
            evaluations.return_assessment,
            self.evaluation(ev),
            self.rater(ev),
            "Lengkapi bukti",
        ):
            self.move(ev, ASSESSMENT_DRAFT)

    @rule(i=WHO, results=RATINGS, behaviour=RATINGS, feedback=st.booleans())
    def review(self, i, results, behaviour, feedback):
        ev = self.evs[i]
        below_without_feedback = "below" in (results, behaviour) and not feedback
        expected = (
            ev.state == ASSESSMENT_SUBMITTED
            and self.in_phases(ev, REVIEW_PHASES)
            and not below_without_feedback
        )
        data = {
            "results_rating": results,
            "behaviour_rating": behaviour,
            "summary": "Umpan balik tertulis untuk pegawai." if feedback else "",
        }
        if self.attempt(expected, evaluations.review, self.evaluation(ev), self.rater(ev), data):
            self.move(ev, REVIEWED)
            ev.predikat = TABLE[(results, behaviour)]
            ev.appeal_until = clock.end_of_day_after(clock.utcnow(), APPEAL_WINDOW.days)

    @rule(i=WHO, results=RATINGS, behaviour=RATINGS)
    def decide_appeal(self, i, results, behaviour):
        ev = self.evs[i]
        expected = ev.state == APPEALED and self.in_phases(ev, REVIEW_PHASES)
        data = {
            "results_rating": results,
            "behaviour_rating": behaviour,
            "reasons": "Setelah mendengar kedua pihak.",
        }
        if self.attempt(expected, evaluations.decide_appeal, self.evaluation(ev), self.handler(ev), data):
            self.move(ev, DECIDED)
            ev.predikat = TABLE[(results, behaviour)]

    # ---- HR and the clock --------------------------------------------------------------------------------

    @rule()
    def advance(self):
        expected = self.phase in NEXT_PHASE
        if not self.attempt(expected, cycles.advance, self.cycle, self.account(self.hr)):
            return
        source, self.phase = self.phase, NEXT_PHASE[self.phase]
        for ev in self.evs:
            # those behind are locked, except whoever HR gave a personal extension still running
            if source == TARGET_SETTING and ev.state == TARGETS_DRAFT:
                if not self.extended(ev, TARGET_SETTING):
                    self.move(ev, TARGETS_LOCKED)
            elif source == TARGET_SETTING and ev.state == TARGETS_APPROVED:
                self.move(ev, ASSESSMENT_DRAFT)
            elif source == SELF_ASSESSMENT and ev.state == ASSESSMENT_DRAFT:
                if not self.extended(ev, SELF_ASSESSMENT):
                    self.move(ev, ASSESSMENT_LOCKED)

    @rule(i=WHO, days=st.integers(min_value=1, max_value=30))
    def extend_one(self, i, days):
        ev = self.evs[i]
        until = clock.utcnow() + timedelta(days=days)
        expected = not self.frozen and ev.state in OWED
        if self.attempt(
            expected, cycles.extend_one, self.evaluation(ev), self.account(self.hr), until, "Sakit"
        ):
            ev.extended_phase, ev.extended_until = OWED[ev.state], until
            if ev.state == TARGETS_LOCKED:
                self.move(ev, TARGETS_DRAFT)
            elif ev.state == ASSESSMENT_LOCKED:
                self.move(ev, ASSESSMENT_DRAFT)

    @rule(i=WHO, reason=st.sampled_from(["mutasi", "pensiun", "tugas_belajar"]))
    def withdraw(self, i, reason):
        """HR withdraws one evaluation from the cycle (the employee left it)."""
        ev = self.evs[i]
        expected = not self.frozen and ev.state not in (WITHDRAWN, NOT_RATED)
        if self.attempt(expected, set_aside.withdraw, self.evaluation(ev), self.account(self.hr), reason):
            ev.left = ev.state
            self.move(ev, WITHDRAWN)

    @rule(i=WHO)
    def mark_not_rated(self, i):
        """HR marks one evaluation without a result "tidak dinilai", once the review phase runs."""
        ev = self.evs[i]
        expected = not self.frozen and self.phase in (SUPERVISOR_REVIEW, APPEAL) and ev.state in NO_RESULT_YET
        note = "Tidak dinilai sampai batas tahap penilaian."
        if self.attempt(expected, set_aside.mark_not_rated, self.evaluation(ev), self.account(self.hr), note):
            ev.left = ev.state
            self.move(ev, NOT_RATED)

    @rule()
    def mark_the_rest_not_rated(self):
        behind = [ev for ev in self.evs if ev.state in NO_RESULT_YET]
        expected = not self.frozen and self.phase in (SUPERVISOR_REVIEW, APPEAL) and bool(behind)
        note = "Tidak dinilai sampai batas tahap penilaian."
        if self.attempt(expected, set_aside.mark_rest_not_rated, self.cycle, self.account(self.hr), note):
            for ev in behind:
                ev.left = ev.state
                self.move(ev, NOT_RATED)

    @rule(i=WHO)
    def reinstate(self, i):
        """HR takes a withdrawal or a "tidak dinilai" back: the evaluation returns to the state it
        left, then goes through what the phase changes since did to the others."""
        ev = self.evs[i]
        expected = not self.frozen and ev.state in (WITHDRAWN, NOT_RATED)
        if not self.attempt(expected, set_aside.reinstate, self.evaluation(ev), self.account(self.hr)):
            return
        self.move(ev, ev.left)
        ev.left = None
        passed = [TARGET_SETTING, SELF_ASSESSMENT, SUPERVISOR_REVIEW, APPEAL]
        passed = passed[: passed.index(self.phase)]
        if TARGET_SETTING in passed:
            if ev.state == TARGETS_DRAFT and not self.extended(ev, TARGET_SETTING):
                self.move(ev, TARGETS_LOCKED)
            elif ev.state == TARGETS_APPROVED:
                self.move(ev, ASSESSMENT_DRAFT)
        if (
            SELF_ASSESSMENT in passed
            and ev.state == ASSESSMENT_DRAFT
            and not self.extended(ev, SELF_ASSESSMENT)
        ):
            self.move(ev, ASSESSMENT_LOCKED)

    @rule(i=WHO, rater=st.none() | OFFICIAL, handler=st.none() | OFFICIAL)
    def reassign_one(self, i, rater, handler):
        """HR gives one evaluation a new rater and/or appeal handler (a Plt., a mutasi)."""
        ev = self.evs[i]
        new_rater, new_handler = rater or ev.rater, handler or ev.handler
        changes = (rater is not None and rater != ev.rater) or (handler is not None and handler != ev.handler)
        expected = not self.frozen and changes and new_rater != new_handler
        evaluation = self.evaluation(ev)
        if self.attempt(
            expected,
            reassign.reassign_evaluations,
            [evaluation],
            self.account(self.hr),
            rater=self.official(rater) if rater else None,
            handler=self.official(handler) if handler else None,
            reason="Plt. selama pejabat cuti",
            until=None,
            versions={evaluation.id: evaluation.version},
        ):
            ev.moves += (new_rater != ev.rater) + (new_handler != ev.handler)
            ev.rater, ev.handler = new_rater, new_handler

    @rule(source=OFFICIAL, to=OFFICIAL)
    def reassign_everything_rated_by(self, source, to):
        """HR moves every evaluation `source` rates to `to` ("semua yang dinilai X → Y")."""
        movable = [  # withdrawn and "tidak dinilai" evaluations stay where they are
            ev
            for ev in self.evs
            if ev.rater == source and ev.handler != to and ev.state not in (WITHDRAWN, NOT_RATED)
        ]
        expected = not self.frozen and source != to and bool(movable)
        if self.attempt(
            expected,
            reassign.reassign_all,
            "rater",
            self.official(source),
            self.official(to),
            "Mutasi",
            None,
            self.account(self.hr),
        ):
            for ev in movable:
                ev.rater, ev.moves = to, ev.moves + 1

    @rule()
    def publish(self):
        expected = self.phase == APPEAL and not self.pending()
        if not self.attempt(expected, cycles.publish, self.cycle, self.account(self.hr), "names"):
            return
        self.phase = CYCLE_PUBLISHED
        for ev in self.evs:
            if ev.state in (REVIEWED, DECIDED):
                self.move(ev, FINAL, PUBLISHED)

    @rule()
    def close(self):
        if self.attempt(self.phase == CYCLE_PUBLISHED, cycles.close, self.cycle, self.account(self.hr)):
            self.phase = CLOSED

    @rule(days=st.integers(min_value=1, max_value=20))
    def time_passes(self, days):
        clock.advance(timedelta(days=days))

    @rule(after=st.booleans(), i=WHO)
    def time_reaches_a_deadline(self, after, i):
        """Just before or just after a deadline that matters now: the phase's, a personal
        extension's, or an appeal window's."""
        ev = self.evs[i]
        moments = [self.deadlines.get(self.phase), ev.extended_until, ev.appeal_until]
        later = [m for m in moments if m is not None and m > clock.utcnow()]
        if later:
            clock.travel_to(min(later) + (timedelta(minutes=1) if after else timedelta(0)))

    def next_step_of(
        self, who: set[int], results: str, behaviour: str, *, appeal: bool = True, feedback: bool = True
    ) -> bool:
        """Each of `who` takes the natural next step of their evaluation; False if none had one."""
        acted = False
        for i in sorted(who):
            ev = self.evs[i]
            acted = True
            if ev.state == TARGETS_DRAFT:
                (self.submit_targets if ev.targets else self.write_targets)(i=i)
            elif ev.state == TARGETS_SUBMITTED:
                self.decide_targets(i=i, approve=True)
            elif ev.state == ASSESSMENT_DRAFT:
                if ev.realised:
                    self.submit_assessment(i=i)
                else:
                    self.save_realisations(i=i, value=25)
            elif ev.state == ASSESSMENT_SUBMITTED:
                self.review(i=i, results=results, behaviour=behaviour, feedback=feedback)
            elif ev.state == REVIEWED and appeal:
                self.file_appeal(i=i, short=False)
            elif ev.state == APPEALED:
                self.decide_appeal(i=i, results=results, behaviour=behaviour)
            elif ev.state in (TARGETS_LOCKED, ASSESSMENT_LOCKED):
                self.extend_one(i=i, days=10)
            else:
                acted = False
        return acted

    @rule(
        who=st.sets(WHO, min_size=1),
        results=RATINGS,
        behaviour=RATINGS,
        appeal=st.booleans(),
        feedback=st.booleans(),
    )
    def the_next_steps(self, who, results, behaviour, appeal, feedback):
        """Each chosen evaluation takes its natural next step (so that random runs reach the later
        phases); when none of them has one, HR moves the cycle on."""
        if self.next_step_of(who, results, behaviour, appeal=appeal, feedback=feedback):
            return
        if self.phase == APPEAL:
            clock.advance(APPEAL_WINDOW / 2)  # some windows close meanwhile, perhaps not all
            self.publish()
        elif self.phase == CYCLE_PUBLISHED:
            self.close()
        elif self.phase != CLOSED:
            self.advance()

    # ---- invariants ------------------------------------------------------------------------------------

    @invariant()
    def the_database_is_the_model(self):
        _db.session.expire_all()
        rows = {
            row.id: row
            for row in _db.session.execute(
                sa.select(Evaluation.id, Evaluation.state, Evaluation.predikat).where(
                    Evaluation.cycle_id == self.cycle_id
                )
            )
        }
        assert self.cycle.state == self.phase
        assert {i: (r.state, r.predikat and str(r.predikat)) for i, r in rows.items()} == {
            ev.id: (ev.state, ev.predikat) for ev in self.evs
        }

    @invariant()
    def one_audit_event_per_state_change(self):
        counts = dict(
            _db.session.execute(
                sa.select(AuditEvent.object_id, sa.func.count())
                .where(
                    AuditEvent.object_type == "evaluation",
                    AuditEvent.action.like("evaluation.%"),
                    AuditEvent.to_state.is_not(None),
                )
                .group_by(AuditEvent.object_id)
            ).all()
        )
        assert counts == {str(ev.id): ev.changes for ev in self.evs}

    @invariant()
    def the_progress_log_is_the_model(self):
        """Entries exist only where the model accepted them (after approval, before publication),
        with the values it expects (a verified one never changed), each change audited once."""
        rows = {
            row.id: [int(row.value), row.verified_at is not None]
            for row in _db.session.execute(
                sa.select(ProgressEntry.id, ProgressEntry.value, ProgressEntry.verified_at)
            )
        }
        known = {entry_id: k for ev in self.evs for entry_id, k in ev.log.items()}
        assert rows == {entry_id: k[:2] for entry_id, k in known.items()}
        audited = dict(
            _db.session.execute(
                sa.select(AuditEvent.object_id, sa.func.count())
                .where(AuditEvent.object_type == "progress_entry")
                .group_by(AuditEvent.object_id)
            ).all()
        )
        assert audited == {str(entry_id): k[2] for entry_id, k in known.items()}

    @invariant()
    def nobody_else_logs_and_nothing_is_logged_after_publication(self):
        """One probe per step: a colleague writes into someone's log, or, once the cycle is
        published, the employee herself; both are refused."""
        ev = self.evs[0]
        indicator = self.first_indicator(ev)
        if indicator is None:
            return
        writer = self.account(ev.employee) if self.frozen else self.account(self.evs[1].employee)
        self.attempt(
            False, progress.add_entry, self.evaluation(ev), writer, indicator, self.today(), "1", None
        )

    @invariant()
    def the_dialog_records_are_the_model(self):
        """Records exist only where the model accepted them, with the text it expects (an
        acknowledged one never changed), each write audited once on the record."""
        rows = {
            row.id: [row.notes, row.acknowledged_at is not None]
            for row in _db.session.execute(
                sa.select(FeedbackRecord.id, FeedbackRecord.notes, FeedbackRecord.acknowledged_at)
            )
        }
        known = {record_id: k for ev in self.evs for record_id, k in ev.records.items()}
        assert rows == {record_id: k[1:3] for record_id, k in known.items()}
        audited = dict(
            _db.session.execute(
                sa.select(AuditEvent.object_id, sa.func.count())
                .where(AuditEvent.object_type == "feedback_record")
                .group_by(AuditEvent.object_id)
            ).all()
        )
        assert audited == {str(record_id): k[3] for record_id, k in known.items()}

    @invariant()
    def a_colleague_never_writes_a_record(self):
        """One probe per step: a colleague writes a note on someone's evaluation, or, once the
        cycle is published, the rater records a dialogue; both are refused."""
        ev = self.evs[0]
        writer, kind = (
            (self.rater(ev), "dialog") if self.frozen else (self.account(self.evs[1].employee), "note")
        )
        self.attempt(False, dialog.add_record, self.evaluation(ev), writer, kind, self.today(), "Catatan")

    @invariant()
    def exactly_one_current_rater_and_handler(self):
        """The evaluation's officials are the model's; at most one running reassignment per role,
        and it names the official who holds the role now; every move has its audit event."""
        rows = {
            row.id: (row.rater_id, row.appeal_handler_id)
            for row in _db.session.execute(
                sa.select(Evaluation.id, Evaluation.rater_id, Evaluation.appeal_handler_id).where(
                    Evaluation.cycle_id == self.cycle_id
                )
            )
        }
        assert rows == {ev.id: (self.officials[ev.rater], self.officials[ev.handler]) for ev in self.evs}
        running = _db.session.execute(
            sa.select(Reassignment.evaluation_id, Reassignment.role, Reassignment.to_id).where(
                Reassignment.ended_at.is_(None)
            )
        ).all()
        assert len({(e, role) for e, role, _to in running}) == len(running)
        for evaluation_id, role, to_id in running:
            assert to_id == rows[evaluation_id][0 if role == "rater" else 1]
        moves = dict(
            _db.session.execute(
                sa.select(AuditEvent.object_id, sa.func.count())
                .where(AuditEvent.action == "evaluation.reassigned")
                .group_by(AuditEvent.object_id)
            ).all()
        )
        assert moves == {str(ev.id): ev.moves for ev in self.evs if ev.moves}

    @invariant()
    def only_the_current_officials_can_act(self):
        """One probe per step: an official who does not hold the role tries it, and cannot."""
        for ev in self.evs:
            if ev.state == ASSESSMENT_SUBMITTED:
                stranger = next(name for name in OFFICIALS if name != ev.rater)
                self.attempt(
                    False,
                    evaluations.return_assessment,
                    self.evaluation(ev),
                    self.official(stranger).account,
                    "Bukan wewenang saya.",
                )
                return
            if ev.state == TARGETS_SUBMITTED:
                stranger = next(name for name in OFFICIALS if name != ev.rater)
                self.attempt(
                    False, evaluations.approve_targets, self.evaluation(ev), self.official(stranger).account
                )
                return
            if ev.state == APPEALED:
                stranger = next(name for name in OFFICIALS if name != ev.handler)
                data = {
                    "results_rating": "above",
                    "behaviour_rating": "above",
                    "reasons": "Bukan wewenang saya.",
                }
                self.attempt(
                    False,
                    evaluations.decide_appeal,
                    self.evaluation(ev),
                    self.official(stranger).account,
                    data,
                )
                return

    @invariant()
    def no_content_edit_after_a_lock_or_publication(self):
        """One probe per step: the employee of a locked evaluation, or of any evaluation once the
        cycle is published or closed, tries to change the SKP or a realisation, and cannot."""
        ev = next(
            (ev for ev in self.evs if self.frozen or ev.state in (TARGETS_LOCKED, ASSESSMENT_LOCKED)), None
        )
        if ev is None:
            return
        me = self.account(ev.employee)
        indicator = _db.session.scalars(
            sa.select(Indicator).join(Rhk).where(Rhk.evaluation_id == ev.id)
        ).first()
        before = _db.session.execute(
            sa.select(Evaluation.version, Evaluation.updated_at).filter_by(id=ev.id)
        ).one()
        if indicator is not None and (self.frozen or ev.state == ASSESSMENT_LOCKED):
            self.attempt(False, evaluations.save_realisation, self.evaluation(ev), me, indicator, "1", None)
        else:
            self.attempt(
                False, evaluations.save_rhk, self.evaluation(ev), me, {"kind": "main", "text": "Diam-diam"}
            )
        after = _db.session.execute(
            sa.select(Evaluation.version, Evaluation.updated_at).filter_by(id=ev.id)
        ).one()
        assert after == before


def test_random_sequences_of_actions_follow_the_model(app, make):
    EvaluationYear.agency = build_agency(make)
    try:
        run_state_machine_as_test(
            EvaluationYear,
            settings=settings(
                max_examples=25,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        EvaluationYear.agency = {}
