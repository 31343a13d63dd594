"""Evaluation services: the SKP, the self-assessment with evidence, the review and the keberatan.

Every function checks through the policy and the engine, changes the data, fires its
transition, audits and notifies, then commits; a refusal raises Refused and writes nothing.
"""

import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app import audit, clock, storage
from app.domain import Aspect, Comparator, CoreValue, Rating, predikat
from app.extensions import db
from app.inputs import plain_number
from app.models import (
    Account,
    Appeal,
    AppealOutcome,
    BehaviourNote,
    Comment,
    CycleState,
    Evaluation,
    EvaluationState,
    Evidence,
    Indicator,
    Rhk,
    RhkKind,
)
from app.notify import notify
from app.policy import acts_as
from app.services import Conflict, Refused
from app.workflow.attachments import checked_file, checked_link, stage_file, stored_path
from app.workflow.cycles import hr_employees
from app.workflow.engine import atomic, changed_message, fire_evaluation, frozen_message, phase_open_for

MAX_TEXT = 2000
MAX_LONG_TEXT = 5000


# Built once; the id is its parameter.
_FOR_ACTION = (
    sa.select(Evaluation)
    .where(Evaluation.id == sa.bindparam("evaluation_id"))
    .options(joinedload(Evaluation.cycle), joinedload(Evaluation.employee))
)


def for_action(evaluation_id: int) -> Evaluation | None:
    """The evaluation with what every action reads (its cycle and employee) in one statement;
    what an action needs besides loads on use.

    The rater and the appeal handler are not joined: the one acting is usually one of them, and
    the session already holds the signed-in account's employee, so reading `evaluation.rater`
    then costs no statement; joining them cost every action the rows of two more people.
    """
    return db.session.scalar(_FOR_ACTION, {"evaluation_id": evaluation_id})


