"""The evaluation pages: the employee's SKP and self-assessment, the rater's review, the keberatan.

Every form of the page is a class of app/forms/evaluations.py. A POST binds the one form it
belongs to; when that form or the service refuses, the page renders again with that form as it
was typed and its messages beside its fields (400, or 409 when the evaluation changed meanwhile),
every other form showing what is stored. Success redirects, so a back-button resubmission meets
the version check.
"""

from functools import cache

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import aliased, joinedload, selectinload

from app import clock, pagecache
from app.domain import CoreValue, Rating
from app.extensions import db
from app.forms.evaluations import (
    ActionForm,
    AnnexForm,
    AppealCommentForm,
    AppealForm,
    DecisionForm,
    EvidenceForm,
    ExpectationsForm,
    IndicatorForm,
    PageForm,
    PageForms,
    RealisationForm,
    ReturnAssessmentForm,
    ReturnTargetsForm,
    RhkForm,
    indicator_key,
    review_form,
    rhk_key,
    with_addressees,
    with_parents,
)
from app.models import (
    Account,
    Appeal,
    AuditEvent,
    Comment,
    Cycle,
    CycleState,
    Employee,
    Evaluation,
    EvaluationState,
    Evidence,
    Indicator,
    Rhk,
)
from app.models.types import UTCDateTime
from app.policy import Action, acts_as, require
from app.services import Conflict, Refused, tasks
from app.services.credit import credit_of
from app.services.home import locked_early as locked_early_sql
from app.views import actor, apply_refusal, form_checks_csrf, form_version, send_stored
from app.workflow import evaluations as service
from app.workflow.definitions import CYCLE_STATE_LABELS, EVALUATION_STATE_LABELS, LOCKED_EARLY_LABELS
from app.workflow.engine import effective_deadline, phase_open_for
from app.workflow.locks import early_lock_events, locked_early, state_label
from app.workflow.monitoring import page_parts

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")


def load(evaluation_id: int, *, for_action: bool = False) -> Evaluation:
    """The evaluation with what its page shows (constant number of queries), or 404; then the policy.

    `for_action`: only the evaluation with its cycle and people (one statement), for a POST that
    redirects on success; what an action needs besides loads on use, and a refused form renders
    the page from a full load."""
    query = sa.select(Evaluation).where(Evaluation.id == evaluation_id)
    if for_action:
        evaluation = service.for_action(evaluation_id)
        if evaluation is None:
            abort(404)
        require(actor(), Action.VIEW_EVALUATION, evaluation)
        return evaluation
    evaluation = db.session.scalar(
        query.options(
            joinedload(Evaluation.cycle),
            joinedload(Evaluation.employee).joinedload(Employee.position),
            joinedload(Evaluation.unit),
            joinedload(Evaluation.rater),
            joinedload(Evaluation.appeal_handler),
            joinedload(Evaluation.appeal),
            selectinload(Evaluation.rhks).joinedload(Rhk.parent),
            selectinload(Evaluation.rhks).selectinload(Rhk.indicators).selectinload(Indicator.evidence),
            selectinload(Evaluation.behaviour),
            selectinload(Evaluation.comments).joinedload(Comment.author).joinedload(Account.employee),
            selectinload(Evaluation.comments).joinedload(Comment.addressed_to),
        )
    )
    if evaluation is None:
        abort(404)
    require(actor(), Action.VIEW_EVALUATION, evaluation)
    return evaluation


