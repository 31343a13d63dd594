"""Monitoring stage: dialog kinerja and feedback records, their agreed follow-ups and attachments.

The evaluation's current rater records umpan balik, dialog kinerja, bimbingan and konseling; the
employee writes their own notes (or asks for a dialogue). The employee acknowledges each record
the rater wrote; until then its author may change it, and the text it had is kept in the audit
event of the change (shown as "diubah" with its history). Follow-ups are owned by the employee or
the rater and are marked done (or reopened) by their owner. Only the employee, the rater and the
appeal handler see any of it (`Action.VIEW_DIALOG`). Nothing is written before the cycle opens,
once it is published or closed, or on an evaluation set aside (withdrawn, "tidak dinilai").

Every write validates all of its input before it writes, then records the change and its audit
event (object type `feedback_record`, never the evaluation's own timeline, which HR reads) and
its email in one transaction.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, clock
from app.extensions import db
from app.models import Account, AuditEvent, CycleKind, CycleState, Evaluation, EvaluationState
from app.models.monitoring import FeedbackAttachment, FeedbackKind, FeedbackRecord, FollowUp
from app.notify import notify
from app.policy import Action, acts_as, can
from app.services import Conflict, Refused
from app.services.dialog import EDITED, history_of, kind_label, records_of
from app.workflow.attachments import CheckedFile, checked_file, checked_link, stage_file, stored_path
from app.workflow.engine import atomic, changed_message, frozen_message

K = FeedbackKind
RATER_KINDS = (K.DIALOG, K.FEEDBACK, K.COACHING, K.COUNSELLING)
EMPLOYEE_KINDS = (K.NOTE,)
OWNERS = ("employee", "rater")
MAX_NOTES = 5000
MAX_ACTION = 1000
MAX_DONE_NOTE = 2000
MAX_FOLLOW_UPS = 10
FOLLOW_UP_HORIZON_DAYS = 366  # a follow-up is due within a year of the conversation
SET_ASIDE = (EvaluationState.WITHDRAWN, EvaluationState.NOT_RATED)
ADDED = "dialog.added"


def local_today() -> date:
    """The agency's calendar day now (app.clock)."""
    return clock.now().date()


def period_of(cycle) -> tuple[date, date]:
    """The first and last day of a cycle's period: its year, or for a periodic cycle its months."""
    if cycle.kind == CycleKind.MONTHLY and cycle.period:
        first_month = last_month = cycle.period
    elif cycle.kind == CycleKind.QUARTERLY and cycle.period:
        first_month, last_month = (cycle.period - 1) * 3 + 1, cycle.period * 3
    else:
        first_month, last_month = 1, 12
    last_day = calendar.monthrange(cycle.year, last_month)[1]
    return date(cycle.year, first_month, 1), date(cycle.year, last_month, last_day)


def writable_problem(evaluation: Evaluation) -> str | None:
    """Why no record may be written or changed on this evaluation now, or None."""
    cycle = evaluation.cycle
    if cycle.is_frozen:
        return frozen_message()
    if cycle.state == CycleState.DRAFT:
        return _("Periode ini belum dibuka; catatan dialog kinerja dapat ditulis setelah periode dibuka.")
    if evaluation.state in SET_ASIDE:
        return _("Penilaian ini dikecualikan atau tidak dinilai; tidak ada catatan yang dapat ditulis.")
    return None


def _writable(evaluation: Evaluation) -> None:
    problem = writable_problem(evaluation)
    if problem:
        raise Refused(problem)


def kinds_for(evaluation: Evaluation, actor: Account | None) -> tuple[FeedbackKind, ...]:
    """The kinds of record this person may write on the evaluation (none for the appeal handler)."""
    if acts_as(actor, evaluation, "rater"):
        return RATER_KINDS
    if acts_as(actor, evaluation, "employee"):
        return EMPLOYEE_KINDS
    return ()


# ---- validation ------------------------------------------------------------------------------------