def commit() -> None:
    """Commit; a concurrent change of the same evaluation makes this one lose, nothing half-written."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(changed_message()) from None


def _check_version(evaluation: Evaluation, expected_version: int | None) -> None:
    if expected_version is not None and evaluation.version != expected_version:
        raise Conflict(changed_message())


def _text(value: str | None, field: str, label: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Refused({field: _("%(label)s wajib diisi.", label=label)})
    if len(value) > limit:
        raise Refused({field: _("%(label)s paling banyak %(n)d karakter.", label=label, n=limit)})
    return value


def _number(value, field: str, label: str, *, required: bool = True) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise Refused({field: _("%(label)s wajib diisi.", label=label)})
        return None
    try:
        number = Decimal(plain_number(str(value)))
    except InvalidOperation:
        raise Refused({field: _("%(label)s harus berupa angka.", label=label)}) from None
    if not number.is_finite():
        raise Refused({field: _("%(label)s harus berupa angka.", label=label)})
    if number < 0:
        raise Refused({field: _("%(label)s tidak boleh negatif.", label=label)})
    if number >= Decimal("1e12"):
        raise Refused({field: _("%(label)s terlalu besar.", label=label)})
    return number.quantize(Decimal("0.01"))


# ---- the SKP (target setting) ------------------------------------------------------------------


def _editable_targets(evaluation: Evaluation, actor: Account | None) -> None:
    if not acts_as(actor, evaluation, "employee"):
        raise Refused(_("Hanya pegawai yang bersangkutan yang dapat menyusun SKP-nya."))
    if evaluation.state != EvaluationState.TARGETS_DRAFT:
        raise Refused(_("SKP hanya dapat diubah selama masih disusun (belum diajukan atau ditetapkan)."))
    problem = phase_open_for(evaluation, CycleState.TARGET_SETTING)
    if problem:
        raise Refused(problem)


@atomic
def save_rhk(
    evaluation: Evaluation,
    actor: Account | None,
    data: dict,
    rhk: Rhk | None = None,
    *,
    expected_version: int | None = None,
) -> Rhk:
    """Add or edit an RHK (kind, text, optional parent RHK of the supervisor); commits."""
    _editable_targets(evaluation, actor)
    _check_version(evaluation, expected_version)
    text = _text(data.get("text"), "text", _("Rencana hasil kerja"))
    try:
        kind = RhkKind(data.get("kind"))
    except ValueError:
        raise Refused({"kind": _("Pilih jenis RHK (utama atau tambahan).")}) from None
    parent_id = data.get("parent_rhk_id") or None
    if parent_id is not None:
        parent = db.session.get(Rhk, parent_id)
        rater_eval = parent.evaluation if parent else None
        if (
            rater_eval is None
            or rater_eval.employee_id != evaluation.rater_id
            or (rater_eval.cycle_id != evaluation.cycle_id)
        ):
            raise Refused({"parent_rhk_id": _("RHK atasan yang dipilih tidak ditemukan.")})
    if rhk is None:
        rhk = Rhk(evaluation=evaluation, position=len(evaluation.rhks))
        db.session.add(rhk)
    elif rhk.evaluation_id != evaluation.id:
        raise Refused(_("RHK ini bukan bagian dari SKP ini."))
    rhk.kind, rhk.text, rhk.parent_rhk_id = kind, text, parent_id
    evaluation.touch()
    commit()
    return rhk


@atomic
def delete_rhk(
    evaluation: Evaluation, actor: Account | None, rhk: Rhk, *, expected_version: int | None = None
) -> None:
    """Remove an RHK with its indicators; commits."""
    _editable_targets(evaluation, actor)
    _check_version(evaluation, expected_version)
    if rhk.evaluation_id != evaluation.id:
        raise Refused(_("RHK ini bukan bagian dari SKP ini."))
    db.session.delete(rhk)
    evaluation.touch()
    commit()


@atomic
def save_indicator(
    evaluation: Evaluation,
    actor: Account | None,
    rhk: Rhk,
    data: dict,
    indicator: Indicator | None = None,
    *,
    expected_version: int | None = None,
) -> Indicator:
    """Add or edit an IKI: aspect, text, comparator, target (or range) and its unit; commits."""
    _editable_targets(evaluation, actor)
    _check_version(evaluation, expected_version)
    if rhk.evaluation_id != evaluation.id or (indicator is not None and indicator.rhk_id != rhk.id):
        raise Refused(_("Indikator ini bukan bagian dari SKP ini."))
    text = _text(data.get("text"), "text", _("Indikator"))
    try:
        aspect = Aspect(data.get("aspect"))
    except ValueError:
        raise Refused({"aspect": _("Pilih aspek indikator.")}) from None
    try:
        comparator = Comparator(data.get("comparator"))
    except ValueError:
        raise Refused({"comparator": _("Pilih cara pembandingan target.")}) from None
    target = _number(data.get("target"), "target", _("Target"))
    target_max = None
    if comparator is Comparator.RANGE:
        target_max = _number(data.get("target_max"), "target_max", _("Batas atas target"))
        if target_max < target:
            raise Refused({"target_max": _("Batas atas target harus tidak kurang dari batas bawah.")})
    unit = _text(data.get("unit"), "unit", _("Satuan target"), limit=40)
    if indicator is None:
        indicator = Indicator(rhk=rhk, position=len(rhk.indicators))
        db.session.add(indicator)
    indicator.aspect, indicator.text, indicator.comparator = aspect, text, comparator
    indicator.target, indicator.target_max, indicator.unit = target, target_max, unit
    evaluation.touch()
    commit()
    return indicator


@atomic
def delete_indicator(
    evaluation: Evaluation,
    actor: Account | None,
    indicator: Indicator,
    *,
    expected_version: int | None = None,
) -> None:
    """Remove an indicator; commits."""
    _editable_targets(evaluation, actor)
    _check_version(evaluation, expected_version)
    if indicator.rhk.evaluation_id != evaluation.id:
        raise Refused(_("Indikator ini bukan bagian dari SKP ini."))
    db.session.delete(indicator)
    evaluation.touch()
    commit()


@atomic
def save_annex(
    evaluation: Evaluation, actor: Account | None, data: dict, *, expected_version: int | None = None
) -> None:
    """The lampiran: resources, accountability scheme, consequences; commits."""
    _editable_targets(evaluation, actor)
    _check_version(evaluation, expected_version)
    evaluation.resources = _text(
        data.get("resources"), "resources", _("Dukungan sumber daya"), required=False, limit=MAX_LONG_TEXT
    )
    evaluation.accountability = _text(
        data.get("accountability"),
        "accountability",
        _("Skema pertanggungjawaban"),
        required=False,
        limit=MAX_LONG_TEXT,
    )
    evaluation.consequences = _text(
        data.get("consequences"), "consequences", _("Konsekuensi"), required=False, limit=MAX_LONG_TEXT
    )
    evaluation.touch()
    commit()


@atomic
def submit_targets(
    evaluation: Evaluation, actor: Account | None, *, expected_version: int | None = None
) -> None:
    """The employee submits the SKP to the rater; commits."""
    fire_evaluation(evaluation, "submit_targets", actor, expected_version=expected_version)
    notify(
        "targets_submitted",
        evaluation.rater,
        f"targets_submitted:{evaluation.id}:{evaluation.version}",
        cycle=evaluation.cycle,
        evaluation=evaluation,
        employee=evaluation.employee,
    )
    commit()


def _add_comment(
    evaluation: Evaluation, actor: Account | None, topic: str, body: str, addressed_to=None
) -> Comment:
    # Added by its key: appending to `evaluation.comments` would read every earlier comment first.
    comment = Comment(
        evaluation_id=evaluation.id, author=actor, topic=topic, body=body, addressed_to=addressed_to
    )
    db.session.add(comment)
    return comment


@atomic
def return_targets(
    evaluation: Evaluation, actor: Account | None, comment: str, *, expected_version: int | None = None
) -> None:
    """The rater returns the SKP with a comment; commits."""
    comment = _text(comment, "comment", _("Komentar"), required=False, limit=MAX_LONG_TEXT)
    fire_evaluation(
        evaluation,
        "return_targets",
        actor,
        ctx={"comment": comment},
        expected_version=expected_version,
        comment=comment,
    )
    _add_comment(evaluation, actor, "targets", comment)
    notify(
        "targets_returned",
        evaluation.employee,
        f"targets_returned:{evaluation.id}:{evaluation.version}",
        cycle=evaluation.cycle,
        evaluation=evaluation,
        comment=comment,
    )
    commit()


@atomic
def save_expectations(
    evaluation: Evaluation,
    actor: Account | None,
    texts: dict[str, str],
    *,
    expected_version: int | None = None,
) -> None:
    """The rater writes the ekspektasi khusus pimpinan per BerAKHLAK value; commits."""
    if not acts_as(actor, evaluation, "rater"):
        raise Refused(_("Hanya pejabat penilai yang dapat menulis ekspektasi khusus pimpinan."))
    if evaluation.state not in (EvaluationState.TARGETS_DRAFT, EvaluationState.TARGETS_SUBMITTED):
        raise Refused(_("Ekspektasi hanya dapat ditulis sebelum SKP ditetapkan."))
    if evaluation.cycle.is_frozen:
        raise Refused(frozen_message())
    _check_version(evaluation, expected_version)
    for value in CoreValue:
        text = _text(texts.get(value.value), f"expectation_{value.value}", value.label, required=False)
        note = evaluation.behaviour_note(value)
        if note is None:
            note = BehaviourNote(value=value)
            evaluation.behaviour.append(note)
        note.expectation = text or None
    evaluation.touch()
    commit()


@atomic
def approve_targets(
    evaluation: Evaluation, actor: Account | None, *, expected_version: int | None = None
) -> None:
    """The rater approves (menetapkan) the SKP; past target setting it opens the self-assessment; commits."""
    fire_evaluation(evaluation, "approve_targets", actor, expected_version=expected_version)
    if evaluation.cycle.state != CycleState.TARGET_SETTING:
        fire_evaluation(evaluation, "open_assessment", None)
    notify(
        "targets_approved",
        evaluation.employee,
        f"targets_approved:{evaluation.id}",
        cycle=evaluation.cycle,
        evaluation=evaluation,
    )
    commit()


# ---- the self-assessment ---------------------------------------------------------------------------


def _editable_assessment(evaluation: Evaluation, actor: Account | None) -> None:
    if not acts_as(actor, evaluation, "employee"):
        raise Refused(_("Hanya pegawai yang bersangkutan yang dapat mengisi penilaian mandirinya."))
    if evaluation.state != EvaluationState.ASSESSMENT_DRAFT:
        raise Refused(_("Realisasi hanya dapat diubah selama penilaian mandiri masih disusun."))
    problem = phase_open_for(evaluation, CycleState.SELF_ASSESSMENT)
    if problem:
        raise Refused(problem)


def _own_indicator(evaluation: Evaluation, indicator: Indicator) -> None:
    if indicator.rhk.evaluation_id != evaluation.id:
        raise Refused(_("Indikator ini bukan bagian dari SKP ini."))


@atomic
def save_realisation(
    evaluation: Evaluation,
    actor: Account | None,
    indicator: Indicator,
    value,
    note: str | None,
    *,
    expected_version: int | None = None,
) -> None:
    """The realisation of one indicator with a note; commits."""
    _editable_assessment(evaluation, actor)
    _check_version(evaluation, expected_version)
    _own_indicator(evaluation, indicator)
    indicator.realisation = _number(value, "realisation", _("Realisasi"))
    indicator.realisation_note = (
        _text(note, "note", _("Catatan"), required=False, limit=MAX_LONG_TEXT) or None
    )
    evaluation.touch()
    commit()


def _commit_with_files() -> None:
    """Commit a change with staged files; on any failure roll back at once, so a pending file
    goes now (not at the end of the request) and the session stays usable."""
    try:
        commit()
    except Exception:
        db.session.rollback()
        raise


def evidence_path(stored_name: str) -> Path:
    """The file of committed evidence, to serve (in the files folder, never under static)."""
    return stored_path(stored_name)


@atomic
def add_evidence_file(
    evaluation: Evaluation,
    actor: Account | None,
    indicator: Indicator,
    filename: str,
    data: bytes,
    *,
    expected_version: int | None = None,
) -> Evidence:
    """Attach a PDF, JPG or PNG (type checked by content, size limited); commits.

    The file takes its name only when the row commits; any failure leaves none behind.
    """
    _editable_assessment(evaluation, actor)
    _check_version(evaluation, expected_version)
    _own_indicator(evaluation, indicator)
    upload = checked_file(filename, data)
    evidence = Evidence(
        indicator_id=indicator.id,
        filename=upload.filename,
        stored_name=upload.stored_name,
        content_type=upload.content_type,
        size=upload.size,
    )
    db.session.add(evidence)
    evaluation.touch()
    audit.record(
        "evidence.added", evaluation, actor=actor, data={"indicator": indicator.id, "file": upload.filename}
    )
    stage_file(upload)  # last: it becomes the evidence file only when the commit succeeds
    _commit_with_files()
    return evidence


@atomic
def add_evidence_link(
    evaluation: Evaluation, actor: Account | None, indicator: Indicator, url: str
) -> Evidence:
    """Attach a link (http or https); commits."""
    _editable_assessment(evaluation, actor)
    _own_indicator(evaluation, indicator)
    url = checked_link(url)
    evidence = Evidence(indicator_id=indicator.id, url=url)
    db.session.add(evidence)
    evaluation.touch()
    audit.record("evidence.added", evaluation, actor=actor, data={"indicator": indicator.id, "url": url})
    commit()
    return evidence


@atomic
def delete_evidence(
    evaluation: Evaluation, actor: Account | None, evidence: Evidence, *, expected_version: int | None = None
) -> None:
    """Remove evidence while the self-assessment is a draft; commits (the file goes after the commit)."""
    _editable_assessment(evaluation, actor)
    _check_version(evaluation, expected_version)
    indicator = db.session.get(Indicator, evidence.indicator_id)
    _own_indicator(evaluation, indicator)
    if evidence.stored_name:
        storage.delete_on_commit(storage.evidence_store(), evidence.stored_name)
    db.session.delete(evidence)
    evaluation.touch()
    _commit_with_files()


@atomic
def submit_assessment(
    evaluation: Evaluation, actor: Account | None, *, expected_version: int | None = None
) -> None:
    """The employee submits the self-assessment; commits."""
    fire_evaluation(evaluation, "submit_assessment", actor, expected_version=expected_version)
    notify(
        "assessment_submitted",
        evaluation.rater,
        f"assessment_submitted:{evaluation.id}:{evaluation.version}",
        cycle=evaluation.cycle,
        evaluation=evaluation,
        employee=evaluation.employee,
    )
    commit()


@atomic
def return_assessment(
    evaluation: Evaluation, actor: Account | None, comment: str, *, expected_version: int | None = None
) -> None:
    """The rater returns the self-assessment for revision; commits."""
    comment = _text(comment, "comment", _("Komentar"), required=False, limit=MAX_LONG_TEXT)
    fire_evaluation(
        evaluation,
        "return_assessment",
        actor,
        ctx={"comment": comment},
        expected_version=expected_version,
        comment=comment,
    )
    _add_comment(evaluation, actor, "assessment", comment)
    notify(
        "assessment_returned",
        evaluation.employee,
        f"assessment_returned:{evaluation.id}:{evaluation.version}",
        cycle=evaluation.cycle,
        evaluation=evaluation,
        comment=comment,
    )
    commit()


# ---- the review ----------------------------------------------------------------------------------------


def suggested_results_rating(evaluation: Evaluation) -> Rating | None:
    """A suggestion from attainment (shown as such; the rater decides)."""
    main = [i for rhk in evaluation.rhks if rhk.kind is RhkKind.MAIN for i in rhk.indicators]
    if not main or any(i.attained is None for i in main):
        return None
    attained = sum(1 for i in main if i.attained)
    exceeded = sum(
        1
        for i in main
        if (i.comparator is Comparator.AT_LEAST and i.realisation > i.target)
        or (i.comparator is Comparator.AT_MOST and i.realisation < i.target)
    )
    if attained == len(main) and exceeded * 2 > len(main):
        return Rating.ABOVE
    if attained * 2 >= len(main):
        return Rating.MEETS
    return Rating.BELOW


def _rating(value, field: str) -> Rating:
    try:
        return Rating(value)
    except ValueError:
        raise Refused({field: _("Pilih salah satu rating.")}) from None


_REVIEWED_PARTS = (
    sa.select(Evaluation)
    .where(Evaluation.id == sa.bindparam("evaluation_id"))
    .options(joinedload(Evaluation.rhks).joinedload(Rhk.indicators), selectinload(Evaluation.behaviour))
)


def with_indicators(evaluation: Evaluation) -> list[Indicator]:
    """The evaluation's indicators in order, its RHKs read with them in one statement and its
    behaviour notes in a second (what a review writes into), unless already read; on use each
    RHK's indicators would cost a statement of their own."""
    if "rhks" in sa.inspect(evaluation).unloaded:
        db.session.execute(_REVIEWED_PARTS, {"evaluation_id": evaluation.id}).unique().all()
    return evaluation.indicators


