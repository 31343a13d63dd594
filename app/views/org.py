"""The org-unit tree and positions, for HR."""

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app import clock
from app.extensions import db
from app.forms.base import options
from app.forms.org import OrgUnitForm, PositionForm
from app.models import Employee, OrgUnit, Position
from app.policy import Action, require
from app.services import Refused, csv_io, org
from app.views import actor, apply_refusal, form_checks_csrf

bp = Blueprint("org", __name__, url_prefix="/org")


def unit_tree() -> list[tuple[OrgUnit, int, int]]:
    """All units depth-first as (unit, depth, active staff count), from two queries."""
    units = db.session.scalars(sa.select(OrgUnit).order_by(OrgUnit.name)).all()
    staff = dict(
        db.session.execute(
            sa.select(Employee.unit_id, sa.func.count()).where(Employee.active).group_by(Employee.unit_id)
        ).all()
    )
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered, stack = [], [(u, 0) for u in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        ordered.append((unit, depth, staff.get(unit.id, 0)))
        stack.extend((c, depth + 1) for c in reversed(children.get(unit.id, [])))
    return ordered


def parent_choices(form: OrgUnitForm, exclude: OrgUnit | None = None) -> None:
    """Every active unit may be a parent (the loop check refuses descendants)."""
    choices = [(0, _("— tanpa induk (unit teratas) —"))]
    for unit, depth, _staff in unit_tree():
        if unit.active and unit is not exclude:
            choices.append((unit.id, "\u2003" * depth + unit.name))
    form.parent_id.choices = options(choices)


@bp.route("/")
@login_required
def index():
    """The unit tree with staff counts, and the positions."""
    require(actor(), Action.MANAGE_ORG)
    positions = db.session.scalars(sa.select(Position).order_by(Position.kind, Position.name)).all()
    return render_template(
        "org/index.html", tree=unit_tree(), positions=positions, position_form=PositionForm()
    )


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def edit(unit_id: int | None = None):
    """Create or edit an org unit."""
    require(actor(), Action.MANAGE_ORG)
    unit = db.session.get(OrgUnit, unit_id) if unit_id else None
    if unit_id and unit is None:
        abort(404)
    form = OrgUnitForm(obj=unit)
    parent_choices(form, exclude=unit)
    if request.method == "GET" and unit is not None:
        form.parent_id.data = unit.parent_id or 0
    if form.validate_on_submit():
        try:
            unit = org.save_unit(unit, form.code.data, form.name.data, form.parent_id.data or None)
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            flash(_("Unit %(name)s disimpan.", name=unit.name), "success")
            return redirect(url_for("org.index"))
    return render_template("org/form.html", form=form, unit=unit)


@bp.route("/<int:unit_id>/active", methods=["POST"])
@login_required
def set_active(unit_id: int):
    """Deactivate an empty unit, or reactivate it."""
    require(actor(), Action.MANAGE_ORG)
    unit = db.session.get(OrgUnit, unit_id) or abort(404)
    try:
        org.set_unit_active(unit, request.form.get("active") == "1")
    except Refused as refusal:
        flash(refusal.errors[""], "danger")
    else:
        flash(_("Status unit %(name)s disimpan.", name=unit.name), "success")
    return redirect(url_for("org.index"))


@bp.route("/positions", methods=["POST"])
@login_required
@form_checks_csrf
def add_position():
    """Add a position."""
    require(actor(), Action.MANAGE_ORG)
    form = PositionForm()
    if form.validate_on_submit():
        try:
            position = org.add_position(form.name.data, form.kind.data)
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            flash(_("Jabatan %(name)s ditambahkan.", name=position.name), "success")
            return redirect(url_for("org.index"))
    positions = db.session.scalars(sa.select(Position).order_by(Position.kind, Position.name)).all()
    return render_template("org/index.html", tree=unit_tree(), positions=positions, position_form=form), 400


@bp.route("/export.csv")
@login_required
def export_units():
    """Download the unit tree as CSV (the import format)."""
    require(actor(), Action.MANAGE_ORG)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(
        csv_io.export_units(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="unit-kerja-{stamp}.csv"'},
    )
