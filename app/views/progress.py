"""The progress log page of an evaluation (rencana aksi / progres) and its forms.

Whoever may see the evaluation sees its log (the employee, the rater, the appeal handler, HR);
the employee writes it, the rater verifies or comments; the services in
app/workflow/monitoring/progress.py decide. A refused form renders the page again as typed
(400, or 409 when the entry changed meanwhile); success redirects to the entry.
"""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from app import clock
from app.extensions import db
from app.forms.evaluations import PageForm
from app.forms.progress import (
    ActionForm,
    EntryForm,
    EvidenceForm,
    LogForms,
    NewEntryForm,
    ReviewForm,
    with_indicators,
)
from app.inputs import int_or_none
from app.models import EvaluationState, ProgressEntry, ProgressEvidence
from app.policy import acts_as
from app.services import Conflict, Refused
from app.views import actor, apply_refusal, form_checks_csrf, form_version, send_stored
from app.views.evaluations import load
from app.workflow.definitions import EVALUATION_STATE_LABELS
from app.workflow.monitoring import progress as service

bp = Blueprint("progress", __name__)

MONTHS = (
    _l("Januari"),
    _l("Februari"),
    _l("Maret"),
    _l("April"),
    _l("Mei"),
    _l("Juni"),
    _l("Juli"),
    _l("Agustus"),
    _l("September"),
    _l("Oktober"),
    _l("November"),
    _l("Desember"),
)


def month_names() -> list[str]:
    """The months as the page names them (translated at request time)."""
    return [str(name) for name in MONTHS]


def _filter(evaluation):
    """The month filter of the page: (value of ?bulan, first day, last day). A periodic evaluation
    shows its own months, an annual one the current month (or, for another year, the month of
    its latest entry), unless another month or the whole year is asked for: a year of entries
    with their forms is a long page."""
    year = evaluation.cycle.year
    raw = request.args.get("bulan", "")
    month = int_or_none(raw, minimum=1, maximum=12)
    if month is None and raw in ("semua", "belum"):
        return raw, date(year, 1, 1), date(year, 12, 31)
    if month is None and evaluation.cycle.is_periodic:
        first, last = service.period_bounds(evaluation.cycle)
        return "periode", first, last
    if month is None:
        today = clock.now().date()
        latest = today if today.year == year else service.latest_entry_date(evaluation)
        month = latest.month if latest is not None else 1
    first, last = service.period_bounds_of_month(year, month)
    return str(month), first, last


def page(evaluation, refused: PageForm | None = None, status: int = 200):
    """Render the log page; `refused` is the posted form that was refused."""
    me = actor()
    roles = {role for role in ("employee", "rater", "appeal_handler") if acts_as(me, evaluation, role)}
    chosen, first, last = _filter(evaluation)
    indicator_id = int_or_none(request.args.get("indikator"), minimum=1)
    indicators = evaluation.indicators
    shown = [i for i in indicators if indicator_id in (None, i.id)] or indicators
    log_ids = service.log_indicators(evaluation)
    entries = service.entries(evaluation, first, last, unverified_only=chosen == "belum")
    by_log: dict[int, list] = {}
    for entry in entries:
        by_log.setdefault(entry.indicator_id, []).append(entry)
    closed = service.closed_reason(evaluation)
    return (
        render_template(
            "progress/page.html",
            ev=evaluation,
            roles=roles,
            me=me,
            forms=LogForms(evaluation, refused, next((i for i in indicators if i.id == indicator_id), None)),
            indicators=indicators,
            shown=shown,
            entries_of=lambda indicator: by_log.get(log_ids[indicator.id], []),
            figures=service.figures(indicators, evaluation.cycle),
            chosen=chosen,
            first=first,
            last=last,
            indicator_id=indicator_id,
            months=month_names(),
            closed=closed,
            may_log="employee" in roles and closed is None,
            may_review="rater" in roles and closed is None,
            today=clock.now().date(),
            state_label=EVALUATION_STATE_LABELS[EvaluationState(evaluation.state)],
        ),
        status,
    )


def entry_in(evaluation, entry_id: int) -> ProgressEntry:
    """An entry of this evaluation's log, or 404 (another evaluation's entry is not found here)."""
    entry = db.session.get(ProgressEntry, entry_id)
    if entry is None:
        abort(404)
    try:
        service.entry_of(evaluation, entry)
    except Refused:
        abort(404)
    return entry


def act(evaluation_id: int, key: str, build, action, success: str, anchor: str | None = None):
    """Run one POST: bind its form, validate it, then `action(evaluation, form, version)`; a
    refusal renders the page again with the form as typed."""
    evaluation = load(evaluation_id)
    form = build(evaluation, key)
    if not form.validate():
        return page(evaluation, form, 400)
    try:
        version = form_version(form.version.data)
        anchor = action(evaluation, form, version) or anchor
    except Refused as refusal:
        db.session.rollback()
        evaluation = load(evaluation_id)
        apply_refusal(form, refusal)
        return page(evaluation, form, 409 if isinstance(refusal, Conflict) else 400)
    flash(success, "success")
    args = {k: v for k, v in request.args.items() if k in ("bulan", "indikator")}
    return redirect(url_for("progress.log", evaluation_id=evaluation_id, **args) + f"#{anchor or key}")


def _upload(form):
    """(filename, bytes) of the form's file, or (None, None)."""
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        return None, None
    return upload.filename, upload.read()


@bp.route("/evaluations/<int:evaluation_id>/progres")
@login_required
def log(evaluation_id: int):
    """The progress log of an evaluation's indicators."""
    return page(load(evaluation_id))