@atomic
def review(
    evaluation: Evaluation, actor: Account | None, data: dict, *, expected_version: int | None = None
) -> None:
    """The rater's review: feedback per indicator and value, both ratings, the predikat; delivers it; commits.

    `data`: results_rating, behaviour_rating, summary, indicator_feedback {id: text},
    behaviour_feedback {value: text}.
    """
    _check_version(evaluation, expected_version)
    if not acts_as(actor, evaluation, "rater"):
        raise Refused(_("Anda tidak berwenang melakukan tindakan ini pada penilaian ini."))
    results = _rating(data.get("results_rating"), "results_rating")
    behaviour = _rating(data.get("behaviour_rating"), "behaviour_rating")
    feedback = data.get("indicator_feedback") or {}
    for indicator in with_indicators(evaluation):
        indicator.feedback = (
            _text(feedback.get(indicator.id), "feedback", _("Umpan balik"), required=False) or None
        )
    values = data.get("behaviour_feedback") or {}
    for value in CoreValue:
        note = evaluation.behaviour_note(value)
        if note is None:
            note = BehaviourNote(value=value)
            evaluation.behaviour.append(note)
        note.feedback = (
            _text(values.get(value.value), f"behaviour_{value.value}", value.label, required=False) or None
        )
    evaluation.review_summary = (
        _text(data.get("summary"), "summary", _("Catatan penilaian"), required=False, limit=MAX_LONG_TEXT)
        or None
    )
    evaluation.results_rating, evaluation.behaviour_rating = results, behaviour
    evaluation.predikat = predikat(results, behaviour)
    now = clock.utcnow()
    evaluation.reviewed_at = now
    evaluation.appeal_until = clock.end_of_day_after(now, evaluation.cycle.appeal_window_days)
    fire_evaluation(evaluation, "review", actor, comment=evaluation.predikat.value)
    notify(
        "result_delivered",
        evaluation.employee,
        f"result_delivered:{evaluation.id}",
        cycle=evaluation.cycle,
        evaluation=evaluation,
    )
    commit()