def confirmations(evaluation: Evaluation) -> dict[str, str]:
    """What each irreversible step of the page does, with its real figures, for its confirmation."""
    indicators = evaluation.indicators
    evidence = sum(len(i.evidence) for i in indicators)
    return {
        "submit_targets": _(
            "Ajukan SKP? SKP Anda (%(r)d RHK, %(i)d indikator) akan diajukan kepada %(rater)s, "
            "yang diberi tahu lewat email. Setelah diajukan, SKP tidak dapat diubah lagi kecuali "
            "dikembalikan.",
            r=len(evaluation.rhks),
            i=len(indicators),
            rater=evaluation.rater.name,
        ),
        "submit_assessment": _(
            "Ajukan penilaian mandiri? Realisasi %(i)d indikator dengan %(e)d bukti dukung akan "
            "diajukan kepada %(rater)s untuk dinilai. Setelah diajukan, realisasi dan bukti tidak "
            "dapat diubah lagi kecuali dikembalikan.",
            i=len(indicators),
            e=evidence,
            rater=evaluation.rater.name,
        ),
        "review": _(
            "Kirim hasil? Hasil penilaian akan dikirim kepada %(name)s lewat email dan masa "
            "keberatan %(d)d hari dimulai. Penilaian tidak dapat diubah lagi kecuali melalui "
            "keberatan.",
            name=evaluation.employee.name,
            d=evaluation.cycle.appeal_window_days,
        ),
        "decide_appeal": _(
            "Putuskan keberatan? Keputusan ini final: %(name)s dan %(rater)s menerima email, dan "
            "rating tidak dapat diubah lagi.",
            name=evaluation.employee.name,
            rater=evaluation.rater.name,
        ),
    }


def rater_rhks_of(evaluation: Evaluation) -> list[Rhk]:
    """The rater's RHKs of the same cycle, which an RHK of this SKP may intervene in."""
    return db.session.scalars(
        sa.select(Rhk)
        .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
        .where(Evaluation.cycle_id == evaluation.cycle_id, Evaluation.employee_id == evaluation.rater_id)
        .order_by(Rhk.position)
    ).all()


def body(evaluation: Evaluation, refused: PageForm | None = None) -> str:
    """The page's body, everything but the layout, from a full load; `refused` is the posted form
    that was refused."""
    me = actor()
    roles = {role for role in ("employee", "rater", "appeal_handler") if acts_as(me, evaluation, role)}
    timeline = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "evaluation", AuditEvent.object_id == str(evaluation.id))
        .options(joinedload(AuditEvent.actor).joinedload(Account.employee))
        .order_by(AuditEvent.id)
    ).all()
    early = locked_early([evaluation])
    rater_rhks = []
    if "employee" in roles and evaluation.state == EvaluationState.TARGETS_DRAFT:
        rater_rhks = rater_rhks_of(evaluation)
    return render_template(
        "evaluations/_body.html",
        ev=evaluation,
        roles=roles,
        forms=PageForms(evaluation, refused, rater_rhks),
        timeline=timeline,
        deadline=effective_deadline(evaluation)
        if evaluation.cycle.deadline_of(evaluation.cycle.state)
        else None,
        targets_open=phase_open_for(evaluation, CycleState.TARGET_SETTING) is None,
        assessment_open=phase_open_for(evaluation, CycleState.SELF_ASSESSMENT) is None,
        suggestion=service.suggested_results_rating(evaluation),
        S=EvaluationState,
        state_label=state_label(evaluation, early),
        locked_early=evaluation.id in early,
        early_locks=early_lock_events(evaluation, timeline),
        confirm_text=confirmations(evaluation),
        cycle_label=CYCLE_STATE_LABELS[CycleState(evaluation.cycle.state)],
        CoreValue=CoreValue,
        Rating=Rating,
        credit=credit_of(evaluation),
        monitoring=page_parts(evaluation, me, roles),
    )


def page(evaluation: Evaluation, refused: PageForm | None = None, status: int = 200):
    """Render the evaluation page afresh (a refused form shows what was typed; never cached)."""
    content = pagecache.fragment(None, lambda: body(evaluation, refused))
    return render_template("evaluations/page.html", name=evaluation.employee.name, body=content), status


