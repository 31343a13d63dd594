"""Monitoring stage: peer input on behaviour (masukan rekan kerja), requested by the rater during review.

While an evaluation waits for its review (ASSESSMENT_SUBMITTED) its current rater may ask up to
`MAX_PEERS` colleagues (active employees other than the employee and the rater) for a hint and a
comment on each BerAKHLAK value, with a deadline no later than the review deadline. A colleague
answers once and may change the answer until the deadline; a cancelled request, a passed deadline
or an evaluation that left review closes it.

What stays hidden: the employee sees neither who was asked nor what they said. The audit events
are written on the request (object_type "peer_request"), never on the evaluation's timeline; no
email goes to the employee. The rater sees the answers beside the review form as input only: the
review service never reads them.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app import audit, clock
from app.domain import CoreValue, Rating
from app.extensions import db
from app.models import Account, Employee, Evaluation, EvaluationState, PeerAnswer, PeerRequest
from app.models.cycle import CycleState
from app.notify import notify
from app.policy import acts_as
from app.services import Refused
from app.workflow.engine import atomic, effective_deadline, frozen_message

MAX_PEERS = 5
MAX_COMMENT = 2000
UNKNOWN = "unknown"  # "tidak tahu": the colleague cannot say
HINTS = (Rating.ABOVE.value, Rating.MEETS.value, Rating.BELOW.value, UNKNOWN)
# The phases in which a review is owed (app/services/tasks.py DUTY["review"]).
REVIEW_PHASES = (CycleState.SELF_ASSESSMENT, CycleState.SUPERVISOR_REVIEW, CycleState.APPEAL)


# ---- what is open ----------------------------------------------------------------------------------


def review_deadline(evaluation: Evaluation) -> datetime | None:
    """The latest moment the rater's review (and so the peer input) is due for this evaluation."""
    return effective_deadline(evaluation, CycleState.SUPERVISOR_REVIEW)


def closed_reason(evaluation: Evaluation) -> str | None:
    """Why the evaluation takes no peer input now (not in review, frozen, review deadline passed), or None."""
    if evaluation.cycle.is_frozen:
        return frozen_message()
    if (
        evaluation.state != EvaluationState.ASSESSMENT_SUBMITTED
        or evaluation.cycle.state not in REVIEW_PHASES
    ):
        return _("Masukan rekan kerja hanya dapat diminta dan diberikan selama penilaian atasan berlangsung.")
    deadline = review_deadline(evaluation)
    if deadline is not None and clock.utcnow() > deadline:
        return _("Tenggat penilaian atasan sudah lewat.")
    return None


def _may_request(evaluation: Evaluation, actor: Account | None) -> None:
    if not acts_as(actor, evaluation, "rater"):
        raise Refused(_("Hanya pejabat penilai pegawai ini yang dapat meminta masukan rekan kerja."))
    problem = closed_reason(evaluation)
    if problem:
        raise Refused(problem)


def active_requests(evaluation: Evaluation) -> list[PeerRequest]:
    """The requests not cancelled, with the colleague and the answers, in the order they were made."""
    return list(
        db.session.scalars(
            sa.select(PeerRequest)
            .where(PeerRequest.evaluation_id == evaluation.id, PeerRequest.cancelled_at.is_(None))
            .options(
                joinedload(PeerRequest.peer).joinedload(Employee.unit),
                selectinload(PeerRequest.answers),
            )
            .order_by(PeerRequest.id)
        )
    )


def colleagues(
    evaluation: Evaluation, search: str | None = None, limit: int = 25, only: set[int] | None = None
) -> list[Employee]:
    """Who may be asked: active employees other than the employee and the rater, not asked yet;
    the employee's unit first, then by name. `search` matches a name or a NIP; `only` keeps these."""
    asked = sa.select(PeerRequest.peer_id).where(
        PeerRequest.evaluation_id == evaluation.id, PeerRequest.cancelled_at.is_(None)
    )
    query = (
        sa.select(Employee)
        .where(
            Employee.active,
            Employee.id.not_in([evaluation.employee_id, evaluation.rater_id]),
            Employee.id.not_in(asked),
        )
        .options(joinedload(Employee.unit))
        .order_by(sa.case((Employee.unit_id == evaluation.unit_id, 0), else_=1), Employee.name, Employee.id)
        .limit(limit)
    )
    if only is not None:
        query = query.where(Employee.id.in_(sorted(only)[:limit]))
    search = (search or "").strip()
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(Employee.name.ilike(pattern, escape="\\"), Employee.nip.like(pattern, escape="\\"))
        )
    return list(db.session.scalars(query))


