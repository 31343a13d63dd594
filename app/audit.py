"""The audit writer: every change adds its event to the session of the change itself."""

from flask import has_request_context, request
from flask_login import current_user

from app.extensions import db
from app.models import Account, AuditEvent


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
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        if obj.id is None:
            db.session.flush()
        object_id = obj.id
    event = AuditEvent(
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
    db.session.add(event)
    return event
