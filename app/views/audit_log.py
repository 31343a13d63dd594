"""HR searches the audit trail."""

from datetime import datetime, time

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app import clock
from app.extensions import db
from app.inputs import parse_int
from app.models import Account, AuditEvent, Employee
from app.policy import Action, require
from app.services.people import matching
from app.views import actor
from app.workflow.definitions import ACTION_LABELS

bp = Blueprint("audit", __name__, url_prefix="/audit")


def day(value: str | None, end: bool = False):
    """A yyyy-mm-dd from the search form as the start (or end) of that local day."""
    try:
        date = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    if not 1900 <= date.year <= 2999:  # no record is that old or new; year 1 would overflow in UTC
        return None
    return datetime.combine(date, time.max if end else time.min, tzinfo=clock.tz())


MAX_PEOPLE = 50  # a search matching more people asks to be narrowed


def people_matching(who: str) -> list[int]:
    """Accounts whose person matches by name, NIP or email (up to MAX_PEOPLE + 1 of them).

    Two narrow lookups rather than one OR across the join: employees by name, NIP or email
    (their accounts through the unique employee_id), and the few accounts of no employee. The
    two never share an account, so they are appended (UNION ALL) and each stops at the limit:
    a part of a name that thousands share costs as much as one that few do.
    """
    pattern = f"%{who.lower()}%"
    limit = MAX_PEOPLE + 1
    employees = (
        sa.select(Account.id)
        .join(Employee, Employee.id == Account.employee_id)
        .where(matching(who))
        .limit(limit)
        .subquery()
    )
    system = (
        sa.select(Account.id)
        .where(
            Account.employee_id.is_(None),
            sa.or_(
                sa.func.lower(Account.email).like(pattern), sa.func.lower(Account.display_name).like(pattern)
            ),
        )
        .limit(limit)
        .subquery()
    )
    people = sa.union_all(sa.select(employees.c.id), sa.select(system.c.id)).limit(limit)
    return list(db.session.scalars(people))


@bp.route("/")
@login_required
def index():
    """Filter by action, record, person (name, NIP or email) and dates; newest first, page by page."""
    require(actor(), Action.VIEW_AUDIT)
    args = request.args
    query = sa.select(AuditEvent).options(joinedload(AuditEvent.actor).joinedload(Account.employee))
    if args.get("action"):
        query = query.where(AuditEvent.action == args["action"])
    if args.get("object_type"):
        query = query.where(AuditEvent.object_type == args["object_type"])
    if args.get("object_id"):
        query = query.where(AuditEvent.object_id == args["object_id"].strip())
    who = (args.get("who") or "").strip()
    too_many = False
    if who:
        ids = people_matching(who)
        too_many = len(ids) > MAX_PEOPLE
        # A short list of ids lets the database walk the (actor_id, id) index newest first.
        query = query.where(AuditEvent.actor_id.in_(ids[:MAX_PEOPLE]) if ids else sa.false())
    since, until = day(args.get("since")), day(args.get("until"), end=True)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at <= until)
    # Keyset pagination: "older" pages continue below the last id shown, so a page costs the
    # same on the first day and after millions of events, and no total count is needed.
    before = request.args.get("before", type=parse_int)
    if before:
        query = query.where(AuditEvent.id < before)
    per_page = current_app.config["PAGE_SIZE"] * 2
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(per_page + 1)).all()
    items = rows[:per_page]
    older = items[-1].id if len(rows) > per_page else None
    filters = {k: v for k, v in args.to_dict(flat=True).items() if k not in ("before", "page") and v}
    return render_template(
        "audit/index.html",
        items=items,
        older=older,
        before=before,
        filters=filters,
        too_many=too_many,
        max_people=MAX_PEOPLE,
        args=args,
        actions=sorted(ACTION_LABELS),
    )
