"""Monitoring stage routes: dialog kinerja and feedback records (services in
app/workflow/monitoring/dialog.py).

`/evaluations/<id>/dialog` shows an evaluation's records with every form (new record, change,
attachment, acknowledgement, follow-up done/reopened) to its employee, rater and appeal handler
only (`Action.VIEW_DIALOG`); the evaluation page shows the same records without the forms. A
refused form renders the page again as typed, with its messages beside its fields (400, or 409
when the record changed meanwhile); success redirects to the record.
"""

from datetime import date

import sqlalchemy as sa
from babel.dates import format_date
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.forms.dialog import (
    ActionForm,
    AttachmentForm,
    DialogForm,
    DialogForms,
    DoneForm,
    EditRecordForm,
    FollowUpRow,
    NewRecordForm,
)
from app.models import Employee, Evaluation
from app.models.monitoring import FeedbackAttachment, FeedbackRecord, FollowUp
from app.policy import Action, require
from app.services import Conflict, Refused
from app.services.dialog import kind_label
from app.views import actor, apply_refusal, form_checks_csrf, form_version, send_stored
from app.workflow.monitoring import dialog as service

bp = Blueprint("dialog", __name__)


@bp.app_template_filter("day")
def day(value: date | None) -> str:
    """A calendar day as Indonesians write it: "5 Januari 2027"."""
    if value is None:
        return "–"
    return format_date(value, "d MMMM yyyy", locale=str(get_locale()))


@bp.app_template_filter("isoday")
def isoday(value: str | None) -> date | None:
    """A day kept as ISO text (an audit event's data) as a date."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.app_template_filter("kind_label")
def kind_label_filter(value) -> str:
    """The Indonesian name of a kind of record."""
    return kind_label(value)


def load(evaluation_id: int) -> Evaluation:
    """The evaluation with the people the page names, or 404; then the policy (parties only)."""
    evaluation = db.session.scalar(
        sa.select(Evaluation)
        .where(Evaluation.id == evaluation_id)
        .options(
            joinedload(Evaluation.cycle),
            joinedload(Evaluation.employee).joinedload(Employee.position),
            joinedload(Evaluation.rater),
            joinedload(Evaluation.appeal_handler),
        )
    )
    if evaluation is None:
        abort(404)
    require(actor(), Action.VIEW_DIALOG, evaluation)
    return evaluation


def record_of(evaluation: Evaluation, record_id: int) -> FeedbackRecord:
    """A record of this evaluation, or 404."""
    record = db.session.get(FeedbackRecord, record_id)
    if record is None or record.evaluation_id != evaluation.id:
        abort(404)
    return record


def follow_up_of(evaluation: Evaluation, follow_up_id: int) -> FollowUp:
    """A follow-up of a record of this evaluation, or 404."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None or follow_up.record.evaluation_id != evaluation.id:
        abort(404)
    return follow_up


def render(evaluation: Evaluation, refused: DialogForm | None = None, status: int = 200):
    """Render the dialog page; `refused` is the posted form that was refused."""
    me = actor()
    part = service.page_part(evaluation, me, set())
    choices = [(kind.value, kind_label(kind)) for kind in part.kinds]
    return (
        render_template(
            "dialog/page.html", ev=evaluation, part=part, forms=DialogForms(choices, refused, part.today)
        ),
        status,
    )


def _refusal(form: DialogForm, refusal: Refused) -> None:
    """Put a refusal beside its field; a follow-up row's ("follow_ups-1-due_on") beside that row's."""
    rows = getattr(form, "follow_ups", None)
    plain = {}
    for name, message in refusal.errors.items():
        parts = name.split("-")
        if rows is not None and len(parts) == 3 and parts[0] == "follow_ups" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(rows.entries) and parts[2] in FollowUpRow.__dict__:
                field = rows.entries[index].form[parts[2]]
                field.errors = [*field.errors, message]
                continue
        plain[name] = message
    apply_refusal(form, Refused(plain) if plain else Refused({}))


def act(evaluation_id: int, form_class, key: str, action, success: str, anchor, choices: bool = False):
    """Run one POST: bind its form, validate it, then `action(evaluation, form)`; a refusal renders
    the page again with the form as typed. `anchor`: where to land, or a function of the result."""
    evaluation = load(evaluation_id)
    form = form_class(key)
    if choices:
        kinds = service.kinds_for(evaluation, actor())
        form.kind.choices = [(kind.value, kind_label(kind)) for kind in kinds]
    if not form.validate():
        return render(evaluation, form, 400)
    try:
        result = action(evaluation, form)
    except Refused as refusal:
        db.session.rollback()
        evaluation = load(evaluation_id)
        _refusal(form, refusal)
        return render(evaluation, form, 409 if isinstance(refusal, Conflict) else 400)
    flash(success, "success")
    if callable(anchor):
        anchor = anchor(result)
    return redirect(url_for("dialog.page", evaluation_id=evaluation_id) + f"#{anchor}")