@bp.route("/evaluations/<int:evaluation_id>/progres", methods=["POST"])
@login_required
@form_checks_csrf
def add_entry(evaluation_id: int):
    """The employee logs progress on one indicator."""

    def add(ev, form, _version):
        indicator = next((i for i in ev.indicators if i.id == form.indicator.data), None)
        if indicator is None:
            raise Refused({"indicator": _("Pilih indikator.")})
        filename, data = _upload(form)
        entry = service.add_entry(
            ev,
            actor(),
            indicator,
            form.entry_date.data,
            form.value.data,
            form.note.data,
            filename=filename,
            data=data,
            url=form.url.data,
        )
        return f"entry-{entry.id}"

    return act(
        evaluation_id,
        "entry-new",
        lambda ev, key: with_indicators(NewEntryForm(key), ev),
        add,
        _("Progres dicatat."),
    )


@bp.route("/evaluations/<int:evaluation_id>/progres/<int:entry_id>", methods=["POST"])
@login_required
@form_checks_csrf
def edit_entry(evaluation_id: int, entry_id: int):
    """The author corrects an entry not yet verified."""
    entry = entry_in(load(evaluation_id), entry_id)

    def edit(ev, form, version):
        service.edit_entry(
            ev,
            actor(),
            entry,
            form.entry_date.data,
            form.value.data,
            form.note.data,
            expected_version=version,
        )

    return act(
        evaluation_id,
        f"entry-{entry_id}",
        lambda ev, key: EntryForm(key),
        edit,
        _("Entri progres diubah; nilai lamanya tersimpan di riwayat."),
    )


@bp.route("/evaluations/<int:evaluation_id>/progres/<int:entry_id>/hapus", methods=["POST"])
@login_required
@form_checks_csrf
def delete_entry(evaluation_id: int, entry_id: int):
    """The author removes an entry not yet verified."""
    entry = entry_in(load(evaluation_id), entry_id)
    return act(
        evaluation_id,
        f"entry-{entry_id}-delete",
        lambda ev, key: ActionForm(key),
        lambda ev, form, version: service.delete_entry(ev, actor(), entry, expected_version=version),
        _("Entri progres dihapus."),
        anchor="log",
    )


@bp.route("/evaluations/<int:evaluation_id>/progres/<int:entry_id>/berkas", methods=["POST"])
@login_required
@form_checks_csrf
def add_evidence(evaluation_id: int, entry_id: int):
    """The author attaches a file or a link to an entry."""
    entry = entry_in(load(evaluation_id), entry_id)

    def add(ev, form, version):
        filename, data = _upload(form)
        service.add_evidence(
            ev, actor(), entry, filename=filename, data=data, url=form.url.data, expected_version=version
        )

    return act(
        evaluation_id,
        f"entry-{entry_id}-evidence",
        lambda ev, key: EvidenceForm(key),
        add,
        _("Bukti ditambahkan."),
        anchor=f"entry-{entry_id}",
    )


@bp.route(
    "/evaluations/<int:evaluation_id>/progres/<int:entry_id>/berkas/<int:file_id>/hapus", methods=["POST"]
)
@login_required
@form_checks_csrf
def remove_evidence(evaluation_id: int, entry_id: int, file_id: int):
    """The author removes a file or link of an entry."""
    entry = entry_in(load(evaluation_id), entry_id)
    evidence = next((e for e in entry.evidence if e.id == file_id), None)
    if evidence is None:
        abort(404)
    return act(
        evaluation_id,
        f"entry-file-{file_id}-delete",
        lambda ev, key: ActionForm(key),
        lambda ev, form, version: service.remove_evidence(ev, actor(), evidence, expected_version=version),
        _("Bukti dihapus."),
        anchor=f"entry-{entry_id}",
    )


@bp.route("/evaluations/<int:evaluation_id>/progres/<int:entry_id>/berkas/<int:file_id>")
@login_required
def download_evidence(evaluation_id: int, entry_id: int, file_id: int):
    """Serve a file of an entry to those who may see the evaluation (always a download)."""
    entry = entry_in(load(evaluation_id), entry_id)
    evidence = db.session.get(ProgressEvidence, file_id)
    if evidence is None or evidence.entry_id != entry.id or evidence.stored_name is None:
        abort(404)
    return send_stored(evidence, service.evidence_path(evidence))


@bp.route("/evaluations/<int:evaluation_id>/progres/<int:entry_id>/tinjau", methods=["POST"])
@login_required
@form_checks_csrf
def review_entry(evaluation_id: int, entry_id: int):
    """The rater verifies an entry (with an optional comment) or only comments on it."""
    entry = entry_in(load(evaluation_id), entry_id)
    verifying = request.form.get("step") != "comment"

    def review(ev, form, version):
        if verifying:
            service.verify_entry(ev, actor(), entry, form.comment.data, expected_version=version)
        else:
            service.comment_entry(ev, actor(), entry, form.comment.data, expected_version=version)

    return act(
        evaluation_id,
        f"entry-{entry_id}-review",
        lambda ev, key: ReviewForm(key),
        review,
        _("Entri diverifikasi.") if verifying else _("Komentar disimpan."),
        anchor=f"entry-{entry_id}",
    )


@bp.route("/evaluations/<int:evaluation_id>/progres/<int:entry_id>/batal-verifikasi", methods=["POST"])
@login_required
@form_checks_csrf
def unverify_entry(evaluation_id: int, entry_id: int):
    """The rater takes a verification back, so the author may correct the entry."""
    entry = entry_in(load(evaluation_id), entry_id)
    return act(
        evaluation_id,
        f"entry-{entry_id}-unverify",
        lambda ev, key: ActionForm(key),
        lambda ev, form, version: service.unverify_entry(ev, actor(), entry, expected_version=version),
        _("Verifikasi dibatalkan; pegawai dapat memperbaiki entri ini."),
        anchor=f"entry-{entry_id}",
    )
