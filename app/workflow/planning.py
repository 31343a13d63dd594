"""Planning helpers: copy last period's approved SKP into a new draft, and RHK templates per
position that HR or a unit head publishes for employees to start from. Both keep the cascade
links to the supervisor's current RHK.

A cascade link (the RHK atasan a staff RHK intervenes in) is carried over in this order: the
rater's RHK of the current cycle that was itself copied from the old parent (or, for a template,
the template's parent RHK when it belongs to the current rater in this cycle); else the rater's
RHK of this cycle with the same text; else none, and the page says which RHKs need linking again.

Templates are never edited in place: changing one publishes a new template and retires the old
one, so what an employee started from stays readable in the audit trail.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import aliased, joinedload, selectinload

from app import audit, clock
from app.domain import Aspect, Comparator
from app.extensions import db
from app.models import (
    Account,
    Cycle,
    CycleKind,
    CycleState,
    Evaluation,
    EvaluationState,
    Indicator,
    IndicatorTemplate,
    Position,
    ProgressRule,
    Rhk,
    RhkKind,
    RhkTemplate,
)
from app.policy import Action, can
from app.services import Conflict, Refused
from app.workflow.engine import atomic, phase_open_for
from app.workflow.evaluations import MAX_TEXT, _check_version, _editable_targets, _number, _text, commit

# An earlier SKP counts once its targets were approved (ditetapkan); a draft, a submitted or a
# locked one never was, and a withdrawn or "tidak dinilai" one is no SKP to build on.
APPROVED_STATES = (
    EvaluationState.TARGETS_APPROVED,
    EvaluationState.ASSESSMENT_DRAFT,
    EvaluationState.ASSESSMENT_SUBMITTED,
    EvaluationState.ASSESSMENT_LOCKED,
    EvaluationState.REVIEWED,
    EvaluationState.APPEALED,
    EvaluationState.DECIDED,
    EvaluationState.FINAL,
    EvaluationState.PUBLISHED,
)
# The cycles in which a publisher's RHK may be a template's parent: annual and under way.
RUNNING = (
    CycleState.TARGET_SETTING,
    CycleState.SELF_ASSESSMENT,
    CycleState.SUPERVISOR_REVIEW,
    CycleState.APPEAL,
)
MAX_INDICATORS = 10


def same_text(text: str | None) -> str:
    """An RHK's text as two RHKs are compared: case and spacing do not count."""
    return " ".join((text or "").split()).casefold()


@dataclass
class Added:
    """What a copy or a template added to the draft, and which RHKs lost their cascade link."""

    rhks: int = 0
    indicators: int = 0
    unlinked: list[str] = field(default_factory=list)
    skipped: int = 0  # RHKs left out because the draft already has one with the same text

    def message(self) -> str:
        """The success message, naming the RHKs to link again."""
        text = _("%(r)d RHK dengan %(i)d indikator ditambahkan ke draf SKP.", r=self.rhks, i=self.indicators)
        if self.skipped:
            text += " " + _("%(n)d RHK yang teksnya sudah ada di draf tidak disalin lagi.", n=self.skipped)
        if self.unlinked:
            text += " " + ngettext(
                "RHK ini perlu dihubungkan lagi ke RHK atasan: %(list)s.",
                "RHK berikut perlu dihubungkan lagi ke RHK atasan: %(list)s.",
                len(self.unlinked),
                list="; ".join(f"“{t}”" for t in self.unlinked),
            )
        return text


# ---- the rater's RHKs and the cascade link ------------------------------------------------------


def rater_rhks(evaluation: Evaluation) -> list[Rhk]:
    """The current rater's RHKs of this cycle (the ones a staff RHK may intervene in)."""
    return db.session.scalars(
        sa.select(Rhk)
        .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
        .where(Evaluation.cycle_id == evaluation.cycle_id, Evaluation.employee_id == evaluation.rater_id)
        .order_by(Rhk.position, Rhk.id)
    ).all()


class _Links:
    """Finds the rater's current RHK for an old parent: by copy, by identity, then by text."""

    def __init__(self, evaluation: Evaluation):
        self.rhks = rater_rhks(evaluation)
        self.by_id = {r.id: r for r in self.rhks}
        self.by_source: dict[int, Rhk] = {}
        self.by_text: dict[str, Rhk] = {}
        for rhk in self.rhks:
            if rhk.copied_from_rhk_id is not None:
                self.by_source.setdefault(rhk.copied_from_rhk_id, rhk)
            self.by_text.setdefault(same_text(rhk.text), rhk)

    def for_copy(self, old_parent: Rhk | None) -> Rhk | None:
        """The parent of an RHK copied from one that intervened in `old_parent`."""
        if old_parent is None:
            return None
        return self.by_source.get(old_parent.id) or self.by_text.get(same_text(old_parent.text))

    def for_template(self, parent: Rhk | None) -> Rhk | None:
        """The parent of an RHK started from a template whose parent is `parent`."""
        if parent is None:
            return None
        return self.by_id.get(parent.id) or self.by_text.get(same_text(parent.text))


