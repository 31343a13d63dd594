"""A unit's SKP and evaluation documents of a cycle as one ZIP, built by the scheduler process.

HR asks (`request_bundle`); the scheduler's `build_bundles` job takes the oldest queued request,
writes every document of the unit into a ZIP in `instance/documents/` one at a time (constant
memory), counting its progress in the row, and marks it done; HR's page shows the progress and
then the link. No web worker renders more than one document.
"""

import logging
import secrets
import zipfile

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, clock
from app.extensions import db
from app.models import Account, Cycle, DocumentBundle, Employee, Evaluation, OrgUnit
from app.output import pdf
from app.services import Refused
from app.storage import PARTIAL, DirectoryStore, files_root

log = logging.getLogger("kinerja.documents")

QUEUED, BUILDING, DONE, FAILED = "queued", "building", "done", "failed"
REPLACED = "replaced"  # a newer ZIP of the same unit and cycle is done; this one's file is gone
PROGRESS_EVERY = 10  # documents between two progress commits


def store() -> DirectoryStore:
    """Where finished bundles are kept: `<files>/documents` (app.storage.files_root)."""
    return DirectoryStore(files_root() / "documents")


def _evaluation_ids(cycle_id: int, unit_id: int) -> list[int]:
    """The unit's evaluations of the cycle, by employee name."""
    return list(
        db.session.scalars(
            sa.select(Evaluation.id)
            .join(Employee, Employee.id == Evaluation.employee_id)
            .where(Evaluation.cycle_id == cycle_id, Evaluation.unit_id == unit_id)
            .order_by(Employee.name, Evaluation.id)
        )
    )


def request_bundle(cycle: Cycle, unit: OrgUnit, actor: Account | None) -> DocumentBundle:
    """Queue the ZIP of the unit's documents (or return the one already queued or building); commits."""
    waiting = db.session.scalar(
        sa.select(DocumentBundle).where(
            DocumentBundle.cycle_id == cycle.id,
            DocumentBundle.unit_id == unit.id,
            DocumentBundle.state.in_([QUEUED, BUILDING]),
        )
    )
    if waiting is not None:
        return waiting
    total = len(_evaluation_ids(cycle.id, unit.id))
    if not total:
        raise Refused(_("Unit %(unit)s tidak memiliki penilaian pada periode ini.", unit=unit.name))
    bundle = DocumentBundle(
        cycle=cycle, unit=unit, requested_by_id=actor.id if actor else None, state=QUEUED, total=total
    )
    db.session.add(bundle)
    db.session.flush()
    audit.record(
        "documents.bundle_requested",
        bundle,
        actor=actor,
        data={"cycle": cycle.name, "unit": unit.code},
    )
    db.session.commit()
    return bundle


def build_bundles() -> int:
    """The scheduler's job: build every queued bundle, oldest first; how many were built."""
    built = 0
    while (bundle_id := _claim()) is not None:
        build(bundle_id)
        built += 1
    return built


def _claim() -> int | None:
    """Take the oldest queued bundle (one UPDATE, so two schedulers never build the same one)."""
    oldest = (
        sa.select(DocumentBundle.id)
        .where(DocumentBundle.state == QUEUED)
        .order_by(DocumentBundle.id)
        .limit(1)
        .scalar_subquery()
    )
    claimed = db.session.scalar(
        sa.update(DocumentBundle)
        .where(DocumentBundle.id == oldest, DocumentBundle.state == QUEUED)
        .values(state=BUILDING)
        .returning(DocumentBundle.id)
    )
    db.session.commit()
    return claimed


def build(bundle_id: int) -> None:
    """Write the bundle's ZIP, counting progress; a failure is recorded on the row, not raised."""
    bundle = db.session.get(DocumentBundle, bundle_id)
    ids = _evaluation_ids(bundle.cycle_id, bundle.unit_id)
    bundle.total, bundle.done = len(ids), 0
    db.session.commit()
    name = f"dokumen-{bundle.id}-{secrets.token_hex(8)}.zip"
    files = store()
    files.root.mkdir(parents=True, exist_ok=True)
    partial = files.path(name + PARTIAL)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            for count, evaluation_id in enumerate(ids, start=1):
                evaluation = pdf.load_for_document(evaluation_id)
                if pdf.skp_ready(evaluation):
                    archive.writestr(pdf.filename("SKP", evaluation), pdf.skp_pdf(evaluation))
                if pdf.evaluation_ready(evaluation):
                    archive.writestr(
                        pdf.filename("Evaluasi-Kinerja", evaluation), pdf.evaluation_pdf(evaluation)
                    )
                if count % PROGRESS_EVERY == 0 or count == len(ids):
                    db.session.execute(
                        sa.update(DocumentBundle).where(DocumentBundle.id == bundle_id).values(done=count)
                    )
                    db.session.commit()
        files.rename(name + PARTIAL, name)
    except Exception as exc:  # noqa: BLE001 - recorded for HR, the scheduler goes on
        db.session.rollback()
        partial.unlink(missing_ok=True)
        log.exception("document bundle %s failed", bundle_id)
        db.session.execute(
            sa.update(DocumentBundle)
            .where(DocumentBundle.id == bundle_id)
            .values(state=FAILED, error=str(exc)[:500], finished_at=clock.utcnow())
        )
        db.session.commit()
        return
    db.session.execute(
        sa.update(DocumentBundle)
        .where(DocumentBundle.id == bundle_id)
        .values(state=DONE, file_name=name, finished_at=clock.utcnow())
    )
    older = db.session.scalars(
        sa.select(DocumentBundle).where(
            DocumentBundle.cycle_id == bundle.cycle_id,
            DocumentBundle.unit_id == bundle.unit_id,
            DocumentBundle.id < bundle_id,
            DocumentBundle.state == DONE,
        )
    ).all()
    for old in older:  # one ZIP per unit and cycle is kept: the newest
        old.state = REPLACED
    db.session.commit()
    for old in older:
        files.delete(old.file_name)


def units_of(cycle: Cycle) -> list[tuple[OrgUnit, int, DocumentBundle | None]]:
    """Each unit with evaluations in the cycle: the unit, how many, and its latest bundle."""
    counts = db.session.execute(
        sa.select(OrgUnit, sa.func.count(Evaluation.id))
        .join(Evaluation, Evaluation.unit_id == OrgUnit.id)
        .where(Evaluation.cycle_id == cycle.id)
        .group_by(OrgUnit.id)
        .order_by(OrgUnit.name)
    ).all()
    latest = {
        bundle.unit_id: bundle
        for bundle in db.session.scalars(
            sa.select(DocumentBundle).where(DocumentBundle.cycle_id == cycle.id).order_by(DocumentBundle.id)
        )
    }
    return [(unit, count, latest.get(unit.id)) for unit, count in counts]


def download_name(bundle: DocumentBundle) -> str:
    """E.g. "Dokumen-PKM-RKP-2027.zip"."""
    cycle = bundle.cycle
    period = f"{cycle.year}" + (f"-{cycle.period:02d}" if cycle.period else "")
    return f"Dokumen-{bundle.unit.code}-{period}.zip"