def _text(value, field_name: str, label, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Refused({field_name: _("%(label)s wajib diisi.", label=label)})
    if len(value) > limit:
        raise Refused({field_name: _("%(label)s paling banyak %(n)d karakter.", label=label, n=limit)})
    return value


def _kind(evaluation: Evaluation, actor: Account | None, value) -> FeedbackKind:
    allowed = kinds_for(evaluation, actor)
    if not allowed:
        raise Refused(
            _(
                "Hanya pejabat penilai dan pegawai yang bersangkutan yang dapat menulis catatan "
                "dialog kinerja."
            )
        )
    try:
        kind = FeedbackKind(value)
    except ValueError:
        kind = None
    if kind not in allowed:
        if allowed == EMPLOYEE_KINDS:
            raise Refused({"kind": _("Pegawai hanya dapat menulis catatan sendiri atau permintaan dialog.")})
        raise Refused(
            {"kind": _("Pilih jenis catatan: umpan balik, dialog kinerja, bimbingan, atau konseling.")}
        )
    return kind


def _held_on(evaluation: Evaluation, value) -> date:
    if not isinstance(value, date):
        raise Refused({"held_on": _("Isi tanggal pelaksanaan.")})
    first, last = period_of(evaluation.cycle)
    if not first <= value <= last:
        raise Refused(
            {
                "held_on": _(
                    "Tanggal harus dalam masa periode ini (%(first)s sampai %(last)s).",
                    first=first.strftime("%d-%m-%Y"),
                    last=last.strftime("%d-%m-%Y"),
                )
            }
        )
    if value > local_today():
        raise Refused({"held_on": _("Tanggal pelaksanaan tidak boleh setelah hari ini.")})
    return value


@dataclass(frozen=True)
class FollowUpInput:
    """One agreed action as typed: what, by when, whose ("employee" or "rater")."""

    action: str | None
    due_on: date | None
    owner: str | None
    row: int = 0


def _follow_ups(evaluation: Evaluation, kind: FeedbackKind, held_on: date, rows) -> list[FollowUp]:
    """The follow-ups of a new record, checked; rows with nothing typed are skipped."""
    rows = [r for r in rows if (r.action or "").strip() or r.due_on is not None]
    if rows and kind == K.NOTE:
        raise Refused(
            _("Tindak lanjut disepakati dalam catatan pejabat penilai, bukan dalam catatan pegawai.")
        )
    if len(rows) > MAX_FOLLOW_UPS:
        raise Refused(_("Paling banyak %(n)d tindak lanjut per catatan.", n=MAX_FOLLOW_UPS))
    latest = held_on + timedelta(days=FOLLOW_UP_HORIZON_DAYS)
    found = []
    for r in rows:
        prefix = f"follow_ups-{r.row}-"
        action = _text(r.action, prefix + "action", _("Tindak lanjut"), MAX_ACTION)
        if r.due_on is None:
            raise Refused({prefix + "due_on": _("Isi tanggal tenggat tindak lanjut.")})
        if r.due_on < held_on:
            raise Refused({prefix + "due_on": _("Tenggat tidak boleh sebelum tanggal pelaksanaan.")})
        if r.due_on > latest:
            raise Refused(
                {prefix + "due_on": _("Tenggat paling lambat satu tahun setelah tanggal pelaksanaan.")}
            )
        owner_id = {"employee": evaluation.employee_id, "rater": evaluation.rater_id}.get(r.owner or "")
        if owner_id is None:
            raise Refused({prefix + "owner": _("Pilih penanggung jawab: pegawai atau pejabat penilai.")})
        found.append(FollowUp(action=action, due_on=r.due_on, owner_id=owner_id))
    return found


def _attachment(
    upload: tuple[str | None, bytes] | None, url: str | None
) -> tuple[FeedbackAttachment, CheckedFile | None] | None:
    """A checked file (name, bytes) or link, or None when neither was given."""
    if upload is not None and upload[1] is not None and (upload[0] or upload[1]):
        checked = checked_file(upload[0], upload[1], field="file")
        row = FeedbackAttachment(
            filename=checked.filename,
            stored_name=checked.stored_name,
            content_type=checked.content_type,
            size=checked.size,
        )
        return row, checked
    if (url or "").strip():
        return FeedbackAttachment(url=checked_link(url, field="url")), None
    return None


def _commit(staged: CheckedFile | None = None) -> None:
    """Commit (a staged file takes its name only then); on any failure roll back at once."""
    if staged is not None:
        stage_file(staged)  # last: it becomes the attachment's file only when the commit succeeds
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _check_version(record: FeedbackRecord, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise Conflict(changed_message())


def _snapshot(record: FeedbackRecord) -> dict:
    return {"kind": record.kind.value, "held_on": record.held_on.isoformat(), "notes": record.notes}


# ---- services --------------------------------------------------------------------------------------


@atomic
def add_record(
    evaluation: Evaluation,
    actor: Account | None,
    kind,
    held_on: date | None,
    notes: str | None,
    follow_ups=(),
    *,
    upload: tuple[str | None, bytes] | None = None,
    url: str | None = None,
) -> FeedbackRecord:
    """The rater records feedback, a dialog kinerja, bimbingan or konseling (with agreed follow-ups);
    the employee writes a note or asks for a dialogue. The other party is emailed; commits."""
    kind = _kind(evaluation, actor, kind)
    _writable(evaluation)
    held_on = _held_on(evaluation, held_on)
    notes = _text(notes, "notes", _("Catatan"), MAX_NOTES)
    actions = _follow_ups(evaluation, kind, held_on, follow_ups)
    attached = _attachment(upload, url)
    now = clock.utcnow()
    record = FeedbackRecord(
        evaluation_id=evaluation.id,
        author_id=actor.id,
        kind=kind,
        held_on=held_on,
        notes=notes,
        created_at=now,
        updated_at=now,
        follow_ups=actions,
        attachments=[attached[0]] if attached else [],
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        ADDED,
        record,
        actor=actor,
        data={"evaluation": evaluation.id, "kind": kind.value, "follow_ups": len(actions)},
    )
    context = dict(
        cycle=evaluation.cycle,
        evaluation=evaluation,
        employee=evaluation.employee,
        record=record,
        kind_name=kind_label(kind),
        follow_ups=actions,
    )
    if kind == K.NOTE:
        notify(
            "dialog_note",
            evaluation.rater,
            f"dialog_note:{record.id}",
            subject=_("Catatan dari %(name)s tentang kinerjanya", name=evaluation.employee.name),
            **context,
        )
    else:
        notify(
            "dialog_recorded",
            evaluation.employee,
            f"dialog_recorded:{record.id}",
            subject=_(
                "%(kind)s dari %(name)s menunggu konfirmasi Anda", kind=kind_label(kind), name=actor.name
            ),
            author=actor,
            **context,
        )
    _commit(attached[1] if attached else None)
    return record


def _own_open_record(record: FeedbackRecord, actor: Account | None) -> Evaluation:
    """The record's evaluation, when the actor wrote it, still plays the part it wrote it in, and
    the employee has not acknowledged it yet."""
    evaluation = record.evaluation
    if actor is None or record.author_id != actor.id or record.kind not in kinds_for(evaluation, actor):
        raise Refused(_("Hanya penulis catatan ini yang dapat mengubahnya."))
    if record.acknowledged_at is not None:
        raise Refused(_("Catatan ini sudah dikonfirmasi pegawai sehingga tidak dapat diubah lagi."))
    _writable(evaluation)
    return evaluation


@atomic
def edit_record(
    record: FeedbackRecord,
    actor: Account | None,
    kind,
    held_on: date | None,
    notes: str | None,
    *,
    expected_version: int | None = None,
) -> FeedbackRecord:
    """The author changes kind, date or notes until the employee acknowledges; what it said before
    stays in the audit event (the page's history); commits."""
    evaluation = _own_open_record(record, actor)
    _check_version(record, expected_version)
    kind = _kind(evaluation, actor, kind)
    held_on = _held_on(evaluation, held_on)
    notes = _text(notes, "notes", _("Catatan"), MAX_NOTES)
    follow_up_start = min((f.due_on for f in record.follow_ups), default=None)
    if follow_up_start is not None and held_on > follow_up_start:
        raise Refused({"held_on": _("Tanggal pelaksanaan tidak boleh setelah tenggat tindak lanjutnya.")})
    before = _snapshot(record)
    if before == {"kind": kind.value, "held_on": held_on.isoformat(), "notes": notes}:
        return record  # nothing changed: no history line
    record.kind, record.held_on, record.notes = kind, held_on, notes
    record.updated_at = clock.utcnow()
    audit.record(EDITED, record, actor=actor, data={"evaluation": evaluation.id, "before": before})
    _commit()
    return record


@atomic
def add_attachment(
    record: FeedbackRecord,
    actor: Account | None,
    *,
    upload: tuple[str | None, bytes] | None = None,
    url: str | None = None,
    expected_version: int | None = None,
) -> FeedbackAttachment:
    """The author attaches a file (PDF, JPG, PNG) or a link until the record is acknowledged; commits."""
    evaluation = _own_open_record(record, actor)
    _check_version(record, expected_version)
    attached = _attachment(upload, url)
    if attached is None:
        raise Refused({"file": _("Pilih berkas atau isi tautan.")})
    row, checked = attached
    record.attachments.append(row)
    record.updated_at = clock.utcnow()
    audit.record(
        "dialog.attached",
        record,
        actor=actor,
        data={"evaluation": evaluation.id, "file": row.filename, "url": row.url},
    )
    _commit(checked)
    return row


@atomic
def acknowledge(
    record: FeedbackRecord, actor: Account | None, *, expected_version: int | None = None
) -> None:
    """The employee confirms having received a record the rater wrote; it is then fixed; commits."""
    evaluation = record.evaluation
    if not acts_as(actor, evaluation, "employee"):
        raise Refused(_("Hanya pegawai yang bersangkutan yang dapat mengonfirmasi catatan ini."))
    if record.kind == K.NOTE:
        raise Refused(_("Catatan Anda sendiri tidak perlu dikonfirmasi."))
    if record.acknowledged_at is not None:
        raise Refused(_("Catatan ini sudah dikonfirmasi."))
    _writable(evaluation)
    _check_version(record, expected_version)
    record.acknowledged_at = clock.utcnow()
    audit.record("dialog.acknowledged", record, actor=actor, data={"evaluation": evaluation.id})
    _commit()


def _owned_follow_up(follow_up: FollowUp, actor: Account | None) -> Evaluation:
    evaluation = follow_up.record.evaluation
    is_party = acts_as(actor, evaluation, "employee") or acts_as(actor, evaluation, "rater")
    if not is_party or actor.employee_id != follow_up.owner_id:
        raise Refused(_("Hanya penanggung jawab tindak lanjut ini yang dapat menandainya."))
    _writable(evaluation)
    return evaluation


@atomic
def complete_follow_up(follow_up: FollowUp, actor: Account | None, note: str | None = None) -> None:
    """Its owner marks a follow-up done, with an optional note; a second click is told; commits."""
    evaluation = _owned_follow_up(follow_up, actor)
    note = _text(note, "note", _("Catatan penyelesaian"), MAX_DONE_NOTE, required=False) or None
    done = db.session.execute(
        sa.update(FollowUp)
        .where(FollowUp.id == follow_up.id, FollowUp.done_at.is_(None))
        .values(done_at=clock.utcnow(), done_note=note)
    )
    if done.rowcount != 1:
        db.session.rollback()
        raise Refused(_("Tindak lanjut ini sudah ditandai selesai."))
    audit.record(
        "dialog.follow_up_done",
        follow_up.record,
        actor=actor,
        data={"evaluation": evaluation.id, "follow_up": follow_up.id, "note": note},
    )
    _commit()


@atomic
def reopen_follow_up(follow_up: FollowUp, actor: Account | None) -> None:
    """Its owner takes back a "done" marked by mistake (the cycle still open); commits."""
    evaluation = _owned_follow_up(follow_up, actor)
    reopened = db.session.execute(
        sa.update(FollowUp)
        .where(FollowUp.id == follow_up.id, FollowUp.done_at.is_not(None))
        .values(done_at=None, done_note=None)
    )
    if reopened.rowcount != 1:
        db.session.rollback()
        raise Refused(_("Tindak lanjut ini belum ditandai selesai."))
    audit.record(
        "dialog.follow_up_reopened",
        follow_up.record,
        actor=actor,
        data={"evaluation": evaluation.id, "follow_up": follow_up.id},
    )
    _commit()


def attachment_path(stored_name: str):
    """The committed file of an attachment, to serve."""
    return stored_path(stored_name)


# ---- reading ---------------------------------------------------------------------------------------


@dataclass
class DialogPart:
    """What the evaluation page and the dialog page show of the records to one of the parties."""

    evaluation: Evaluation
    records: list[FeedbackRecord]
    history: dict[int, list[AuditEvent]]
    kinds: tuple[FeedbackKind, ...]  # what this person may write
    problem: str | None  # why nothing can be written now
    me: int | None  # the viewer's employee id
    account_id: int | None
    is_employee: bool
    today: date = field(default_factory=lambda: local_today())
    waiting: list[FeedbackRecord] = field(default_factory=list)  # to acknowledge (the employee)

    @property
    def can_write(self) -> bool:
        """This person may add a record now."""
        return bool(self.kinds) and self.problem is None

    def may_edit(self, record: FeedbackRecord) -> bool:
        """The viewer wrote it, it is not acknowledged, and records may change now."""
        return (
            self.problem is None
            and record.author_id == self.account_id
            and record.acknowledged_at is None
            and record.kind in self.kinds
        )

    def may_acknowledge(self, record: FeedbackRecord) -> bool:
        """The employee, for a record of the rater not yet acknowledged."""
        return (
            self.problem is None and self.is_employee and record.kind != K.NOTE and not record.acknowledged_at
        )

    def may_mark(self, follow_up: FollowUp) -> bool:
        """The owner, while records may change (and the viewer writes here at all)."""
        return self.problem is None and bool(self.kinds) and follow_up.owner_id == self.me


def page_part(evaluation: Evaluation, actor: Account | None, roles: set[str]) -> DialogPart | None:
    """What the evaluation page shows of this part for this person (None: nothing)."""
    if not can(actor, Action.VIEW_DIALOG, evaluation):
        return None
    records = records_of(evaluation.id)
    is_employee = acts_as(actor, evaluation, "employee")
    return DialogPart(
        evaluation=evaluation,
        records=records,
        history=history_of(records),
        kinds=kinds_for(evaluation, actor),
        problem=writable_problem(evaluation),
        me=actor.employee_id,
        account_id=actor.id,
        is_employee=is_employee,
        waiting=[r for r in records if is_employee and r.kind != K.NOTE and r.acknowledged_at is None],
    )
