"""The SKP and the evaluation document of one evaluation as PDF, for whoever may view it."""

import io

from flask import Blueprint, abort, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.models import Evaluation
from app.output import pdf
from app.policy import Action, can, require
from app.views import actor

bp = Blueprint("documents", __name__, url_prefix="/evaluations")


def document_links(evaluation: Evaluation) -> list[tuple[str, str]]:
    """(label, URL) of the documents an evaluation has so far; the caller may view it."""
    links = []
    if pdf.skp_ready(evaluation):
        links.append((_("SKP (PDF)"), url_for("documents.skp", evaluation_id=evaluation.id)))
    if pdf.evaluation_ready(evaluation):
        links.append(
            (_("Evaluasi kinerja (PDF)"), url_for("documents.evaluation", evaluation_id=evaluation.id))
        )
    return links


@bp.app_context_processor
def inject():
    """Templates list an evaluation's documents with `document_links(ev)`."""
    return {"document_links": document_links}


@bp.app_template_test("may_view_evaluation")
def may_view_evaluation(evaluation: Evaluation) -> bool:
    """Whether the signed-in user may open the evaluation (and so its documents)."""
    return can(actor(), Action.VIEW_EVALUATION, evaluation)


def load(evaluation_id: int) -> Evaluation:
    """The evaluation with what its documents print, or 404; then the policy, as its page asks."""
    evaluation = pdf.load_for_document(evaluation_id)
    if evaluation is None:
        abort(404)
    require(actor(), Action.VIEW_EVALUATION, evaluation)
    return evaluation


def send(data: bytes, name: str):
    """A PDF shown in the browser, saved under `name`; never kept by caches."""
    response = send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:evaluation_id>/skp.pdf")
@login_required
def skp(evaluation_id: int):
    """The SKP, once the rater approved it."""
    evaluation = load(evaluation_id)
    if not pdf.skp_ready(evaluation):
        abort(404)
    return send(pdf.skp_pdf(evaluation), pdf.filename("SKP", evaluation))


@bp.route("/<int:evaluation_id>/evaluasi.pdf")
@login_required
def evaluation(evaluation_id: int):
    """The Dokumen Evaluasi Kinerja Pegawai, once the rater rated."""
    evaluation = load(evaluation_id)
    if not pdf.evaluation_ready(evaluation):
        abort(404)
    return send(pdf.evaluation_pdf(evaluation), pdf.filename("Evaluasi-Kinerja", evaluation))