# ---- the rater ------------------------------------------------------------------------------------


@atomic
def request_input(
    evaluation: Evaluation, actor: Account | None, peer_ids: list[int], due_at: datetime | None
) -> list[PeerRequest]:
    """Ask these colleagues for input by `due_at`; each gets an email and a task. Commits."""
    _may_request(evaluation, actor)
    # One request at a time per evaluation (a double submit, two tabs): the limit of five and "asked
    # already" are checked against what the other one wrote. SQLite serialises writers anyway.
    db.session.execute(sa.select(Evaluation.id).where(Evaluation.id == evaluation.id).with_for_update())
    errors: dict[str, str] = {}
    peer_ids = list(dict.fromkeys(peer_ids or []))
    current = active_requests(evaluation)
    if not peer_ids:
        errors["peer_ids"] = _("Pilih paling sedikit satu rekan kerja.")
    elif len(current) + len(peer_ids) > MAX_PEERS:
        left = MAX_PEERS - len(current)
        errors["peer_ids"] = (
            _(
                "Masukan dapat diminta dari paling banyak %(n)d rekan kerja; sisa %(left)d.",
                n=MAX_PEERS,
                left=left,
            )
            if left
            else _("Masukan sudah diminta dari %(n)d rekan kerja, batas yang diizinkan.", n=MAX_PEERS)
        )
    else:
        peers = {
            person.id: person
            for person in db.session.scalars(sa.select(Employee).where(Employee.id.in_(peer_ids)))
        }
        asked = {request.peer_id for request in current}
        wrong = [
            pid
            for pid in peer_ids
            if pid not in peers
            or not peers[pid].active
            or pid in (evaluation.employee_id, evaluation.rater_id)
            or pid in asked
        ]
        if wrong:
            errors["peer_ids"] = _(
                "Rekan kerja yang dipilih tidak dapat diminta masukan (bukan pegawai aktif lain, "
                "atau sudah diminta)."
            )
    now = clock.utcnow()
    deadline = review_deadline(evaluation)
    if due_at is None:
        errors["due_at"] = _("Tenggat masukan wajib diisi.")
    elif due_at <= now:
        errors["due_at"] = _("Tenggat masukan harus setelah saat ini.")
    elif deadline is not None and due_at > deadline:
        errors["due_at"] = _("Tenggat masukan paling lambat tenggat penilaian atasan.")
    if errors:
        raise Refused(errors)
    existing = {
        request.peer_id: request
        for request in db.session.scalars(
            sa.select(PeerRequest).where(
                PeerRequest.evaluation_id == evaluation.id, PeerRequest.peer_id.in_(peer_ids)
            )
        )
    }
    made = []
    for peer_id in peer_ids:
        request = existing.get(peer_id)
        if request is None:
            request = PeerRequest(evaluation_id=evaluation.id, peer_id=peer_id)
            db.session.add(request)
        else:  # asked before and cancelled: asked again, afresh
            request.answers.clear()
            request.answered_at = request.cancelled_at = None
        request.requested_by_id = actor.id
        request.due_at = due_at
        request.created_at = now
        made.append(request)
    try:
        db.session.flush()
    except IntegrityError:  # asked at the same moment elsewhere (on SQLite, no row lock)
        db.session.rollback()
        raise Refused(
            {"peer_ids": _("Rekan kerja yang dipilih baru saja diminta; muat ulang halaman.")}
        ) from None
    for request in made:
        audit.record(
            "peer.requested",
            request,
            actor=actor,
            data={"evaluation_id": evaluation.id, "peer_id": request.peer_id, "due_at": due_at.isoformat()},
        )
        notify(
            "peer_requested",
            peers[request.peer_id],
            f"peer_requested:{request.id}:{request.version}",
            employee=evaluation.employee,
            cycle=evaluation.cycle,
            rater=evaluation.rater,
            due_at=due_at,
            request=request,
        )
    db.session.commit()
    return made


@atomic
def cancel_request(request: PeerRequest, actor: Account | None) -> None:
    """Withdraw an unanswered request; the colleague's task goes. Commits."""
    evaluation = request.evaluation
    if not acts_as(actor, evaluation, "rater"):
        raise Refused(_("Hanya pejabat penilai pegawai ini yang dapat membatalkan permintaan masukan."))
    if request.cancelled_at is not None:
        raise Refused(_("Permintaan ini sudah dibatalkan."))
    if request.answered_at is not None:
        raise Refused(_("Rekan kerja sudah memberikan masukan; permintaan ini tidak dapat dibatalkan lagi."))
    if evaluation.cycle.is_frozen:
        raise Refused(frozen_message())
    request.cancelled_at = clock.utcnow()
    audit.record("peer.cancelled", request, actor=actor, data={"evaluation_id": evaluation.id})
    db.session.commit()


