"""Rendered page fragments kept per process, under a key that changes with whatever they show.

The evaluation page's body (everything but the layout: navigation, flash messages) is the costly
part of the page and the same from one request to the next until something in it changes. It is
kept in a bounded least-recently-used map per process, under a key made of
- a stamp read in one statement (`stamp_statement`): the versions and change marks of every row
  the body shows, its own and its neighbours' (people, cycle, logs, records, colleagues' input);
- the viewer (account, employee, granted roles), the locale and the time zone;
- which of the moments that change the body have passed (deadlines, extensions, due dates) and
  the local date.
The stamp is read before the body's data, so a fragment is never older than its key.

Forms in a fragment carry a placeholder instead of the CSRF token (`render_fragment`), and
`with_csrf` puts the request's own token in when it is served: a fragment never carries another
session's token. With PAGE_CACHE_VERIFY (on in the tests) every hit is rendered again and must
be equal, so the whole suite checks that nothing shown is missing from the key.
"""

import functools
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import aliased

from app import clock
from app.extensions import db
from app.models import (
    Account,
    Appeal,
    AuditEvent,
    CreditJenjang,
    Cycle,
    Employee,
    Evaluation,
    Indicator,
    OrgUnit,
    Position,
    Rhk,
)
from app.models.monitoring import (
    FeedbackAttachment,
    FeedbackRecord,
    FollowUp,
    IndicatorTemplate,
    PeerRequest,
    ProgressEntry,
    RhkTemplate,
)
from app.models.types import UTCDateTime

# Per process and never shown: the fragment's forms carry it until `with_csrf` replaces it.
CSRF_PLACEHOLDER = "csrf-" + secrets.token_hex(16)


class FragmentCache:
    """A bounded map from key to rendered fragment; the least recently used goes first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        """The fragment stored under `key`, or None."""
        with self._lock:
            fragment = self._items.get(key)
            if fragment is not None:
                self._items.move_to_end(key)
            return fragment

    def put(self, key: Hashable, fragment: str) -> None:
        """Store a fragment, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = fragment
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class StaleFragment(AssertionError):
    """Verify mode: a cached fragment differs from the page rendered afresh (the key misses a source)."""


def cache() -> FragmentCache | None:
    """This app's fragment cache (made on first use), or None when PAGE_CACHE_SIZE is 0."""
    size = current_app.config.get("PAGE_CACHE_SIZE", 0)
    if size <= 0:
        return None
    found = current_app.extensions.get("pagecache")
    if found is None:
        found = current_app.extensions.setdefault("pagecache", FragmentCache(size))
    return found


def render_fragment(render: Callable[[], str]) -> str:
    """Run `render` with the CSRF token replaced by the placeholder in every form it builds."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    missing = object()
    token = g.get(field, missing)
    setattr(g, field, CSRF_PLACEHOLDER)  # generate_csrf() returns what g holds
    try:
        return render()
    finally:
        if token is missing:
            g.pop(field, None)
        else:
            setattr(g, field, token)


def with_csrf(fragment: str) -> str:
    """The fragment as served: this session's CSRF token in its forms."""
    return fragment.replace(CSRF_PLACEHOLDER, generate_csrf())


def fragment(key: Hashable | None, render: Callable[[], str], fresh: Callable[[], str] | None = None) -> str:
    """The fragment of `key`: cached, else rendered by `render` and kept. `key` None: never cached.

    Verify mode renders a hit again with `fresh` (a render from a fresh load) and raises
    StaleFragment when the two differ."""
    store = cache() if key is not None else None
    if store is None:
        return with_csrf(render_fragment(render))
    found = store.get(key)
    if found is None:
        found = render_fragment(render)
        store.put(key, found)
    elif current_app.config.get("PAGE_CACHE_VERIFY"):
        again = render_fragment(fresh or render)
        if again != found:
            raise StaleFragment(_first_difference(found, again))
    return with_csrf(found)


def _first_difference(cached: str, fresh: str) -> str:
    """Where a stale fragment first differs from the fresh one, for the failure message."""
    at = next(
        (i for i, (a, b) in enumerate(zip(cached, fresh, strict=False)) if a != b),
        min(len(cached), len(fresh)),
    )
    start = max(at - 80, 0)
    return f"cached fragment differs at {at}: {cached[start : at + 80]!r} != {fresh[start : at + 80]!r}"