def _append(evaluation: Evaluation, position: int, kind, text, parent, indicators, **extra) -> Rhk:
    rhk = Rhk(
        evaluation=evaluation,
        kind=kind,
        text=text,
        parent_rhk_id=parent.id if parent else None,
        position=position,
        **extra,
    )
    for n, source in enumerate(indicators):
        rhk.indicators.append(
            Indicator(
                aspect=source.aspect,
                text=source.text,
                comparator=source.comparator,
                target=source.target,
                target_max=source.target_max,
                unit=source.unit,
                progress_rule=source.progress_rule,
                position=n,
            )
        )
    db.session.add(rhk)
    return rhk


# ---- copy last period's SKP ---------------------------------------------------------------------


def previous_skp(evaluation: Evaluation) -> Evaluation | None:
    """The employee's most recent earlier annual SKP whose targets were approved, with its RHKs."""
    cycle = evaluation.cycle
    return db.session.scalar(
        sa.select(Evaluation)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.employee_id == evaluation.employee_id,
            Evaluation.id != evaluation.id,
            Cycle.kind == CycleKind.ANNUAL,
            Evaluation.state.in_([s.value for s in APPROVED_STATES]),
            sa.or_(Cycle.year < cycle.year, sa.and_(Cycle.year == cycle.year, Cycle.id < cycle.id)),
        )
        .order_by(Cycle.year.desc(), Cycle.id.desc())
        .limit(1)
        .options(
            joinedload(Evaluation.cycle),
            selectinload(Evaluation.rhks).joinedload(Rhk.parent),
            selectinload(Evaluation.rhks).selectinload(Rhk.indicators),
        )
    )


def still_missing(evaluation: Evaluation, source: Evaluation) -> list[Rhk]:
    """The RHKs of the earlier SKP whose text the draft does not have yet (what a copy adds)."""
    present = {same_text(rhk.text) for rhk in evaluation.rhks}
    return [rhk for rhk in source.rhks if same_text(rhk.text) not in present]


def _copyable(evaluation: Evaluation) -> bool:
    return evaluation.cycle.kind == CycleKind.ANNUAL


@atomic
def copy_previous_skp(
    evaluation: Evaluation, actor: Account | None, *, expected_version: int | None = None
) -> Added:
    """Copy the RHKs and indicators of the employee's last approved annual SKP into this draft,
    after its own RHKs, with the cascade links carried over; audits and commits.

    Realisations, feedback and evidence stay with the old SKP. Copying the same SKP twice into
    one draft is refused (a second click also meets the version check).
    """
    _editable_targets(evaluation, actor)
    _check_version(evaluation, expected_version)
    if not _copyable(evaluation):
        raise Refused(_("SKP periode lalu hanya dapat disalin ke SKP tahunan."))
    source = previous_skp(evaluation)
    if source is None or not source.rhks:
        raise Refused(_("Belum ada SKP tahunan sebelumnya yang sudah ditetapkan untuk disalin."))
    source_ids = {rhk.id for rhk in source.rhks}
    if any(rhk.copied_from_rhk_id in source_ids for rhk in evaluation.rhks):
        raise Refused(
            _(
                "%(cycle)s sudah disalin ke draf ini. Ubah RHK yang ada, atau hapus dulu RHK "
                "salinannya bila ingin menyalin ulang.",
                cycle=source.cycle.name,
            )
        )
    wanted = still_missing(evaluation, source)
    if not wanted:
        raise Refused(
            _(
                "Semua RHK %(cycle)s sudah ada di draf ini (teks yang sama); tidak ada yang disalin.",
                cycle=source.cycle.name,
            )
        )
    links = _Links(evaluation)
    added = Added(skipped=len(source.rhks) - len(wanted))
    start = len(evaluation.rhks)
    for n, old in enumerate(wanted):
        parent = links.for_copy(old.parent)
        if old.parent_rhk_id is not None and parent is None:
            added.unlinked.append(old.text)
        _append(evaluation, start + n, old.kind, old.text, parent, old.indicators, copied_from_rhk_id=old.id)
        added.rhks += 1
        added.indicators += len(old.indicators)
    evaluation.touch()
    audit.record(
        "evaluation.skp_copied",
        evaluation,
        actor=actor,
        comment=source.cycle.name,
        data={
            "source_evaluation_id": source.id,
            "rhks": added.rhks,
            "indicators": added.indicators,
            "unlinked": len(added.unlinked),
            "skipped": added.skipped,
        },
    )
    commit()
    return added