def act(evaluation_id: int, key: str, build, action, success: str, anchor: str | None = None):
    """Run one POST: bind its form (`build(evaluation, key)`), validate it (CSRF, characters the
    cleaning step took out, its fields), then `action(evaluation, form, version)`; a refusal
    renders the page again with the form as typed."""
    evaluation = load(evaluation_id, for_action=True)
    form = build(evaluation, key)
    if not form.validate():
        db.session.expunge(evaluation)  # the page reads the whole evaluation afresh
        return page(load(evaluation_id), form, 400)
    try:
        version = form_version(form.version.data)  # a form without a readable one changes nothing
        action(evaluation, form, version)
    except Refused as refusal:
        db.session.rollback()
        evaluation = load(evaluation_id)
        apply_refusal(form, refusal)
        return page(evaluation, form, 409 if isinstance(refusal, Conflict) else 400)
    flash(success, "success")
    return redirect(url_for("evaluations.view", evaluation_id=evaluation_id) + f"#{anchor or key}")


def plain(form_class):
    """A form bound to the request that needs nothing of the evaluation to be built."""
    return lambda _evaluation, key: form_class(key)


def child(model, child_id: int):
    """A row by id or 404 (ownership is checked by the service)."""
    row = db.session.get(model, child_id)
    if row is None:
        abort(404)
    return row


@cache
def _list_statement() -> sa.Select:
    """The evaluations a person (`:me`, signed in as `:account_id`) finds on the list at `:now`:
    their own, those they rate in a cycle not closed, the keberatan they decide; as plain rows with
    what the list shows and whether each waits for them (app/services/tasks.py). Built once per
    process: composing it costs more than running it."""
    me, account_id = sa.bindparam("me"), sa.bindparam("account_id")
    now = sa.bindparam("now", type_=UTCDateTime())
    rater = aliased(Employee)
    return (
        sa.select(
            Evaluation.id,
            Evaluation.state,
            Evaluation.set_aside_from,
            Evaluation.predikat,
            Evaluation.employee_id,
            Evaluation.rater_id,
            Evaluation.appeal_handler_id,
            Cycle.id.label("cycle_id"),
            Cycle.name.label("cycle_name"),
            Cycle.year,
            Cycle.state.label("cycle_state"),
            Employee.name.label("employee_name"),
            rater.name.label("rater_name"),
            Appeal.decide_by,
            tasks.deadline_in(Cycle.state).label("deadline"),
            tasks.flag(locked_early_sql()).label("locked_early"),
            tasks.flag(tasks.waits_for(me, account_id, now)).label("waiting"),
        )
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(rater, rater.id == Evaluation.rater_id)
        .outerjoin(Appeal, Appeal.evaluation_id == Evaluation.id)
        .where(
            sa.or_(
                Evaluation.employee_id == me,
                sa.and_(Evaluation.rater_id == me, Cycle.state != CycleState.CLOSED),
                sa.and_(Evaluation.appeal_handler_id == me, Evaluation.state == EvaluationState.APPEALED),
            )
        )
        .order_by(Evaluation.id)
    )


@bp.route("/")
@login_required
def index():
    """My evaluations, my team's, and the keberatan waiting for me; those waiting for me first
    (`?perlu=1`: only those), by the conditions of the home page (app/services/tasks.py)."""
    me = actor()
    only_waiting = request.args.get("perlu") == "1"
    rows = []
    if me.employee_id:
        rows = db.session.execute(
            _list_statement(), {"me": me.employee_id, "account_id": me.id, "now": clock.utcnow()}
        ).all()
    if only_waiting:
        rows = [row for row in rows if row.waiting]
    mine = sorted(
        (row for row in rows if row.employee_id == me.employee_id),
        key=lambda row: (-row.waiting, -row.year, -row.cycle_id),
    )
    team = sorted(
        (row for row in rows if row.rater_id == me.employee_id and row.cycle_state != CycleState.CLOSED),
        key=lambda row: (-row.waiting, -row.cycle_id, row.state, row.employee_name),
    )
    inbox = [
        row
        for row in rows
        if row.appeal_handler_id == me.employee_id and row.state == EvaluationState.APPEALED
    ]
    return render_template(
        "evaluations/index.html",
        mine=mine,
        team=team,
        inbox=inbox,
        flagged={row.id for row in rows if row.waiting},
        only_waiting=only_waiting,
        status=status_texts(rows),
    )


