"""Scheduled work. Every job is idempotent: a rerun, or two schedulers at once, changes nothing twice.

`run_due()` runs everything that is due now, once: the scheduler calls it on start (catching up
on what came due while it was down, a missed reminder day included) and periodically; `flask
jobs run-due` calls it from cron. Daily work (the sweep of orphan evidence files) runs in it at
most once per day, whoever calls it.
"""

from dataclasses import asdict, dataclass, field

import sqlalchemy as sa

from app import audit, clock
from app.extensions import db
from app.models import Appeal, Cycle, CycleState, Evaluation, EvaluationState
from app.notify import notify
from app.notify.relay import relay
from app.workflow import cycles as cycle_service
from app.workflow.engine import bulk_fire, refresh_statistics
from app.workflow.reassign import end_due

OPEN_STATES = [
    CycleState.TARGET_SETTING,
    CycleState.SELF_ASSESSMENT,
    CycleState.SUPERVISOR_REVIEW,
    CycleState.APPEAL,
]
AUTO_ADVANCE_FROM = (CycleState.TARGET_SETTING, CycleState.SELF_ASSESSMENT, CycleState.SUPERVISOR_REVIEW)


@dataclass
class DueReport:
    """What one run did (printed by `flask jobs run-due`)."""

    locked_targets: int = 0
    locked_assessments: int = 0
    advanced: list = field(default_factory=list)
    finalised: int = 0
    escalated: int = 0
    returned_after_acting: int = 0
    reminders: int = 0
    overdue_digests: int = 0
    sent: int = 0
    orphan_files: int = 0
    document_bundles: int = 0
    coaching_requests: int = 0
    coaching_resolved: int = 0

    def as_dict(self) -> dict:
        """For printing."""
        return asdict(self)


def open_cycles() -> list[Cycle]:
    """Cycles between opening and publication."""
    return list(db.session.scalars(sa.select(Cycle).where(Cycle.state.in_(OPEN_STATES)).order_by(Cycle.id)))


def lock_overdue(report: DueReport) -> None:
    """Deadline locks made explicit: drafts past their deadline (no running extension) are locked."""
    now = clock.utcnow()
    for cycle in open_cycles():
        if cycle.target_deadline is not None and cycle.target_deadline < now:
            report.locked_targets += bulk_fire(cycle, "lock_targets", None, comment="tenggat")
        if cycle.assessment_deadline < now and cycle.state != CycleState.TARGET_SETTING:
            report.locked_assessments += bulk_fire(cycle, "lock_assessment", None, comment="tenggat")
        db.session.commit()
    if report.locked_targets or report.locked_assessments:
        refresh_statistics()


def auto_advance(report: DueReport) -> None:
    """Cycles in automatic mode move on when their phase deadline passed."""
    now = clock.utcnow()
    for cycle in open_cycles():
        if cycle.auto_advance and cycle.state in AUTO_ADVANCE_FROM:
            deadline = cycle.deadline_of(cycle.state)
            if deadline is not None and deadline < now:
                cycle_service.advance(cycle, None)
                report.advanced.append(cycle.id)


def close_appeal_windows(report: DueReport) -> None:
    """Reviewed results without keberatan become final when their window closes."""
    for cycle in open_cycles():
        report.finalised += bulk_fire(cycle, "finalise", None)
        db.session.commit()
    if report.finalised:
        refresh_statistics()


def escalate_appeals(report: DueReport) -> None:
    """Keberatan undecided past their decision deadline are escalated to HR (once)."""
    now = clock.utcnow()
    rows = db.session.scalars(
        sa.select(Appeal)
        .join(Evaluation, Evaluation.id == Appeal.evaluation_id)
        .where(
            Evaluation.state == EvaluationState.APPEALED,
            Appeal.decide_by < now,
            Appeal.escalated_at.is_(None),
        )
    ).all()
    officers = cycle_service.hr_employees()
    for appeal in rows:
        appeal.escalated_at = now
        evaluation = appeal.evaluation
        audit.record("appeal.escalated", evaluation, actor=None, comment="batas waktu keputusan lewat")
        for officer in officers:
            notify(
                "appeal_escalated",
                officer,
                f"appeal_escalated:{evaluation.id}:{officer.id}",
                cycle=evaluation.cycle,
                evaluation=evaluation,
                employee=evaluation.employee,
                decide_by=appeal.decide_by,
            )
        report.escalated += 1
    db.session.commit()


def coaching_trigger(report: DueReport) -> None:
    """Coaching requests a bimbingan or konseling answered are resolved on every run; low periodic
    results are looked for once a day, progress behind (from mid-period) once a month."""
    from app.jobs import days
    from app.workflow.monitoring import coaching

    report.coaching_resolved = coaching.resolve()
    today = days.local_today()
    if days.claim(coaching.JOB, today):
        # the progress logs (a whole year's) are judged on the first run of each month
        logs = days.claim(coaching.BEHIND_JOB, today.replace(day=1))
        report.coaching_requests = coaching.create_requests(behind=logs)
    db.session.commit()


def run_due() -> DueReport:
    """Everything due now, once, in a safe order; then the mail relay, the daily file sweep and the
    document bundles HR asked for."""
    from app.jobs.files import sweep_once_a_day
    from app.jobs.reminders import send_overdue_digests, send_reminders
    from app.output.bundles import build_bundles

    report = DueReport()
    report.returned_after_acting = end_due()
    lock_overdue(report)
    auto_advance(report)
    close_appeal_windows(report)
    escalate_appeals(report)
    coaching_trigger(report)
    report.reminders = send_reminders()
    report.overdue_digests = send_overdue_digests()
    report.sent = relay().sent
    report.orphan_files = sweep_once_a_day()
    report.document_bundles = build_bundles()  # a unit's documents as one ZIP (HR asked for them)
    return report