# ---- start from a template ----------------------------------------------------------------------


def templates_for(position_id: int) -> list[RhkTemplate]:
    """The templates offered to a position now, with their indicators and parent RHK."""
    return db.session.scalars(
        sa.select(RhkTemplate)
        .where(RhkTemplate.position_id == position_id, RhkTemplate.retired_at.is_(None))
        .order_by(RhkTemplate.kind, RhkTemplate.sort_order, RhkTemplate.id)
        .options(selectinload(RhkTemplate.indicators), joinedload(RhkTemplate.parent))
    ).all()


@atomic
def apply_templates(
    evaluation: Evaluation,
    actor: Account | None,
    template_ids: list[int],
    *,
    expected_version: int | None = None,
) -> Added:
    """Add an RHK with its indicators from each chosen template of the employee's position, after
    the draft's own RHKs, linked to the rater's current RHK where one matches; audits and commits."""
    _editable_targets(evaluation, actor)
    _check_version(evaluation, expected_version)
    wanted = list(dict.fromkeys(template_ids or []))
    if not wanted:
        raise Refused(_("Pilih templat yang akan ditambahkan."))
    offered = {t.id: t for t in templates_for(evaluation.employee.position_id)}
    if any(template_id not in offered for template_id in wanted):
        raise Refused(
            _(
                "Templat yang dipilih tidak lagi tersedia untuk jabatan Anda (mungkin baru saja "
                "ditarik atau diganti). Muat ulang halaman lalu pilih lagi."
            )
        )
    links = _Links(evaluation)
    added = Added()
    start = len(evaluation.rhks)
    for n, template_id in enumerate(wanted):
        template = offered[template_id]
        parent = links.for_template(template.parent)
        if template.parent_rhk_id is not None and parent is None:
            added.unlinked.append(template.text)
        _append(evaluation, start + n, template.kind, template.text, parent, template.indicators)
        added.rhks += 1
        added.indicators += len(template.indicators)
    evaluation.touch()
    audit.record(
        "evaluation.templates_applied",
        evaluation,
        actor=actor,
        data={"templates": wanted, "rhks": added.rhks, "indicators": added.indicators},
    )
    commit()
    return added


# ---- what the SKP draft offers -----------------------------------------------------------------


@dataclass
class Offer:
    """A template as the draft shows it: whether the SKP has its RHK already, where it would link."""

    template: RhkTemplate
    in_skp: bool
    link: Rhk | None


@dataclass
class PlanningPart:
    """The planning helpers on the SKP draft."""

    previous: Evaluation | None = None
    previous_counts: tuple[int, int] = (0, 0)  # RHKs and indicators a copy would add
    previous_copied: bool = False
    previous_skipped: int = 0  # RHKs of the earlier SKP whose text the draft has already
    previous_unlinked: int = 0
    offers: list[Offer] = field(default_factory=list)
    relink: list[Rhk] = field(default_factory=list)

    @property
    def addable(self) -> list[Offer]:
        """Templates whose RHK is not in the SKP yet ("tambahkan semua")."""
        return [offer for offer in self.offers if not offer.in_skp]

    def copy_confirm(self) -> str:
        """The copy button's confirmation, with the real figures."""
        rhks, indicators = self.previous_counts
        return _(
            "Salin %(r)d RHK dengan %(i)d indikator dari %(cycle)s ke draf ini? RHK disalin "
            "di bawah RHK yang sudah ada; realisasi, umpan balik dan bukti dukung tidak ikut "
            "disalin. Anda dapat mengubah atau menghapusnya sebelum mengajukan SKP.",
            r=rhks,
            i=indicators,
            cycle=self.previous.cycle.name,
        )

    def all_confirm(self) -> str:
        """The "add all templates" button's confirmation, with the real figures."""
        offers = self.addable
        return _(
            "Tambahkan %(r)d RHK dengan %(i)d indikator dari templat jabatan ke draf ini? Anda "
            "dapat mengubah atau menghapusnya sebelum mengajukan SKP.",
            r=len(offers),
            i=sum(len(o.template.indicators) for o in offers),
        )


