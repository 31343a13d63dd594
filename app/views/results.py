"""The results board: what HR chose at publication (names with predikat, or unit totals only)."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app.domain import Predikat
from app.extensions import db
from app.models import Cycle, CycleState, Evaluation, EvaluationState, PublicationMode
from app.policy import Action, require
from app.views import actor
from app.workflow.distribution import distribution, from_snapshot

bp = Blueprint("results", __name__, url_prefix="/results")


@bp.route("/")
@login_required
def index():
    """Published cycles."""
    require(actor(), Action.VIEW_RESULTS)
    cycles = db.session.scalars(
        sa.select(Cycle)
        .where(Cycle.state.in_([CycleState.PUBLISHED, CycleState.CLOSED]))
        .order_by(Cycle.published_at.desc())
    ).all()
    return render_template("results/index.html", cycles=cycles)


@bp.route("/<int:cycle_id>")
@login_required
def board(cycle_id: int):
    """One cycle's announcement."""
    require(actor(), Action.VIEW_RESULTS)
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None or cycle.state not in (CycleState.PUBLISHED, CycleState.CLOSED):
        abort(404)
    people = None
    if cycle.publication_mode is PublicationMode.NAMES:
        # The page's ids come from the evaluation index alone; only those rows are joined to
        # their employees and units (joining first made the database sort every name).
        published = sa.and_(Evaluation.cycle_id == cycle.id, Evaluation.state == EvaluationState.PUBLISHED)
        announced = cycle.published_totals
        people = db.paginate(
            sa.select(Evaluation.id).where(published).order_by(Evaluation.unit_id, Evaluation.id),
            per_page=current_app.config["PAGE_SIZE"] * 4,
            error_out=False,
            count=announced is None,  # the number of names was kept at publication
        )
        if announced is not None:
            people.total = announced["names"]
        rows = {
            ev.id: ev
            for ev in db.session.scalars(
                sa.select(Evaluation)
                .where(Evaluation.id.in_(people.items))
                .options(joinedload(Evaluation.employee), joinedload(Evaluation.unit))
            )
        }
        people.items = [rows[id_] for id_ in people.items]
    units = from_snapshot(cycle.published_totals) if cycle.published_totals else distribution(cycle)
    total = {p: sum(u.counts[p] for u in units) for p in Predikat}
    total.update(not_rated=sum(u.not_rated for u in units), withdrawn=sum(u.withdrawn for u in units))
    return render_template(
        "results/board.html",
        cycle=cycle,
        total=total,
        units=units,
        people=people,
        Predikat=Predikat,
        names=cycle.publication_mode is PublicationMode.NAMES,
    )