def _upload(form) -> tuple[str | None, bytes] | None:
    upload = form.file.data
    return (upload.filename, upload.read()) if upload is not None else None


@bp.route("/evaluations/<int:evaluation_id>/dialog")
@login_required
def page(evaluation_id: int):
    """The records of an evaluation with their forms."""
    return render(load(evaluation_id))


@bp.route("/evaluations/<int:evaluation_id>/dialog", methods=["POST"])
@login_required
@form_checks_csrf
def add_record(evaluation_id: int):
    """Record feedback, a dialog kinerja, bimbingan or konseling (rater), or a note (employee)."""

    def add(ev, form):
        rows = [
            service.FollowUpInput(row.form.action.data, row.form.due_on.data, row.form.owner.data, index)
            for index, row in enumerate(form.follow_ups.entries)
        ]
        return service.add_record(
            ev,
            actor(),
            form.kind.data,
            form.held_on.data,
            form.notes.data,
            rows,
            upload=_upload(form),
            url=form.url.data,
        )

    return act(
        evaluation_id,
        NewRecordForm,
        "record-new",
        add,
        _("Catatan disimpan."),
        lambda record: f"record-{record.id}",
        choices=True,
    )


@bp.route("/evaluations/<int:evaluation_id>/dialog/<int:record_id>", methods=["POST"])
@login_required
@form_checks_csrf
def edit_record(evaluation_id: int, record_id: int):
    """Its author changes a record until the employee acknowledges it."""

    def edit(ev, form):
        service.edit_record(
            record_of(ev, record_id),
            actor(),
            form.kind.data,
            form.held_on.data,
            form.notes.data,
            expected_version=form_version(form.version.data),
        )

    return act(
        evaluation_id,
        EditRecordForm,
        f"record-{record_id}",
        edit,
        _("Perubahan catatan disimpan; isi sebelumnya tetap tercatat di riwayatnya."),
        f"record-{record_id}",
        choices=True,
    )


@bp.route("/evaluations/<int:evaluation_id>/dialog/<int:record_id>/attachments", methods=["POST"])
@login_required
@form_checks_csrf
def add_attachment(evaluation_id: int, record_id: int):
    """Its author attaches a file or link to a record."""

    def attach(ev, form):
        service.add_attachment(
            record_of(ev, record_id),
            actor(),
            upload=_upload(form),
            url=form.url.data,
            expected_version=form_version(form.version.data),
        )

    return act(
        evaluation_id,
        AttachmentForm,
        f"attach-{record_id}",
        attach,
        _("Lampiran ditambahkan."),
        f"record-{record_id}",
    )


@bp.route("/evaluations/<int:evaluation_id>/dialog/<int:record_id>/acknowledge", methods=["POST"])
@login_required
@form_checks_csrf
def acknowledge(evaluation_id: int, record_id: int):
    """The employee confirms having received a record."""

    def ack(ev, form):
        service.acknowledge(
            record_of(ev, record_id), actor(), expected_version=form_version(form.version.data)
        )

    return act(
        evaluation_id, ActionForm, f"ack-{record_id}", ack, _("Catatan dikonfirmasi."), f"record-{record_id}"
    )


@bp.route("/evaluations/<int:evaluation_id>/dialog/follow-ups/<int:follow_up_id>/done", methods=["POST"])
@login_required
@form_checks_csrf
def complete_follow_up(evaluation_id: int, follow_up_id: int):
    """The owner marks a follow-up done."""

    def done(ev, form):
        service.complete_follow_up(follow_up_of(ev, follow_up_id), actor(), form.note.data)

    return act(
        evaluation_id,
        DoneForm,
        f"follow-up-{follow_up_id}",
        done,
        _("Tindak lanjut ditandai selesai."),
        f"follow-up-{follow_up_id}",
    )


@bp.route("/evaluations/<int:evaluation_id>/dialog/follow-ups/<int:follow_up_id>/reopen", methods=["POST"])
@login_required
@form_checks_csrf
def reopen_follow_up(evaluation_id: int, follow_up_id: int):
    """The owner takes back a "done"."""

    def reopen(ev, form):
        service.reopen_follow_up(follow_up_of(ev, follow_up_id), actor())

    return act(
        evaluation_id,
        ActionForm,
        f"reopen-{follow_up_id}",
        reopen,
        _("Tindak lanjut dibuka kembali."),
        f"follow-up-{follow_up_id}",
    )


@bp.route("/evaluations/<int:evaluation_id>/dialog/<int:record_id>/berkas/<int:file_id>")
@login_required
def download(evaluation_id: int, record_id: int, file_id: int):
    """Serve an attached file to the parties of the evaluation."""
    evaluation = load(evaluation_id)
    record = record_of(evaluation, record_id)
    attachment = db.session.get(FeedbackAttachment, file_id)
    if attachment is None or attachment.record_id != record.id or attachment.stored_name is None:
        abort(404)
    return send_stored(attachment, service.attachment_path(attachment.stored_name))