# ---- keberatan -------------------------------------------------------------------------------------------


@atomic
def file_appeal(
    evaluation: Evaluation, actor: Account | None, reasons: str, *, expected_version: int | None = None
) -> Appeal:
    """The employee files a keberatan with reasons, within the window; commits."""
    reasons = _text(reasons, "reasons", _("Alasan keberatan"), required=False, limit=MAX_LONG_TEXT)
    fire_evaluation(
        evaluation, "file_appeal", actor, ctx={"reasons": reasons}, expected_version=expected_version
    )
    decide_by = clock.end_of_day_after(clock.utcnow(), evaluation.cycle.appeal_decision_days)
    appeal = Appeal(
        evaluation=evaluation,
        reasons=reasons,
        filed_at=clock.utcnow(),
        decide_by=decide_by,
        results_before=evaluation.results_rating,
        behaviour_before=evaluation.behaviour_rating,
    )
    db.session.add(appeal)
    context = dict(
        cycle=evaluation.cycle, evaluation=evaluation, employee=evaluation.employee, decide_by=decide_by
    )
    notify("appeal_filed", evaluation.appeal_handler, f"appeal_filed:{evaluation.id}", **context)
    for officer in hr_employees():
        notify("appeal_filed_hr", officer, f"appeal_filed_hr:{evaluation.id}:{officer.id}", **context)
    commit()
    return appeal