# ---- the colleague --------------------------------------------------------------------------------


def answer_problem(request: PeerRequest, actor: Account | None) -> str | None:
    """Why this person may not answer this request now, or None."""
    if actor is None or actor.employee_id != request.peer_id:
        return _("Permintaan masukan ini ditujukan kepada rekan kerja lain.")
    if request.cancelled_at is not None:
        return _("Pejabat penilai sudah membatalkan permintaan masukan ini.")
    problem = closed_reason(request.evaluation)
    if problem:
        return _("Penilaian ini tidak lagi menunggu penilaian atasan; masukan tidak dapat diberikan lagi.")
    if clock.utcnow() > request.due_at:
        return _("Tenggat masukan sudah lewat.")
    return None


@dataclass
class AnswerData:
    """What the colleague typed: per value its hint ("above", "meets", "below", "unknown") and comment."""

    hints: dict[str, str | None] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)


@atomic
def answer(request: PeerRequest, actor: Account | None, data: AnswerData) -> None:
    """Record (or replace, until the deadline) the colleague's answer. Commits."""
    problem = answer_problem(request, actor)
    if problem:
        raise Refused(problem)
    errors: dict[str, str] = {}
    cleaned = {}
    for value in CoreValue:
        hint = data.hints.get(value.value)
        comment = (data.comments.get(value.value) or "").strip()
        if hint not in HINTS:
            errors[f"hint_{value.value}"] = _("Pilih salah satu, atau \u201ctidak tahu\u201d.")
        if len(comment) > MAX_COMMENT:
            errors[f"comment_{value.value}"] = _("Komentar paling banyak %(n)d karakter.", n=MAX_COMMENT)
        cleaned[value] = (
            None if hint == UNKNOWN else Rating(hint) if hint in HINTS else None,
            comment or None,
        )
    if errors:
        raise Refused(errors)
    first = request.answered_at is None
    stored = {row.value: row for row in request.answers}
    for value, (hint, comment) in cleaned.items():
        row = stored.get(value)
        if row is None:
            request.answers.append(PeerAnswer(value=value, hint=hint, comment=comment))
        else:
            row.hint, row.comment = hint, comment
    request.answered_at = clock.utcnow()
    audit.record(
        "peer.answered" if first else "peer.answer_changed",
        request,
        actor=actor,
        data={"evaluation_id": request.evaluation_id},
    )
    db.session.commit()


def load_request(request_id: int) -> PeerRequest | None:
    """A request with its evaluation, cycle, employee and answers (the answer page's statements)."""
    return db.session.scalar(
        sa.select(PeerRequest)
        .where(PeerRequest.id == request_id)
        .options(
            joinedload(PeerRequest.evaluation).joinedload(Evaluation.cycle),
            joinedload(PeerRequest.evaluation).joinedload(Evaluation.employee).joinedload(Employee.position),
            joinedload(PeerRequest.evaluation).joinedload(Evaluation.unit),
            selectinload(PeerRequest.answers),
        )
    )


# ---- the evaluation page --------------------------------------------------------------------------


@dataclass
class PeerSummary:
    """One value's answers: the count per hint and the comments (who said what is shown per person)."""

    value: CoreValue
    counts: dict[str, int]
    comments: list[tuple[str, str]]  # (colleague's name, comment)


def page_part(evaluation: Evaluation, actor: Account | None, roles: set[str]):
    """The rater's view during review: the requests and the answers (None for everyone else:
    the employee, the appeal handler and HR see nothing of it)."""
    if "rater" not in roles or evaluation.state != EvaluationState.ASSESSMENT_SUBMITTED:
        return None
    requests = active_requests(evaluation)
    answered = [request for request in requests if request.answered_at is not None]
    summary = []
    for value in CoreValue:
        counts = dict.fromkeys(HINTS, 0)
        comments = []
        for request in answered:
            row = next((a for a in request.answers if a.value == value), None)
            if row is None:
                continue
            counts[row.hint.value if row.hint else UNKNOWN] += 1
            if row.comment:
                comments.append((request.peer.name, row.comment))
        summary.append(PeerSummary(value, counts, comments))
    return {
        "requests": requests,
        "answered": len(answered),
        "summary": summary,
        "slots_left": MAX_PEERS - len(requests),
        "open": closed_reason(evaluation) is None,
        "now": clock.utcnow(),
    }
