"""The org-unit tree and positions, for HR."""

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app import clock
from app.extensions import db
from app.forms.base import options
from app.forms.org import CreditForm, OrgUnitForm, PositionForm
from app.models import Employee, OrgUnit, Position
from app.output import people_csv as csv_export
from app.policy import Action, require
from app.services import Refused, credit, org
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


def plain(value) -> str:
    """A coefficient as Indonesians write it: 12,5."""
    return f"{value.normalize():f}".replace(".", ",")


def position_form(position: Position | None = None) -> PositionForm:
    """The position form with the jenjang to choose from."""
    form = PositionForm(obj=position)
    form.jenjang_code.choices = options(
        [("", _("— bukan jabatan fungsional / belum ditentukan —"))]
        + [
            (row.code, f"{row.name} ({row.category}, {plain(row.coefficient)})")
            for row in credit.jenjang_list()
        ]
    )
    return form


def org_page(form: PositionForm, status: int = 200):
    """The unit tree, the positions with their jenjang and the add-position form."""
    positions = db.session.scalars(
        sa.select(Position).options(joinedload(Position.jenjang)).order_by(Position.kind, Position.name)
    ).all()
    page = render_template(
        "org/index.html",
        tree=unit_tree(),
        positions=positions,
        position_form=form,
        jenjang=credit.jenjang_list(),
    )
    return page, status


@bp.route("/")
@login_required
def index():
    """The unit tree with staff counts, and the positions."""
    require(actor(), Action.MANAGE_ORG)
    return org_page(position_form())


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
    form = position_form()
    if form.validate_on_submit():
        try:
            position = org.save_position(None, form.name.data, form.kind.data, form.jenjang_code.data)
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            flash(_("Jabatan %(name)s ditambahkan.", name=position.name), "success")
            return redirect(url_for("org.index"))
    return org_page(form, 400)


@bp.route("/positions/<int:position_id>", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def edit_position(position_id: int):
    """Change a position's name, kind or jenjang."""
    require(actor(), Action.MANAGE_ORG)
    position = db.session.get(Position, position_id) or abort(404)
    form = position_form(position)
    if request.method == "GET":
        form.kind.data = position.kind.value
        form.jenjang_code.data = position.jenjang_code or ""
    elif form.validate_on_submit():
        try:
            org.save_position(position, form.name.data, form.kind.data, form.jenjang_code.data)
        except Refused as refusal:
            db.session.rollback()
            apply_refusal(form, refusal)
        else:
            flash(_("Jabatan %(name)s disimpan.", name=position.name), "success")
            return redirect(url_for("org.index", _anchor="jabatan"))
    status = 400 if form.is_submitted() else 200
    return render_template("org/position.html", form=form, position=position), status


@bp.route("/angka-kredit", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def credit_coefficients():
    """The annual credit-point coefficient of each jenjang, as HR keeps it."""
    require(actor(), Action.MANAGE_ORG)
    rows = credit.jenjang_list()
    form = CreditForm()
    if not form.is_submitted():
        for row in rows:
            form.coefficients.append_entry(plain(row.coefficient))
    while len(form.coefficients) < len(rows):
        form.coefficients.append_entry()
    for row, entry in zip(rows, form.coefficients, strict=False):
        entry.label.text = _("%(name)s (%(category)s)", name=row.name, category=row.category)
    status = 200
    if form.validate_on_submit():
        typed = {row.code: entry.data for row, entry in zip(rows, form.coefficients, strict=False)}
        try:
            changed = credit.save_coefficients(typed, form.reason.data, actor())
        except Refused as refusal:
            db.session.rollback()
            status = 400
            fields = {row.code: entry for row, entry in zip(rows, form.coefficients, strict=False)}
            fields["reason"] = form.reason
            for name, message in refusal.errors.items():
                if name in fields:
                    fields[name].errors = [*fields[name].errors, message]
                else:
                    flash(message, "danger")
        else:
            flash(_("Koefisien disimpan: %(names)s.", names=", ".join(changed)), "success")
            return redirect(url_for("org.credit_coefficients"))
    elif form.is_submitted():
        status = 400
    return render_template("org/credit.html", form=form), status


@bp.route("/export.csv")
@login_required
def export_units():
    """Download the unit tree as CSV (the import format)."""
    require(actor(), Action.MANAGE_ORG)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(
        csv_export.export_units(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="unit-kerja-{stamp}.csv"'},
    )