def status_texts(rows) -> dict[int, str]:
    """Each row's state as a person reads it, a lock saying when HR closed the phase early;
    translated once per state, not once per row."""
    texts, status = {}, {}
    for row in rows:
        key = (row.state, bool(row.locked_early))
        if key not in texts:
            labels = LOCKED_EARLY_LABELS if row.locked_early else EVALUATION_STATE_LABELS
            texts[key] = str(labels[EvaluationState(row.state)])
        status[row.id] = texts[key]
    return status


@bp.route("/<int:evaluation_id>")
@login_required
def view(evaluation_id: int):
    """The evaluation page: its body from the fragment cache while nothing it shows has changed
    (app/pagecache.py), else rendered from a full load."""
    if pagecache.cache() is None:
        return page(load(evaluation_id))
    found = pagecache.evaluation_page(evaluation_id, actor())
    if found is None:
        abort(404)
    head, key = found
    require(actor(), Action.VIEW_EVALUATION, head)

    def fresh() -> str:
        return body(load(evaluation_id))  # read after the key: never older than it

    content = pagecache.fragment(key, fresh, fresh)
    return render_template("evaluations/page.html", name=head.employee_name, body=content)


@bp.route("/<int:evaluation_id>/rhk", methods=["POST"])
@bp.route("/<int:evaluation_id>/rhk/<int:rhk_id>", methods=["POST"])
@login_required
@form_checks_csrf
def save_rhk(evaluation_id: int, rhk_id: int | None = None):
    """Add or edit an RHK."""
    rhk = child(Rhk, rhk_id) if rhk_id else None
    return act(
        evaluation_id,
        rhk_key(rhk),
        lambda ev, key: with_parents(RhkForm(key), rater_rhks_of(ev)),
        lambda ev, form, version: service.save_rhk(ev, actor(), form.data, rhk, expected_version=version),
        _("RHK disimpan."),
    )


@bp.route("/<int:evaluation_id>/rhk/<int:rhk_id>/delete", methods=["POST"])
@login_required
@form_checks_csrf
def delete_rhk(evaluation_id: int, rhk_id: int):
    """Remove an RHK."""
    rhk = child(Rhk, rhk_id)
    return act(
        evaluation_id,
        f"rhk-{rhk_id}-delete",
        plain(ActionForm),
        lambda ev, form, version: service.delete_rhk(ev, actor(), rhk, expected_version=version),
        _("RHK dihapus."),
        anchor="skp",
    )


@bp.route("/<int:evaluation_id>/rhk/<int:rhk_id>/indicators", methods=["POST"])
@bp.route("/<int:evaluation_id>/rhk/<int:rhk_id>/indicators/<int:indicator_id>", methods=["POST"])
@login_required
@form_checks_csrf
def save_indicator(evaluation_id: int, rhk_id: int, indicator_id: int | None = None):
    """Add or edit an indicator."""
    rhk = child(Rhk, rhk_id)
    indicator = child(Indicator, indicator_id) if indicator_id else None
    return act(
        evaluation_id,
        indicator_key(rhk, indicator),
        plain(IndicatorForm),
        lambda ev, form, version: service.save_indicator(
            ev, actor(), rhk, form.data, indicator, expected_version=version
        ),
        _("Indikator disimpan."),
    )


@bp.route("/<int:evaluation_id>/indicators/<int:indicator_id>/delete", methods=["POST"])
@login_required
@form_checks_csrf
def delete_indicator(evaluation_id: int, indicator_id: int):
    """Remove an indicator."""
    indicator = child(Indicator, indicator_id)
    return act(
        evaluation_id,
        f"iki-{indicator_id}-delete",
        plain(ActionForm),
        lambda ev, form, version: service.delete_indicator(ev, actor(), indicator, expected_version=version),
        _("Indikator dihapus."),
        anchor=f"rhk-{indicator.rhk_id}",
    )


