"""The kurva distribusi pages: the rules in force per organisation predikat, their edit, their history."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app.domain import OrgPredikat, Predikat
from app.extensions import db
from app.forms.curve import CurveForm
from app.models import Account, AuditEvent
from app.policy import Action, require
from app.services import Conflict, Refused
from app.services import curve as service
from app.views import actor, form_checks_csrf

bp = Blueprint("curve", __name__, url_prefix="/kurva")

HISTORY = 20  # latest changes shown; the audit log keeps them all
BLANK_ROWS = 2  # empty rows offered for new rules


@bp.route("/")
@login_required
def index():
    """The rules in force for each organisation predikat, and the latest changes."""
    require(actor(), Action.MANAGE_CYCLES)
    bands = service.bands_for()
    history = db.session.scalars(
        sa.select(AuditEvent)
        .options(joinedload(AuditEvent.actor).joinedload(Account.employee))  # the actor's name
        .where(AuditEvent.action == "curve.changed")
        .order_by(AuditEvent.id.desc())
        .limit(HISTORY)
    ).all()
    return render_template(
        "curve/index.html",
        orgs=list(OrgPredikat),
        rules={org: [(band, service.Rule.of(band)) for band in bands.get(org, [])] for org in OrgPredikat},
        history=history,
        seeded=service.SEEDED,
    )


@bp.route("/<org>", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def edit(org: str):
    """Change the rules of one organisation predikat, with a reason."""
    require(actor(), Action.MANAGE_CYCLES)
    try:
        org_predikat = OrgPredikat(org)
    except ValueError:
        abort(404)
    current = service.bands_for().get(org_predikat, [])
    form = CurveForm()
    if not form.is_submitted():
        form.version.data = service.version_of(current)
        for band in current:
            form.rules.append_entry(
                {
                    "group": [p.value for p in service.group_of(band.predikat_group)],
                    "min_pct": band.min_pct,
                    "max_pct": band.max_pct,
                }
            )
    status = 200
    if form.validate_on_submit():
        rules = [
            None
            if row.form.is_blank()
            else service.Rule(
                tuple(p for p in Predikat if p.value in (row.form.group.data or [])),
                row.form.min_pct.data,
                row.form.max_pct.data,
            )
            for row in form.rules
        ]
        try:
            service.save(
                org_predikat, rules, form.reason.data, actor(), expected_version=form.version.data or ""
            )
        except Refused as refusal:
            status = 409 if isinstance(refusal, Conflict) else 400
            place(form, refusal)
        else:
            flash(_("Kurva untuk unit berpredikat %(org)s disimpan.", org=org_predikat.label), "success")
            return redirect(url_for("curve.index"))
    elif form.is_submitted():
        status = 400
    filled = sum(1 for row in form.rules if not row.form.is_blank()) if form.is_submitted() else len(current)
    while len(form.rules) < min(service.MAX_RULES, filled + BLANK_ROWS):
        form.rules.append_entry()
    return render_template("curve/edit.html", form=form, org=org_predikat, current=current), status


def place(form: CurveForm, refusal: Refused) -> None:
    """Each message beside its field: a rule's fields by their full name, the rest on the form."""
    fields = {field.name: field for row in form.rules for field in row.form}
    fields["reason"] = form.reason
    for name, message in refusal.errors.items():
        field = fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")