@atomic
def appeal_comment(
    evaluation: Evaluation, actor: Account | None, body: str, addressed_to: str | None = None
) -> Comment:
    """The appeal thread: the handler asks the employee or the rater; they answer; commits."""
    body = _text(body, "body", _("Komentar"), limit=MAX_LONG_TEXT)
    if evaluation.state != EvaluationState.APPEALED:
        raise Refused(_("Diskusi keberatan hanya selama keberatan belum diputus."))
    if acts_as(actor, evaluation, "appeal_handler"):
        target = {"employee": evaluation.employee, "rater": evaluation.rater}.get(addressed_to or "")
        if target is None:
            raise Refused({"addressed_to": _("Pilih kepada siapa penjelasan diminta.")})
        comment = _add_comment(evaluation, actor, "appeal", body, addressed_to=target)
        notify(
            "explanation_requested",
            target,
            f"explanation_requested:{evaluation.id}:{secrets.token_hex(4)}",
            cycle=evaluation.cycle,
            evaluation=evaluation,
            employee=evaluation.employee,
            comment=body,
        )
    elif acts_as(actor, evaluation, "employee") or acts_as(actor, evaluation, "rater"):
        comment = _add_comment(evaluation, actor, "appeal", body)
    else:
        raise Refused(_("Anda tidak berwenang melakukan tindakan ini pada penilaian ini."))
    evaluation.touch()
    audit.record("appeal.comment", evaluation, actor=actor, comment=body[:200])
    commit()
    return comment


