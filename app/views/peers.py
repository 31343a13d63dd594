"""Peer input on behaviour: the rater's request page and the colleague's answer page
(services in app/workflow/monitoring/peers.py).

The employee never reaches either: the request page is the rater's, an answer page its colleague's.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app import clock
from app.domain import CoreValue
from app.extensions import db
from app.forms.peers import HINT_LABELS, CancelForm, PeerRequestForm, answer_form
from app.models import Evaluation, PeerRequest
from app.policy import acts_as
from app.services import Refused
from app.views import actor, apply_refusal, form_checks_csrf
from app.workflow.monitoring import peers as service

bp = Blueprint("peers", __name__)


def local(value):
    """A naive date-time from a form, in the agency's time zone."""
    return value.replace(tzinfo=clock.tz()) if value is not None else None


def rated_evaluation(evaluation_id: int) -> Evaluation:
    """The evaluation whose rater is signed in, or 404/403."""
    evaluation = db.session.get(Evaluation, evaluation_id)
    if evaluation is None:
        abort(404)
    if not acts_as(actor(), evaluation, "rater"):
        abort(403)
    return evaluation


@bp.route("/evaluations/<int:evaluation_id>/rekan", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def request_page(evaluation_id: int):
    """The rater asks colleagues for input on the employee's behaviour, and sees who was asked."""
    evaluation = rated_evaluation(evaluation_id)
    search = (request.args.get("q") or "").strip()[:100]
    form = PeerRequestForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                made = service.request_input(evaluation, actor(), form.peer_ids.data, local(form.due_at.data))
            except Refused as refusal:
                db.session.rollback()
                apply_refusal(form, refusal)
                status = 400
            else:
                flash(_("Permintaan masukan dikirim kepada %(n)d rekan kerja.", n=len(made)), "success")
                return redirect(url_for("peers.request_page", evaluation_id=evaluation_id))
        else:
            status = 400
    offered = service.colleagues(evaluation, search)
    chosen = set(form.peer_ids.data or [])
    missing = chosen - {person.id for person in offered}
    if missing:  # the ones ticked before a refusal stay offered and ticked, whatever the search
        offered = service.colleagues(evaluation, only=missing) + offered
    form.offer(offered)
    if form.due_at.data is None and request.method == "GET":
        deadline = service.review_deadline(evaluation)
        if deadline is not None and deadline > clock.utcnow():
            form.due_at.data = deadline.astimezone(clock.tz()).replace(tzinfo=None)
    return (
        render_template(
            "peers/request.html",
            ev=evaluation,
            form=form,
            offered=offered,
            search=search,
            requests=service.active_requests(evaluation),
            max_peers=service.MAX_PEERS,
            problem=service.closed_reason(evaluation),
            deadline=service.review_deadline(evaluation),
            cancel_form=CancelForm(),
            now=clock.utcnow(),
        ),
        status,
    )


@bp.route("/rekan/<int:request_id>/batal", methods=["POST"])
@login_required
@form_checks_csrf
def cancel(request_id: int):
    """The rater withdraws an unanswered request."""
    peer_request = db.session.get(PeerRequest, request_id)
    if peer_request is None:
        abort(404)
    evaluation = rated_evaluation(peer_request.evaluation_id)
    form = CancelForm()
    if not form.validate():
        flash(form.csrf_token.errors[0] if form.csrf_token.errors else _("Formulir tidak sah."), "danger")
    else:
        try:
            service.cancel_request(peer_request, actor())
        except Refused as refusal:
            flash(str(refusal), "danger")
        else:
            flash(_("Permintaan masukan kepada %(name)s dibatalkan.", name=peer_request.peer.name), "success")
    return redirect(url_for("peers.request_page", evaluation_id=evaluation.id))


def answer_data(form) -> service.AnswerData:
    """What the answer form holds, for the service."""
    data = service.AnswerData()
    for value in CoreValue:
        data.hints[value.value] = form[f"hint_{value.value}"].data
        data.comments[value.value] = form[f"comment_{value.value}"].data
    return data


@bp.route("/rekan/<int:request_id>", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def answer(request_id: int):
    """The colleague's answer page: a hint and a comment per BerAKHLAK value."""
    peer_request = service.load_request(request_id)
    if peer_request is None:
        abort(404)
    me = actor()
    if me is None or me.employee_id != peer_request.peer_id:
        abort(403)
    stored = {row.value.value: row for row in peer_request.answers}
    if request.method == "POST":
        form = answer_form()
    else:
        form = answer_form(
            data={
                **{
                    f"hint_{v}": (row.hint.value if row.hint else service.UNKNOWN)
                    for v, row in stored.items()
                },
                **{f"comment_{v}": row.comment for v, row in stored.items()},
            }
        )
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                first = peer_request.answered_at is None
                service.answer(peer_request, me, answer_data(form))
            except Refused as refusal:
                db.session.rollback()
                peer_request = service.load_request(request_id)
                apply_refusal(form, refusal)
                status = 400
            else:
                flash(
                    _("Terima kasih, masukan Anda tersimpan.")
                    if first
                    else _("Perubahan masukan Anda tersimpan."),
                    "success",
                )
                return redirect(url_for("peers.answer", request_id=request_id))
        else:
            status = 400
    return (
        render_template(
            "peers/answer.html",
            req=peer_request,
            ev=peer_request.evaluation,
            form=form,
            problem=service.answer_problem(peer_request, me),
            CoreValue=CoreValue,
            hint_labels=HINT_LABELS,
        ),
        status,
    )