@bp.route("/<int:evaluation_id>/annex", methods=["POST"])
@login_required
@form_checks_csrf
def save_annex(evaluation_id: int):
    """The lampiran."""
    return act(
        evaluation_id,
        "annex",
        plain(AnnexForm),
        lambda ev, form, version: service.save_annex(ev, actor(), form.data, expected_version=version),
        _("Lampiran disimpan."),
    )


@bp.route("/<int:evaluation_id>/submit-targets", methods=["POST"])
@login_required
@form_checks_csrf
def submit_targets(evaluation_id: int):
    """The employee submits the SKP."""
    return act(
        evaluation_id,
        "targets",
        plain(ActionForm),
        lambda ev, form, version: service.submit_targets(ev, actor(), expected_version=version),
        _("SKP diajukan kepada pejabat penilai."),
    )


@bp.route("/<int:evaluation_id>/return-targets", methods=["POST"])
@login_required
@form_checks_csrf
def return_targets(evaluation_id: int):
    """The rater returns the SKP with a comment."""
    return act(
        evaluation_id,
        "rater-targets",
        plain(ReturnTargetsForm),
        lambda ev, form, version: service.return_targets(
            ev, actor(), form.comment.data, expected_version=version
        ),
        _("SKP dikembalikan kepada pegawai."),
    )


@bp.route("/<int:evaluation_id>/approve-targets", methods=["POST"])
@login_required
@form_checks_csrf
def approve_targets(evaluation_id: int):
    """The rater approves the SKP."""
    return act(
        evaluation_id,
        "approve-targets",
        plain(ActionForm),
        lambda ev, form, version: service.approve_targets(ev, actor(), expected_version=version),
        _("SKP ditetapkan."),
        anchor="rater-targets",
    )


@bp.route("/<int:evaluation_id>/expectations", methods=["POST"])
@login_required
@form_checks_csrf
def save_expectations(evaluation_id: int):
    """The rater's ekspektasi khusus pimpinan."""

    def save(ev, form, version):
        texts = {value.value: form[f"expectation_{value.value}"].data for value in CoreValue}
        service.save_expectations(ev, actor(), texts, expected_version=version)

    return act(
        evaluation_id,
        "expectations",
        plain(ExpectationsForm),
        save,
        _("Ekspektasi khusus pimpinan disimpan."),
    )


@bp.route("/<int:evaluation_id>/indicators/<int:indicator_id>/realisation", methods=["POST"])
@login_required
@form_checks_csrf
def save_realisation(evaluation_id: int, indicator_id: int):
    """The realisation of one indicator."""
    indicator = child(Indicator, indicator_id)
    return act(
        evaluation_id,
        f"real-{indicator_id}",
        plain(RealisationForm),
        lambda ev, form, version: service.save_realisation(
            ev, actor(), indicator, form.realisation.data, form.note.data, expected_version=version
        ),
        _("Realisasi disimpan."),
    )


@bp.route("/<int:evaluation_id>/indicators/<int:indicator_id>/evidence", methods=["POST"])
@login_required
@form_checks_csrf
def add_evidence(evaluation_id: int, indicator_id: int):
    """Upload a file or add a link as evidence."""
    indicator = child(Indicator, indicator_id)

    def add(ev, form, version):
        upload = form.file.data
        if upload is not None:
            data = upload.read()
            service.add_evidence_file(ev, actor(), indicator, upload.filename, data, expected_version=version)
        else:
            service.add_evidence_link(ev, actor(), indicator, form.url.data)

    return act(
        evaluation_id, f"evidence-{indicator_id}", plain(EvidenceForm), add, _("Bukti dukung ditambahkan.")
    )


@bp.route("/<int:evaluation_id>/evidence/<int:evidence_id>/delete", methods=["POST"])
@login_required
@form_checks_csrf
def delete_evidence(evaluation_id: int, evidence_id: int):
    """Remove evidence."""
    evidence = child(Evidence, evidence_id)
    return act(
        evaluation_id,
        f"evidence-{evidence_id}-delete",
        plain(ActionForm),
        lambda ev, form, version: service.delete_evidence(ev, actor(), evidence, expected_version=version),
        _("Bukti dukung dihapus."),
        anchor=f"evidence-{evidence.indicator_id}",
    )


