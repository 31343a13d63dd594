"""HR's pages for evaluations that get no result: withdraw one from its cycle, mark one or every
one left "tidak dinilai", take either back before publication."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.forms.set_aside import NotRatedForm, ReinstateForm, WithdrawForm
from app.models import Cycle, Evaluation
from app.policy import Action, require
from app.services import Conflict, Refused
from app.views import actor, apply_refusal, form_checks_csrf, form_version
from app.workflow import set_aside as service
from app.workflow.definitions import EVALUATION_STATE_LABELS, NOT_YET_RATED

bp = Blueprint("set_aside", __name__)


@bp.app_template_global()
def settled_counts(cycle: Cycle) -> dict[str, int]:
    """For the publication page: how many are withdrawn, "tidak dinilai", or still block it."""
    return service.settled_counts(cycle)


def load(evaluation_id: int) -> Evaluation:
    """The evaluation, for HR, or 404."""
    require(actor(), Action.MANAGE_CYCLES)
    return db.session.get(Evaluation, evaluation_id) or abort(404)


def evaluation_page(evaluation: Evaluation, status: int = 200, **forms):
    """The decisions page of one evaluation, with any refused form as it was typed."""
    withdraw = forms.get("withdraw") or WithdrawForm(formdata=None)
    not_rated = forms.get("not_rated") or NotRatedForm(formdata=None)
    reinstate = forms.get("reinstate") or ReinstateForm(formdata=None)
    for form in (withdraw, not_rated, reinstate):
        form.version.data = evaluation.version
    return (
        render_template(
            "set_aside/evaluation.html",
            ev=evaluation,
            withdraw=withdraw,
            not_rated=not_rated,
            reinstate=reinstate,
            state_labels=EVALUATION_STATE_LABELS,
            no_result_yet=[str(s) for s in NOT_YET_RATED],
        ),
        status,
    )


@bp.route("/evaluations/<int:evaluation_id>/pengecualian")
@login_required
def evaluation(evaluation_id: int):
    """What HR may decide for one evaluation that gets no result, or has decided."""
    return evaluation_page(load(evaluation_id))


def decide(evaluation_id: int, form, key: str, call, success: str):
    """Validate `form`, call the service with the version it carries; re-render when refused."""
    ev = load(evaluation_id)
    if form.validate_on_submit():
        try:
            call(ev, form_version(form.version.data))
        except Refused as refusal:
            db.session.rollback()
            apply_refusal(form, refusal)
            ev = load(evaluation_id)
            return evaluation_page(ev, 409 if isinstance(refusal, Conflict) else 400, **{key: form})
        flash(success, "success")
        return redirect(url_for("evaluations.view", evaluation_id=ev.id))
    return evaluation_page(ev, 400, **{key: form})


@bp.route("/evaluations/<int:evaluation_id>/pengecualian/kecualikan", methods=["POST"])
@login_required
@form_checks_csrf
def withdraw(evaluation_id: int):
    """Withdraw the evaluation from its cycle."""
    form = WithdrawForm()
    return decide(
        evaluation_id,
        form,
        "withdraw",
        lambda ev, version: service.withdraw(
            ev, actor(), form.reason.data, form.note.data, expected_version=version
        ),
        _("Penilaian dikecualikan dari periode."),
    )


@bp.route("/evaluations/<int:evaluation_id>/pengecualian/tidak-dinilai", methods=["POST"])
@login_required
@form_checks_csrf
def mark_not_rated(evaluation_id: int):
    """Mark the evaluation "tidak dinilai"."""
    form = NotRatedForm()
    return decide(
        evaluation_id,
        form,
        "not_rated",
        lambda ev, version: service.mark_not_rated(ev, actor(), form.note.data, expected_version=version),
        _("Penilaian ditandai tidak dinilai; pegawai diberi tahu lewat email."),
    )


@bp.route("/evaluations/<int:evaluation_id>/pengecualian/kembalikan", methods=["POST"])
@login_required
@form_checks_csrf
def reinstate(evaluation_id: int):
    """Take the withdrawal or the "tidak dinilai" back."""
    form = ReinstateForm()
    return decide(
        evaluation_id,
        form,
        "reinstate",
        lambda ev, version: service.reinstate(ev, actor(), expected_version=version),
        _("Penilaian dikembalikan ke alur penilaian."),
    )


@bp.route("/cycles/<int:cycle_id>/tidak-dinilai", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def rest_not_rated(cycle_id: int):
    """Who still has no result (they block publication), and marking them all "tidak dinilai"."""
    require(actor(), Action.MANAGE_CYCLES)
    cycle = db.session.get(Cycle, cycle_id) or abort(404)
    form = NotRatedForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                marked = service.mark_rest_not_rated(
                    cycle, actor(), form.note.data, expected_version=form_version(form.version.data)
                )
            except Refused as refusal:
                db.session.rollback()
                apply_refusal(form, refusal)
                status = 409 if isinstance(refusal, Conflict) else 400
                cycle = db.session.get(Cycle, cycle_id)
            else:
                flash(
                    _(
                        "%(n)d penilaian ditandai tidak dinilai; pegawainya diberi tahu lewat email.",
                        n=marked,
                    ),
                    "success",
                )
                return redirect(url_for("cycles.publication", cycle_id=cycle.id))
        else:
            status = 400
    form.version.data = cycle.version
    behind = db.paginate(
        sa.select(Evaluation)
        .where(service.not_yet_rated(cycle))
        .options(joinedload(Evaluation.employee), joinedload(Evaluation.unit))
        .order_by(Evaluation.unit_id, Evaluation.id),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return (
        render_template(
            "set_aside/cycle.html",
            cycle=cycle,
            form=form,
            behind=behind,
            counts=service.settled_counts(cycle),
            state_labels=EVALUATION_STATE_LABELS,
            may_mark=cycle.state in ("supervisor_review", "appeal"),
        ),
        status,
    )