# ---- the evaluation page ------------------------------------------------------------------------


def evaluation_page(evaluation_id: int, viewer: Account | None) -> tuple[sa.Row, tuple] | None:
    """The evaluation's head (what the policy and the layout read: its people, state, deadlines,
    the employee's name) and the key of its page's body for this viewer now, in one statement;
    None when there is no such evaluation."""
    now = clock.utcnow()
    head = db.session.execute(
        stamp_statement(), {"evaluation_id": evaluation_id, "evaluation_key": str(evaluation_id), "now": now}
    ).one_or_none()
    if head is None:
        return None
    moments = (
        head.target_deadline,
        head.assessment_deadline,
        head.review_deadline,
        head.appeal_deadline,
        head.extended_until,
        head.appeal_until,
    )
    roles = tuple(sorted(str(role) for role in viewer.roles)) if viewer is not None else ()
    key = (
        "evaluation",
        tuple(head),
        (viewer.id, viewer.employee_id, roles) if viewer is not None else None,
        str(get_locale()),
        str(clock.tz()),
        tuple(moment is not None and now > moment for moment in moments),
        clock.now().date(),
    )
    return head, key


@functools.cache
def stamp_statement() -> sa.Select:
    """The evaluation's head, then everything that changes when something its page shows changes.

    The evaluation's own rows (RHK, indicators, evidence, behaviour notes, comments) move its
    version on every change (the services call `touch()` or fire a transition); the rest is read
    as counts, largest ids, sums of versions and latest moments: the cycle, the people named with
    their position and unit, the audit trail (the timeline, the records' histories), the progress
    log the indicators read, the dialog records with their follow-ups and attachments, the
    colleagues' input, the rater's SKP of the cycle (the RHKs this one may intervene in), the
    employee's other SKPs (last year's to copy, the annual one a periodic SKP logs against) and the
    position's RHK templates.

    Parameters: `evaluation_id`, `evaluation_key` (the id as text, as the audit trail names it)
    and `now`. Built once per process: composing it costs more than running it."""
    evaluation_id = sa.bindparam("evaluation_id", type_=sa.Integer)
    now = sa.bindparam("now", type_=UTCDateTime())
    e = Evaluation.__table__.c
    person, rater, handler = aliased(Employee), aliased(Employee), aliased(Employee)
    other, other_cycle = aliased(Evaluation), aliased(Cycle)

    def marks(*columns, where, frm=None):
        """One text of several aggregates (NULLs as empty), as a scalar subquery."""
        text = None
        for column in columns:
            part = sa.func.coalesce(sa.cast(column, sa.String), "")
            text = part if text is None else text + "/" + part
        query = sa.select(text)
        if frm is not None:
            query = query.select_from(frm)
        return query.where(where).scalar_subquery()

    def rows(model, where, *more):
        """How many rows, the largest id, and `more` aggregates."""
        return marks(sa.func.count(model.id), sa.func.max(model.id), *more, where=where)

    log_ids = (
        sa.select(sa.func.coalesce(Indicator.source_indicator_id, Indicator.id))
        .join(Rhk, Rhk.id == Indicator.rhk_id)
        .where(Rhk.evaluation_id == evaluation_id)
    )
    record_ids = sa.select(FeedbackRecord.id).where(FeedbackRecord.evaluation_id == evaluation_id)
    record_keys = sa.select(sa.cast(FeedbackRecord.id, sa.String)).where(
        FeedbackRecord.evaluation_id == evaluation_id
    )
    record_events = sa.and_(
        AuditEvent.object_type == "feedback_record", AuditEvent.object_id.in_(record_keys)
    )
    evaluation_events = sa.and_(
        AuditEvent.object_type == "evaluation",
        AuditEvent.object_id == sa.bindparam("evaluation_key", type_=sa.String),
    )
    # Who else is named: the timeline's actors (HR, a Plt.) and the colleagues asked for input; the
    # records' authors and follow-ups' owners are the employee and the rater.
    named = sa.union(
        sa.select(Account.employee_id)
        .join(AuditEvent, AuditEvent.actor_id == Account.id)
        .where(evaluation_events),
        sa.select(PeerRequest.peer_id).where(PeerRequest.evaluation_id == evaluation_id),
    )
    template_ids = (
        sa.select(RhkTemplate.id).where(RhkTemplate.position_id == person.position_id).correlate(person)
    )
    query = (
        sa.select(
            # the head
            e.id,
            e.employee_id,
            e.rater_id,
            e.appeal_handler_id,
            e.state,
            e.extended_until,
            e.extended_phase,
            e.appeal_until,
            person.name.label("employee_name"),
            Cycle.target_deadline,
            Cycle.assessment_deadline,
            Cycle.review_deadline,
            Cycle.appeal_deadline,
            # the stamp
            e.version,
            Cycle.version,
            person.version,
            rater.version,
            handler.version,
            Position.name,
            Position.kind,
            Position.jenjang_code,
            OrgUnit.name,
            marks(
                CreditJenjang.name,
                CreditJenjang.coefficient,
                where=CreditJenjang.code == Position.jenjang_code,
            ),
            marks(sa.func.max(AuditEvent.id), where=evaluation_events),
            marks(sa.func.max(AuditEvent.id), where=record_events),
            marks(sa.func.count(Employee.id), sa.func.sum(Employee.version), where=Employee.id.in_(named)),
            marks(  # the timeline's actors without an employee (HR or admin accounts): their shown name
                sa.func.count(Account.id),
                sa.func.aggregate_strings(sa.func.coalesce(Account.display_name, Account.email, "?"), "|"),
                where=sa.and_(
                    Account.employee_id.is_(None),
                    Account.id.in_(sa.select(AuditEvent.actor_id).where(evaluation_events)),
                ),
            ),
            marks(
                Appeal.id,
                Appeal.decide_by,
                Appeal.escalated_at,
                Appeal.decided_at,
                where=Appeal.evaluation_id == evaluation_id,
            ),
            rows(
                ProgressEntry,
                ProgressEntry.indicator_id.in_(log_ids),
                sa.func.sum(ProgressEntry.version),
                sa.func.max(ProgressEntry.updated_at),
            ),
            rows(
                FeedbackRecord,
                FeedbackRecord.evaluation_id == evaluation_id,
                sa.func.sum(FeedbackRecord.version),
                sa.func.max(FeedbackRecord.acknowledged_at),
            ),
            rows(
                FollowUp,
                FollowUp.record_id.in_(record_ids),
                sa.func.count(FollowUp.done_at),
                sa.func.max(FollowUp.done_at),
            ),
            rows(FeedbackAttachment, FeedbackAttachment.record_id.in_(record_ids)),
            rows(
                PeerRequest,
                PeerRequest.evaluation_id == evaluation_id,
                sa.func.sum(PeerRequest.version),
                sa.func.count(PeerRequest.answered_at),
                sa.func.count(PeerRequest.id).filter(PeerRequest.due_at < now),
            ),
            marks(  # the rater's SKP of this cycle
                sa.func.sum(other.version),
                where=sa.and_(other.cycle_id == e.cycle_id, other.employee_id == e.rater_id),
            ),
            marks(  # the employee's other SKPs (last year's, the annual one), with their cycles
                sa.func.count(other.id),
                sa.func.sum(other.version),
                sa.func.sum(other_cycle.version),
                frm=sa.join(other, other_cycle, other_cycle.id == other.cycle_id),
                where=sa.and_(other.employee_id == e.employee_id, other.id != evaluation_id),
            ),
            rows(
                RhkTemplate,
                RhkTemplate.position_id == person.position_id,
                sa.func.count(RhkTemplate.retired_at),
            ),
            rows(IndicatorTemplate, IndicatorTemplate.template_id.in_(template_ids)),
        )
        .select_from(Evaluation)
        .join(Cycle, Cycle.id == e.cycle_id)
        .join(person, person.id == e.employee_id)
        .join(rater, rater.id == e.rater_id)
        .outerjoin(handler, handler.id == e.appeal_handler_id)
        .join(Position, Position.id == person.position_id)
        .join(OrgUnit, OrgUnit.id == e.unit_id)
        .where(Evaluation.id == evaluation_id)
    )
    return query
