"""Planning helpers: copy last period's SKP, RHK templates per position (app/workflow/planning.py).

`/templat-rhk/` is the templates page of HR (every position) and of a unit head (the positions of
their unit and the units below, app.policy.template_position_ids). The SKP draft's two buttons
post to `/evaluations/<id>/salin-skp` and `/evaluations/<id>/templat` and, when refused, render
the evaluation page again with the refusal beside the button.
"""

from itertools import groupby

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db
from app.forms.base import options
from app.forms.evaluations import ActionForm, PageForm
from app.forms.planning import ROWS, ApplyTemplatesForm, TemplateForm
from app.inputs import int_or_none
from app.models import Account, Position, RhkTemplate
from app.policy import Action, require, template_position_ids
from app.services import Conflict, Refused
from app.views import actor, apply_refusal, form_checks_csrf, form_version
from app.views.evaluations import load, page
from app.workflow import planning as service

bp = Blueprint("planning", __name__)

PER_PAGE = 30  # templates per page of the list


# ---- the SKP draft's helpers ---------------------------------------------------------------------


def _act(evaluation_id: int, form: PageForm, action):
    """Run one of the draft's buttons: a refusal renders the page with it, success flashes what was added."""
    evaluation = load(evaluation_id)
    if not form.validate():
        return page(evaluation, form, 400)
    try:
        added = action(evaluation, form, form_version(form.version.data))
    except Refused as refusal:
        db.session.rollback()
        evaluation = load(evaluation_id)
        apply_refusal(form, refusal)
        return page(evaluation, form, 409 if isinstance(refusal, Conflict) else 400)
    flash(added.message(), "warning" if added.unlinked else "success")
    return redirect(url_for("evaluations.view", evaluation_id=evaluation_id) + "#skp")


@bp.route("/evaluations/<int:evaluation_id>/salin-skp", methods=["POST"])
@login_required
@form_checks_csrf
def copy_skp(evaluation_id: int):
    """Copy last period's approved SKP into this draft."""
    return _act(
        evaluation_id,
        ActionForm("copy-skp"),
        lambda ev, form, version: service.copy_previous_skp(ev, actor(), expected_version=version),
    )


@bp.route("/evaluations/<int:evaluation_id>/templat", methods=["POST"])
@login_required
@form_checks_csrf
def apply_templates(evaluation_id: int):
    """Add one template (or all offered) of the employee's position to this draft."""
    key = "templates-all" if request.form.get("all") else "templates"
    ids = request.form.getlist("template_ids")
    if key == "templates" and len(ids) == 1 and int_or_none(ids[0]) is not None:
        key = f"template-{ids[0]}"
    return _act(
        evaluation_id,
        ApplyTemplatesForm(key),
        lambda ev, form, version: service.apply_templates(
            ev, actor(), form.template_ids.data or [], expected_version=version
        ),
    )


# ---- the templates page ---------------------------------------------------------------------------


def _positions(scope: set[int] | None) -> list[Position]:
    query = sa.select(Position).order_by(Position.name)
    if scope is not None:
        query = query.where(Position.id.in_(scope or [0]))
    return db.session.scalars(query).all()


@bp.route("/templat-rhk/")
@login_required
def templates():
    """The RHK templates the signed-in person manages, per position; `?jabatan=` one position,
    `?ditarik=1` the retired ones too."""
    me = actor()
    require(me, Action.MANAGE_RHK_TEMPLATES)
    scope = template_position_ids(me)
    positions = _positions(scope)
    chosen = int_or_none(request.args.get("jabatan"), minimum=1)
    if chosen is not None and chosen not in {p.id for p in positions}:
        chosen = None
    retired = request.args.get("ditarik") == "1"
    query = (
        sa.select(RhkTemplate)
        .join(Position, Position.id == RhkTemplate.position_id)
        .options(
            joinedload(RhkTemplate.position),
            joinedload(RhkTemplate.parent),
            selectinload(RhkTemplate.indicators),
        )
        .order_by(
            Position.name,
            RhkTemplate.retired_at.is_not(None),
            RhkTemplate.kind,
            RhkTemplate.sort_order,
            RhkTemplate.id,
        )
    )
    if scope is not None:
        query = query.where(RhkTemplate.position_id.in_(scope or [0]))
    if chosen is not None:
        query = query.where(RhkTemplate.position_id == chosen)
    if not retired:
        query = query.where(RhkTemplate.retired_at.is_(None))
    listing = db.paginate(query, per_page=PER_PAGE, error_out=False)
    groups = [(position, list(rows)) for position, rows in groupby(listing.items, key=lambda t: t.position)]
    author_ids = {t.author_id for t in listing.items if t.author_id}
    authors = {
        a.id: a.name
        for a in db.session.scalars(
            sa.select(Account).where(Account.id.in_(author_ids or [0])).options(joinedload(Account.employee))
        )
    }
    return render_template(
        "planning/templates.html",
        positions=positions,
        chosen=chosen,
        retired=retired,
        listing=listing,
        groups=groups,
        is_all=scope is None,
        authors=authors,
        retire_form=ActionForm("retire"),
    )


