"""The home page and the health check."""

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app import database
from app.extensions import db
from app.models import Employee
from app.services import home
from app.views import actor
from app.workflow.definitions import (
    CYCLE_STATE_LABELS,
    EVALUATION_STATE_LABELS,
    LOCKED_EARLY_LABELS,
    LOCKED_LATE_LABELS,
)

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    """The signed-in person's start page: what waits for them first, then their cycle, team and data."""
    account = actor()
    employee = account.employee
    team_size = 0
    if employee is not None:
        # "Data saya" in the statement that reads the person, not three more.
        profile = (joinedload(Employee.position), joinedload(Employee.unit), joinedload(Employee.supervisor))
        db.session.execute(sa.select(Employee).options(*profile).where(Employee.id == employee.id)).all()
    if employee is not None and account.leads_team:
        team_size = db.session.scalar(
            sa.select(sa.func.count()).where(Employee.supervisor_id == employee.id, Employee.active)
        )
    return render_template(
        "main/index.html",
        account=account,
        employee=employee,
        team_size=team_size,
        home=home.for_account(account),
        cycle_labels=CYCLE_STATE_LABELS,
        state_labels=EVALUATION_STATE_LABELS,
        lock_labels={"early": LOCKED_EARLY_LABELS, "late": LOCKED_LATE_LABELS},
    )


@bp.route("/healthz")
def healthz():
    """Liveness and database check for load balancers and operators: an answer within 3 s, always."""
    problem = database.answers()
    if problem:
        return jsonify(status="error", database=problem), 503
    return jsonify(status="ok", database="ok")