def _relink(evaluation: Evaluation) -> list[Rhk]:
    """This draft's copied RHKs whose old RHK intervened in one of the rater's but that have none."""
    old = aliased(Rhk)
    return db.session.scalars(
        sa.select(Rhk)
        .join(old, old.id == Rhk.copied_from_rhk_id)
        .where(
            Rhk.evaluation_id == evaluation.id, Rhk.parent_rhk_id.is_(None), old.parent_rhk_id.is_not(None)
        )
        .order_by(Rhk.position, Rhk.id)
    ).all()


def page_part(evaluation: Evaluation, actor: Account | None, roles: set[str]) -> PlanningPart | None:
    """What the SKP draft offers to start from for this person (None: nothing)."""
    if "employee" not in roles or evaluation.state != EvaluationState.TARGETS_DRAFT:
        return None
    if phase_open_for(evaluation, CycleState.TARGET_SETTING) is not None:
        return None
    part = PlanningPart()
    if _copyable(evaluation):
        part.previous = previous_skp(evaluation)
        if part.previous is not None and part.previous.rhks:
            source_ids = {rhk.id for rhk in part.previous.rhks}
            wanted = still_missing(evaluation, part.previous)
            part.previous_counts = (len(wanted), sum(len(rhk.indicators) for rhk in wanted))
            part.previous_skipped = len(part.previous.rhks) - len(wanted)
            part.previous_copied = any(rhk.copied_from_rhk_id in source_ids for rhk in evaluation.rhks)
        else:
            part.previous = None
    templates = templates_for(evaluation.employee.position_id)
    if templates:
        links = _Links(evaluation)
        present = {same_text(rhk.text) for rhk in evaluation.rhks}
        part.offers = [
            Offer(t, same_text(t.text) in present, links.for_template(t.parent)) for t in templates
        ]
    part.relink = _relink(evaluation)
    if part.previous is None and not part.offers and not part.relink:
        return None
    return part


# ---- publishing templates ----------------------------------------------------------------------


def parent_choices(actor: Account | None) -> list[Rhk]:
    """The publisher's own RHKs in running annual cycles, which a template may intervene in."""
    if actor is None or actor.employee_id is None:
        return []
    return db.session.scalars(
        sa.select(Rhk)
        .join(Evaluation, Evaluation.id == Rhk.evaluation_id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.employee_id == actor.employee_id,
            Cycle.kind == CycleKind.ANNUAL,
            Cycle.state.in_([s.value for s in RUNNING]),
        )
        .options(joinedload(Rhk.evaluation).joinedload(Evaluation.cycle))
        .order_by(Cycle.year.desc(), Cycle.id.desc(), Rhk.position, Rhk.id)
    ).all()


def _indicator_rows(rows: list[dict]) -> list[IndicatorTemplate]:
    """The typed indicator rows as templates; blank rows are skipped, messages name the row's fields."""
    found: list[IndicatorTemplate] = []
    for n, row in enumerate(rows or []):
        if not any(str(row.get(k) or "").strip() for k in ("text", "target", "target_max", "unit")):
            continue
        prefix = f"indicators-{n}-"
        text = _text(row.get("text"), prefix + "text", _("Indikator"))
        try:
            aspect = Aspect(row.get("aspect"))
        except ValueError:
            raise Refused({prefix + "aspect": _("Pilih aspek indikator.")}) from None
        try:
            comparator = Comparator(row.get("comparator"))
        except ValueError:
            raise Refused({prefix + "comparator": _("Pilih cara pembandingan target.")}) from None
        target = _number(row.get("target"), prefix + "target", _("Target"))
        target_max = None
        if comparator is Comparator.RANGE:
            target_max = _number(row.get("target_max"), prefix + "target_max", _("Batas atas target"))
            if target_max < target:
                raise Refused(
                    {prefix + "target_max": _("Batas atas target harus tidak kurang dari batas bawah.")}
                )
        unit = _text(row.get("unit"), prefix + "unit", _("Satuan target"), limit=40)
        rule = row.get("progress_rule") or None
        try:
            rule = ProgressRule(rule) if rule else None
        except ValueError:
            raise Refused({prefix + "progress_rule": _("Pilih cara progres dijumlahkan.")}) from None
        found.append(
            IndicatorTemplate(
                aspect=aspect,
                text=text,
                comparator=comparator,
                target=target,
                target_max=target_max,
                unit=unit,
                progress_rule=rule,
                position=len(found),
            )
        )
    if not found:
        raise Refused(
            {"indicators": _("Isi sedikitnya satu indikator (aspek, indikator, target dan satuan).")}
        )
    if len(found) > MAX_INDICATORS:
        raise Refused({"indicators": _("Paling banyak %(n)d indikator per templat.", n=MAX_INDICATORS)})
    return found