@atomic
def decide_appeal(
    evaluation: Evaluation, actor: Account | None, data: dict, *, expected_version: int | None = None
) -> None:
    """The appeal handler upholds or changes the ratings with reasons; final; commits."""
    _check_version(evaluation, expected_version)
    if not acts_as(actor, evaluation, "appeal_handler"):
        raise Refused(_("Hanya atasan pejabat penilai yang dapat memutus keberatan ini."))
    reasons = _text(
        data.get("reasons"), "reasons", _("Alasan keputusan"), required=False, limit=MAX_LONG_TEXT
    )
    results = _rating(data.get("results_rating"), "results_rating")
    behaviour = _rating(data.get("behaviour_rating"), "behaviour_rating")
    appeal = evaluation.appeal
    changed = (results, behaviour) != (evaluation.results_rating, evaluation.behaviour_rating)
    evaluation.results_rating, evaluation.behaviour_rating = results, behaviour
    evaluation.predikat = predikat(results, behaviour)
    if changed and reasons:
        evaluation.review_summary = (
            (evaluation.review_summary or "") + "\n" + _("Keputusan keberatan: %(r)s", r=reasons)
        )
    fire_evaluation(evaluation, "decide_appeal", actor, ctx={"reasons": reasons}, comment=reasons)
    appeal.outcome = AppealOutcome.CHANGED if changed else AppealOutcome.UPHELD
    appeal.decision_reasons = reasons
    appeal.decided_at = clock.utcnow()
    appeal.decided_by_id = actor.employee_id
    outcome = _("rating diubah") if changed else _("penilaian semula dikuatkan")
    for person in (evaluation.employee, evaluation.rater):
        notify(
            "appeal_decided",
            person,
            f"appeal_decided:{evaluation.id}:{person.id}",
            cycle=evaluation.cycle,
            evaluation=evaluation,
            employee=evaluation.employee,
            outcome=outcome,
            reasons=reasons,
        )
    commit()
