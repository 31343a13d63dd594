"""The SKP and the evaluation document of one evaluation as PDF, for whoever may view it; HR's
ZIP of a unit's documents, built in the background."""

import io

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.extensions import db
from app.models import Cycle, DocumentBundle, Evaluation, OrgUnit
from app.output import bundles, pdf
from app.policy import Action, can, require
from app.services import Refused
from app.views import actor

bp = Blueprint("documents", __name__)


def document_links(evaluation: Evaluation) -> list[tuple[str, str]]:
    """(label, URL) of the documents an evaluation has so far; the caller may view it."""
    links = []
    if pdf.skp_ready(evaluation):
        links.append((_labels()[0], url_for("documents.skp", evaluation_id=evaluation.id)))
    if pdf.evaluation_ready(evaluation):
        links.append((_labels()[1], url_for("documents.evaluation", evaluation_id=evaluation.id)))
    return links


def _labels() -> tuple[str, str]:
    """The links' labels, translated once per request: a list asks for them on every row."""
    if "document_labels" not in g:
        g.document_labels = (_("SKP (PDF)"), _("Evaluasi kinerja (PDF)"))
    return g.document_labels


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


@bp.errorhandler(pdf.LayoutUnavailable)
def layout_unavailable(exc):
    """The server cannot lay documents out: say so, and what the operator installs."""
    flash(
        _(
            "Dokumen PDF belum dapat dibuat di server ini: pustaka tata letak (Pango) belum terpasang. "
            "Hubungi pengelola server (paket Debian libpango-1.0-0 dan libpangoft2-1.0-0)."
        ),
        "danger",
    )
    return redirect(url_for("main.index"))


def send(data: bytes, name: str):
    """A PDF shown in the browser, saved under `name`; never kept by caches."""
    response = send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/evaluations/<int:evaluation_id>/skp.pdf")
@login_required
def skp(evaluation_id: int):
    """The SKP, once the rater approved it."""
    evaluation = load(evaluation_id)
    if not pdf.skp_ready(evaluation):
        abort(404)
    return send(pdf.skp_pdf(evaluation), pdf.filename("SKP", evaluation))


@bp.route("/evaluations/<int:evaluation_id>/evaluasi.pdf")
@login_required
def evaluation(evaluation_id: int):
    """The Dokumen Evaluasi Kinerja Pegawai, once the rater rated."""
    evaluation = load(evaluation_id)
    if not pdf.evaluation_ready(evaluation):
        abort(404)
    return send(pdf.evaluation_pdf(evaluation), pdf.filename("Evaluasi-Kinerja", evaluation))


def get_or_404(model, row_id: int):
    """A row by id, or 404."""
    row = db.session.get(model, row_id)
    if row is None:
        abort(404)
    return row


@bp.route("/cycles/<int:cycle_id>/dokumen")
@login_required
def cycle_bundles(cycle_id: int):
    """HR: each unit of the cycle with its evaluations and the ZIP of their documents."""
    require(actor(), Action.MANAGE_CYCLES)
    cycle = get_or_404(Cycle, cycle_id)
    return render_template("documents/bundles.html", cycle=cycle, units=bundles.units_of(cycle))


@bp.route("/cycles/<int:cycle_id>/dokumen/<int:unit_id>", methods=["POST"])
@login_required
def request_bundle(cycle_id: int, unit_id: int):
    """HR asks for a unit's ZIP; the scheduler builds it."""
    require(actor(), Action.MANAGE_CYCLES)
    cycle, unit = get_or_404(Cycle, cycle_id), get_or_404(OrgUnit, unit_id)
    try:
        bundle = bundles.request_bundle(cycle, unit, actor())
    except Refused as refusal:
        for message in refusal.errors.values():
            flash(message, "danger")
        return redirect(url_for("documents.cycle_bundles", cycle_id=cycle.id))
    return redirect(url_for("documents.bundle", bundle_id=bundle.id))


@bp.route("/dokumen/<int:bundle_id>")
@login_required
def bundle(bundle_id: int):
    """A bundle's progress, then its link (the page reloads itself while it is being built)."""
    require(actor(), Action.MANAGE_CYCLES)
    bundle = get_or_404(DocumentBundle, bundle_id)
    response = make_response(render_template("documents/bundle.html", bundle=bundle))
    if bundle.state in (bundles.QUEUED, bundles.BUILDING):
        response.headers["Refresh"] = "5"
    return response


@bp.route("/dokumen/<int:bundle_id>/zip")
@login_required
def bundle_zip(bundle_id: int):
    """The finished ZIP."""
    require(actor(), Action.MANAGE_CYCLES)
    bundle = get_or_404(DocumentBundle, bundle_id)
    if bundle.state != bundles.DONE or not bundles.store().exists(bundle.file_name):
        abort(404)
    response = send_file(
        bundles.store().path(bundle.file_name),
        mimetype="application/zip",
        as_attachment=True,
        download_name=bundles.download_name(bundle),
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
