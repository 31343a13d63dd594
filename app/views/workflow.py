"""The two state machines as diagrams, the current state highlighted."""

from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from app.models import CycleState, EvaluationState
from app.workflow.definitions import (
    ACTOR_LABELS,
    CYCLE_STATE_LABELS,
    CYCLE_TRANSITIONS,
    EVALUATION_STATE_LABELS,
    EVALUATION_TRANSITIONS,
    mermaid,
)

bp = Blueprint("workflow", __name__, url_prefix="/workflow")

MACHINES = {
    "cycle": (CYCLE_TRANSITIONS, CycleState, CYCLE_STATE_LABELS),
    "evaluation": (EVALUATION_TRANSITIONS, EvaluationState, EVALUATION_STATE_LABELS),
}


@bp.route("/<machine>")
@login_required
def diagram(machine: str):
    """A machine's states (in order) and arrows; `?state=` highlights the current one."""
    if machine not in MACHINES:
        abort(404)
    transitions, states, labels = MACHINES[machine]
    current = request.args.get("state")
    if current not in {s.value for s in states}:
        current = None
    return render_template(
        "workflow/diagram.html",
        machine=machine,
        states=list(states),
        labels=labels,
        transitions=transitions,
        current=current,
        roles=ACTOR_LABELS,
        source=mermaid(transitions, states, labels, current),
    )