@bp.route("/<int:evaluation_id>/evidence/<int:evidence_id>")
@login_required
def download_evidence(evaluation_id: int, evidence_id: int):
    """Serve an uploaded evidence file to those who may see the evaluation."""
    evaluation = load(evaluation_id)
    evidence = child(Evidence, evidence_id)
    if (
        evidence.stored_name is None
        or db.session.get(Indicator, evidence.indicator_id).rhk.evaluation_id != evaluation.id
    ):
        abort(404)
    return send_stored(evidence, service.evidence_path(evidence.stored_name))


@bp.route("/<int:evaluation_id>/submit-assessment", methods=["POST"])
@login_required
@form_checks_csrf
def submit_assessment(evaluation_id: int):
    """The employee submits the self-assessment."""
    return act(
        evaluation_id,
        "submit-assessment",
        plain(ActionForm),
        lambda ev, form, version: service.submit_assessment(ev, actor(), expected_version=version),
        _("Penilaian mandiri diajukan kepada pejabat penilai."),
        anchor="assessment",
    )


@bp.route("/<int:evaluation_id>/return-assessment", methods=["POST"])
@login_required
@form_checks_csrf
def return_assessment(evaluation_id: int):
    """The rater returns the self-assessment."""
    return act(
        evaluation_id,
        "return-assessment",
        plain(ReturnAssessmentForm),
        lambda ev, form, version: service.return_assessment(
            ev, actor(), form.comment.data, expected_version=version
        ),
        _("Penilaian mandiri dikembalikan kepada pegawai."),
    )


@bp.route("/<int:evaluation_id>/review", methods=["POST"])
@login_required
@form_checks_csrf
def review(evaluation_id: int):
    """The rater's review with both ratings."""

    def save(ev, form, version):
        data = {
            "results_rating": form.results_rating.data,
            "behaviour_rating": form.behaviour_rating.data,
            "summary": form.summary.data,
            "indicator_feedback": {i.id: form[f"feedback_{i.id}"].data for i in service.with_indicators(ev)},
            "behaviour_feedback": {v.value: form[f"behaviour_{v.value}"].data for v in CoreValue},
        }
        service.review(ev, actor(), data, expected_version=version)

    return act(
        evaluation_id,
        "review",
        lambda ev, key: review_form(service.with_indicators(ev), key),  # RHKs with indicators: one read
        save,
        _("Penilaian disimpan dan hasilnya dikirim kepada pegawai."),
    )


@bp.route("/<int:evaluation_id>/appeal", methods=["POST"])
@login_required
@form_checks_csrf
def file_appeal(evaluation_id: int):
    """The employee files a keberatan."""
    return act(
        evaluation_id,
        "appeal",
        plain(AppealForm),
        lambda ev, form, version: service.file_appeal(
            ev, actor(), form.reasons.data, expected_version=version
        ),
        _("Keberatan diajukan kepada atasan pejabat penilai."),
    )


@bp.route("/<int:evaluation_id>/appeal/comment", methods=["POST"])
@login_required
@form_checks_csrf
def appeal_comment(evaluation_id: int):
    """A message in the keberatan thread."""
    return act(
        evaluation_id,
        "appeal-thread",
        lambda ev, key: with_addressees(AppealCommentForm(key), ev),
        lambda ev, form, version: service.appeal_comment(ev, actor(), form.body.data, form.addressed_to.data),
        _("Pesan terkirim."),
    )


@bp.route("/<int:evaluation_id>/appeal/decide", methods=["POST"])
@login_required
@form_checks_csrf
def decide_appeal(evaluation_id: int):
    """The appeal handler's final decision."""
    return act(
        evaluation_id,
        "decision",
        plain(DecisionForm),
        lambda ev, form, version: service.decide_appeal(ev, actor(), form.data, expected_version=version),
        _("Keberatan diputus. Keputusan ini final."),
    )
