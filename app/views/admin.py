"""The outbox page: every email the service queued, its state, and resending failures."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.extensions import db
from app.models import MessageState, OutboxMessage
from app.notify.relay import resend
from app.policy import Action, require
from app.views import actor

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/outbox")
@login_required
def outbox():
    """Queued, sent and failed messages, newest first, filterable by state."""
    require(actor(), Action.MANAGE_OUTBOX)
    state = request.args.get("state", "")
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if state in {s.value for s in MessageState}:
        query = query.where(OutboxMessage.state == state)
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    counts = dict(
        db.session.execute(
            sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)
        ).all()
    )
    return render_template(
        "admin/outbox.html",
        page=page,
        state=state,
        counts=counts,
        States=MessageState,
        mail_configured=bool(current_app.config.get("MAIL_SERVER")),
    )


@bp.route("/outbox/<int:message_id>")
@login_required
def message(message_id: int):
    """One message as it would be (or was) sent."""
    require(actor(), Action.MANAGE_OUTBOX)
    row = db.session.get(OutboxMessage, message_id) or abort(404)
    return render_template("admin/message.html", row=row)


@bp.route("/outbox/<int:message_id>/resend", methods=["POST"])
@login_required
def resend_message(message_id: int):
    """Queue a failed message again."""
    require(actor(), Action.MANAGE_OUTBOX)
    row = db.session.get(OutboxMessage, message_id) or abort(404)
    if row.state != MessageState.FAILED:
        flash(_("Hanya pesan yang gagal yang dapat dikirim ulang."), "warning")
    else:
        resend(row)
        flash(_("Pesan dijadwalkan untuk dikirim ulang."), "success")
    return redirect(url_for("admin.outbox", state="failed"))