def _may_manage(
    actor: Account | None, target: Position | RhkTemplate | None, field_name: str = "position_id"
) -> None:
    if target is None:
        raise Refused({field_name: _("Pilih jabatan.")})
    if isinstance(target, RhkTemplate) and not can(actor, Action.MANAGE_RHK_TEMPLATES, target):
        raise Refused(
            {
                field_name: _(
                    "Templat ini diterbitkan orang lain; hanya penerbitnya atau admin kepegawaian "
                    "yang dapat mengubah atau menariknya."
                )
            }
        )
    if not can(actor, Action.MANAGE_RHK_TEMPLATES, target):
        raise Refused(
            {
                field_name: _(
                    "Anda hanya dapat mengelola templat untuk jabatan pegawai di unit yang Anda pimpin "
                    "dan unit di bawahnya."
                )
            }
        )


def _retire(
    template: RhkTemplate, actor: Account | None, now: datetime, replaced_by: int | None = None
) -> None:
    """Retire in one conditional statement, so of two simultaneous changes only one wins."""
    done = db.session.execute(
        sa.update(RhkTemplate)
        .where(RhkTemplate.id == template.id, RhkTemplate.retired_at.is_(None))
        .values(retired_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(_("Templat ini sudah ditarik atau diganti oleh orang lain. Muat ulang halaman."))
    audit.record(
        "rhk_template.retired",
        template,
        actor=actor,
        comment=template.text[:200],
        data={"position_id": template.position_id, "replaced_by": replaced_by},
    )


@atomic
def publish_template(actor: Account | None, data: dict, replaces: RhkTemplate | None = None) -> RhkTemplate:
    """Publish an RHK template for a position (kind, text, optional parent RHK of the publisher,
    1 to 10 indicators); with `replaces`, the new one takes its place and the old one is retired.
    Validates everything before writing; audits and commits."""
    position = db.session.get(Position, data.get("position_id")) if data.get("position_id") else None
    _may_manage(actor, position)
    if replaces is not None:
        _may_manage(actor, replaces, "")
        if replaces.retired_at is not None:
            raise Conflict(_("Templat ini sudah ditarik atau diganti. Muat ulang halaman."))
    try:
        kind = RhkKind(data.get("kind"))
    except ValueError:
        raise Refused({"kind": _("Pilih jenis RHK (utama atau tambahan).")}) from None
    text = _text(data.get("text"), "text", _("Rencana hasil kerja"), limit=MAX_TEXT)
    parent_id = data.get("parent_rhk_id") or None
    if parent_id is not None and parent_id not in {rhk.id for rhk in parent_choices(actor)}:
        raise Refused(
            {
                "parent_rhk_id": _(
                    "RHK atasan harus salah satu RHK Anda sendiri pada periode tahunan yang berjalan."
                )
            }
        )
    indicators = _indicator_rows(data.get("indicators") or [])
    duplicate = db.session.scalars(
        sa.select(RhkTemplate.text).where(
            RhkTemplate.position_id == position.id,
            RhkTemplate.retired_at.is_(None),
            RhkTemplate.id != (replaces.id if replaces else 0),
        )
    ).all()
    if same_text(text) in {same_text(t) for t in duplicate}:
        raise Refused({"text": _("Jabatan ini sudah mempunyai templat dengan RHK yang sama.")})
    now = clock.utcnow()
    last = db.session.scalar(
        sa.select(sa.func.max(RhkTemplate.sort_order)).where(RhkTemplate.position_id == position.id)
    )
    template = RhkTemplate(
        position=position,
        kind=kind,
        text=text,
        parent_rhk_id=parent_id,
        author_id=actor.id if actor else None,
        published_at=now,
        sort_order=replaces.sort_order
        if replaces and replaces.position_id == position.id
        else (last or 0) + 1,
        indicators=indicators,
    )
    db.session.add(template)
    db.session.flush()
    audit.record(
        "rhk_template.published",
        template,
        actor=actor,
        comment=text[:200],
        data={
            "position_id": position.id,
            "indicators": len(indicators),
            "replaces": replaces.id if replaces else None,
        },
    )
    if replaces is not None:
        _retire(replaces, actor, now, replaced_by=template.id)
    commit()
    return template


@atomic
def retire_template(actor: Account | None, template: RhkTemplate) -> None:
    """Stop offering a template (SKPs that started from it keep their RHKs); audits and commits."""
    _may_manage(actor, template, "")
    if template.retired_at is not None:
        raise Conflict(_("Templat ini sudah ditarik."))
    _retire(template, actor, clock.utcnow())
    commit()
