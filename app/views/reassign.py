"""HR moves raters and appeal handlers: "semua yang dinilai X → Y" with a preview, or the chosen
evaluations of one employee (from the people pages, the evaluation page, an escalated keberatan)."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.forms.base import options
from app.forms.reassign import BulkConfirmForm, BulkReassignForm, EvaluationsReassignForm
from app.inputs import int_or_none
from app.models import Cycle, Employee, Evaluation, Reassignment
from app.policy import Action, require
from app.services import Conflict, Refused
from app.services.reassign import in_flight, running_temporary
from app.views import actor, apply_refusal, form_checks_csrf
from app.workflow import reassign as service
from app.workflow.definitions import EVALUATION_STATE_LABELS

bp = Blueprint("reassign", __name__, url_prefix="/reassign")


def _until(form):
    return service.end_of_day(form.until.data) if form.until.data else None


def _people(form, names: tuple[str, ...]) -> dict[str, Employee | None]:
    """The employees whose NIPs were typed; an unknown NIP is marked on its field."""
    found = {}
    for name in names:
        nip = getattr(form, name).data
        person = service.by_nip(nip)
        if nip and person is None:
            getattr(form, name).errors = [
                *getattr(form, name).errors,
                _("Tidak ada pegawai dengan NIP %(nip)s.", nip=nip),
            ]
        found[name] = person
    return found


@bp.route("/", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def bulk():
    """Every in-flight evaluation one person rates (or handles) → another person: preview, then confirm."""
    require(actor(), Action.REASSIGN)
    confirming = request.method == "POST" and "expected" in request.form
    form = BulkConfirmForm() if confirming else BulkReassignForm()
    if request.method == "GET":
        form.role.data = (
            request.args.get("role") if request.args.get("role") in ("rater", "appeal_handler") else "rater"
        )
        form.from_nip.data = request.args.get("from", "")[:40]
        form.to_nip.data = request.args.get("to", "")[:40]
    preview = confirm = None
    status = 200
    if form.validate_on_submit():
        people = _people(form, ("from_nip", "to_nip"))
        source, to = people["from_nip"], people["to_nip"]
        if form.from_nip.errors or form.to_nip.errors:
            status = 400
        elif confirming:
            try:
                moved = service.reassign_all(
                    form.role.data,
                    source,
                    to,
                    form.reason.data,
                    _until(form),
                    actor(),
                    expected_count=form.expected.data,
                )
            except Refused as refusal:
                apply_refusal(form, refusal)
                status = 409 if isinstance(refusal, Conflict) else 400
            else:
                flash(
                    _(
                        "%(n)d penilaian dipindahkan dari %(old)s kepada %(new)s. Pegawai yang dinilai dan "
                        "kedua pejabat menerima pemberitahuan email.",
                        n=moved,
                        old=source.name,
                        new=to.name,
                    ),
                    "success",
                )
                return redirect(url_for("reassign.bulk"))
        else:
            errors = service.bulk_errors(source, to, form.reason.data, _until(form))
            if errors:
                apply_refusal(form, Refused(errors))
                status = 400
        if source is not None and not (form.from_nip.errors or form.to_nip.errors):
            preview = service.plan(form.role.data, source, to)
            if status in (200, 409) and preview.movable and to is not None:
                confirm = BulkConfirmForm(formdata=None, data={**form.data, "expected": preview.movable})
    elif request.method == "POST":
        status = 400
    return render_template(
        "reassign/bulk.html",
        form=form,
        preview=preview,
        confirm=confirm,
        role_label=service.role_label,
        running=running_temporary(),
        until_day=service.last_day(_until(form)) if form.until.data and preview else None,
        last_day=service.last_day,
    ), status


def _evaluations_of(employee: Employee) -> list[Evaluation]:
    return list(
        db.session.scalars(
            sa.select(Evaluation)
            .join(Cycle, Cycle.id == Evaluation.cycle_id)
            .where(Evaluation.employee_id == employee.id, in_flight())
            .options(
                joinedload(Evaluation.cycle),
                joinedload(Evaluation.rater),
                joinedload(Evaluation.appeal_handler),
            )
            .order_by(Cycle.year.desc(), Evaluation.id.desc())
        )
    )


def _versions(text: str) -> dict[int, int]:
    """`"12:3,13:1"` → {12: 3, 13: 1} (what the page was rendered with); unreadable parts dropped."""
    found = {}
    for part in (text or "").split(","):
        key, _sep, value = part.partition(":")
        key, value = int_or_none(key, minimum=1), int_or_none(value, minimum=1)
        if key is not None and value is not None:
            found[key] = value
    return found


@bp.route("/employee/<int:employee_id>", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def employee(employee_id: int):
    """A new rater and/or appeal handler for the chosen in-flight evaluations of one employee."""
    require(actor(), Action.REASSIGN)
    person = db.session.get(Employee, employee_id)
    if person is None:
        abort(404)
    evaluations = _evaluations_of(person)
    form = EvaluationsReassignForm()
    form.evaluation_ids.choices = options((ev.id, ev.cycle.name) for ev in evaluations)
    if request.method == "GET":
        chosen = int_or_none(request.args.get("evaluation"))
        form.evaluation_ids.data = (
            [chosen] if chosen in {ev.id for ev in evaluations} else [ev.id for ev in evaluations]
        )
        form.rater_nip.data = request.args.get("rater", "")[:40]
        form.handler_nip.data = request.args.get("handler", "")[:40]
        form.versions.data = ",".join(f"{ev.id}:{ev.version}" for ev in evaluations)
    status = 200
    if form.validate_on_submit():
        people = _people(form, ("rater_nip", "handler_nip"))
        if form.rater_nip.errors or form.handler_nip.errors:
            status = 400
        else:
            picked = [ev for ev in evaluations if ev.id in set(form.evaluation_ids.data or [])]
            try:
                changed = service.reassign_evaluations(
                    picked,
                    actor(),
                    rater=people["rater_nip"],
                    handler=people["handler_nip"],
                    reason=form.reason.data,
                    until=_until(form),
                    versions=_versions(form.versions.data),
                )
            except Refused as refusal:
                apply_refusal(form, refusal)
                status = 409 if isinstance(refusal, Conflict) else 400
            else:
                flash(
                    _(
                        "Pejabat untuk %(n)d penilaian %(name)s dipindahkan. Pegawai dan para pejabat "
                        "menerima pemberitahuan email.",
                        n=changed,
                        name=person.name,
                    ),
                    "success",
                )
                return redirect(url_for("reassign.employee", employee_id=person.id))
        if status != 200:
            evaluations = _evaluations_of(person)  # a refusal rolled back: read them again
    elif request.method == "POST":
        status = 400
    history = db.session.scalars(
        sa.select(Reassignment)
        .join(Evaluation, Evaluation.id == Reassignment.evaluation_id)
        .where(Evaluation.employee_id == person.id)
        .options(
            joinedload(Reassignment.from_employee),
            joinedload(Reassignment.to_employee),
            joinedload(Reassignment.created_by),
        )
        .order_by(Reassignment.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "reassign/employee.html",
        person=person,
        evaluations=evaluations,
        form=form,
        history=history,
        state_labels=EVALUATION_STATE_LABELS,
        role_label=service.role_label,
        last_day=service.last_day,
    ), status
