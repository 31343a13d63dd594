"""The audit writer: every change adds its event to the session of the change itself."""

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from app import clock
from app.extensions import db
from app.models import Account, AuditEvent

_COLUMNS = [
    "action",
    "actor_id",
    "object_type",
    "object_id",
    "from_state",
    "to_state",
    "comment",
    "data",
    "ip",
]


def _values(
    action: str,
    obj,
    actor: Account | None,
    object_type: str | None,
    object_id: str | int | None,
    from_state: str | None,
    to_state: str | None,
    comment: str | None,
    data: dict | None,
) -> dict:
    """The event's columns: the actor defaults to the signed-in account, the object to `obj`."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        if obj.id is None:
            db.session.flush()
        object_id = obj.id
    return dict(
        action=action,
        actor_id=actor.id if actor is not None else None,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        data=data,
        ip=request.remote_addr if has_request_context() else None,
    )


def record(
    action: str,
    obj=None,
    *,
    actor: Account | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    values = _values(action, obj, actor, object_type, object_id, from_state, to_state, comment, data)
    event = AuditEvent(**values)
    db.session.add(event)
    return event


def inserted_from(rows) -> sa.Insert:
    """An INSERT of one event per row of `rows` (a CTE, say an UPDATE ... RETURNING that claims a
    record) in the same statement, its columns as parameters named `audit_<column>` (see
    `parameters`): on PostgreSQL a transition and its audit row cost one round trip."""
    table = AuditEvent.__table__
    columns = [*_COLUMNS, "occurred_at"]
    return sa.insert(table).from_select(
        columns,
        sa.select(*[sa.bindparam(f"audit_{name}", type_=table.c[name].type) for name in columns]).select_from(
            rows
        ),
    )


def parameters(
    action: str, obj=None, *, actor: Account | None = None, from_state=None, to_state=None, comment=None
) -> dict:
    """The parameters of an `inserted_from` statement for this event."""
    values = _values(action, obj, actor, None, None, from_state, to_state, comment, None)
    return {f"audit_{name}": value for name, value in values.items()} | {"audit_occurred_at": clock.utcnow()}