def _template_form(me: Account, scope: set[int] | None, **kwargs) -> TemplateForm:
    form = TemplateForm(**kwargs)
    form.position_id.choices = options(
        [("", _("— pilih jabatan —"))] + [(p.id, p.name) for p in _positions(scope)]
    )
    form.parent_rhk_id.choices = options(
        [("", _("— tidak ada —"))]
        + [(r.id, f"{r.evaluation.cycle.name}: {r.text[:80]}") for r in service.parent_choices(me)]
    )
    return form


def _place(form: TemplateForm, refusal: Refused) -> None:
    """Each message beside its field, an indicator row's by its full name; the rest on the form."""
    fields = {f.name: f for f in form}
    fields.update({f.name: f for row in form.indicators for f in row.form})
    for name, message in refusal.errors.items():
        target = fields.get(name)
        if target is not None and name != "indicators":
            target.errors = [*target.errors, message]
        else:
            form.general_errors.append(message)


def _edit(template: RhkTemplate | None):
    me = actor()
    require(me, Action.MANAGE_RHK_TEMPLATES)
    scope = template_position_ids(me)
    if template is not None:
        require(me, Action.MANAGE_RHK_TEMPLATES, template)
        if template.retired_at is not None:
            flash(_("Templat ini sudah ditarik atau diganti; ubah templat yang berlaku."), "warning")
            return redirect(url_for("planning.templates", jabatan=template.position_id))
    data = None
    if request.method == "GET":
        if template is not None:
            data = {
                "position_id": template.position_id,
                "kind": template.kind.value,
                "text": template.text,
                "parent_rhk_id": template.parent_rhk_id,
                "indicators": [
                    {
                        "aspect": i.aspect.value,
                        "text": i.text,
                        "comparator": i.comparator.value,
                        "target": i.target,
                        "target_max": i.target_max,
                        "unit": i.unit,
                        "progress_rule": i.progress_rule.value if i.progress_rule else "",
                    }
                    for i in template.indicators
                ],
            }
        else:
            data = {"position_id": int_or_none(request.args.get("jabatan"), minimum=1)}
    form = _template_form(me, scope, data=data)
    status = 200
    if form.is_submitted() and form.more.data:
        # "Tambah baris indikator": nothing is saved, the form comes back as typed with one more row.
        if len(form.indicators) < service.MAX_INDICATORS:
            form.indicators.append_entry()
    elif form.is_submitted():
        if form.validate():
            try:
                saved = service.publish_template(me, form.values(), template)
            except Refused as refusal:
                db.session.rollback()
                status = 409 if isinstance(refusal, Conflict) else 400
                _place(form, refusal)
            else:
                flash(
                    _("Templat diterbitkan; yang lama ditarik.") if template else _("Templat diterbitkan."),
                    "success",
                )
                return redirect(
                    url_for("planning.templates", jabatan=saved.position_id) + f"#template-{saved.id}"
                )
        else:
            status = 400
    else:  # room for more indicators: the new form's empty rows, one beside a template's own
        wanted = ROWS if template is None else len(form.indicators) + 1
        while len(form.indicators) < min(wanted, service.MAX_INDICATORS):
            form.indicators.append_entry()
    return render_template("planning/form.html", form=form, template=template), status


@bp.route("/templat-rhk/baru", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def new_template():
    """Publish an RHK template for a position."""
    return _edit(None)


@bp.route("/templat-rhk/<int:template_id>/ubah", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def edit_template(template_id: int):
    """Change a template: a new one is published in its place and the old one retired."""
    template = db.session.get(RhkTemplate, template_id)
    if template is None:
        abort(404)
    return _edit(template)


@bp.route("/templat-rhk/<int:template_id>/tarik", methods=["POST"])
@login_required
def retire_template(template_id: int):
    """Stop offering a template."""
    me = actor()
    require(me, Action.MANAGE_RHK_TEMPLATES)
    template = db.session.get(RhkTemplate, template_id)
    if template is None:
        abort(404)
    require(me, Action.MANAGE_RHK_TEMPLATES, template)
    try:
        service.retire_template(me, template)
    except Refused as refusal:
        db.session.rollback()
        for message in refusal.errors.values():
            flash(message, "danger")
    else:
        flash(_("Templat ditarik; pegawai tidak lagi dapat memulai dari templat ini."), "success")
    return redirect(url_for("planning.templates", jabatan=template.position_id))
