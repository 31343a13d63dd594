"""The daily sweep of stored evidence files that belong to no row.

An upload writes its bytes under a pending name and a commit gives them their real name
(app.storage); a process killed in between leaves a pending file, and a file whose removal
failed after its row was deleted stays behind. Once a day the sweep removes such files when
they are older than a day (no upload takes that long), and finishes the move of a pending
file whose row did commit. Files with a row are never touched.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from app import audit, clock, storage
from app.extensions import db
from app.jobs import days
from app.models import Evidence, FeedbackAttachment, ProgressEvidence

log = logging.getLogger("kinerja.files")

ORPHAN_AGE = timedelta(days=1)
SWEEP = "evidence_sweep"  # the JobDay record of the days swept
CHUNK = 10_000  # names per IN list


@dataclass
class SweepResult:
    """What one sweep did."""

    removed: int = 0  # orphans: files without a row, pending and half-written files
    finished: int = 0  # pending files of committed rows moved into place


FILE_ROWS = (Evidence, ProgressEvidence, FeedbackAttachment)  # every table holding a stored file


def _with_rows(names: set[str]) -> set[str]:
    """Which of these stored names a row holds (bukti dukung, progress evidence, attachments)."""
    names, found = sorted(names), set()
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        for table in FILE_ROWS:
            found.update(db.session.scalars(sa.select(table.stored_name).where(table.stored_name.in_(chunk))))
    return found


def sweep_evidence_files() -> SweepResult:
    """Remove evidence files older than a day that no row holds; idempotent. The caller commits
    (the audit event of what was removed)."""
    store = storage.evidence_store()
    result = SweepResult()
    old = store.list_older_than(clock.utcnow() - ORPHAN_AGE)
    kept = _with_rows({name.removesuffix(storage.PENDING) for name in old})
    for name in old:
        base = name.removesuffix(storage.PENDING)
        if base in kept and name != base:  # committed, but a crash stopped its move: finish it
            storage.finish_pending(store, base)
            store.delete(name)  # the final file was already there: the pending copy is spare
            result.finished += 1
        elif base not in kept:
            store.delete(name)
            result.removed += 1
    if result.removed or result.finished:
        audit.record(
            "evidence.files_swept",
            object_type="evidence",
            data={"removed": result.removed, "finished": result.finished},
        )
    log.info(
        "evidence sweep: %d orphan files removed, %d pending files finished", result.removed, result.finished
    )
    return result


def sweep_once_a_day() -> int:
    """The sweep, at most once per local day whoever calls it (scheduler or cron); commits.
    Returns how many orphan files were removed."""
    if not days.claim(SWEEP, days.local_today()):
        db.session.rollback()
        return 0
    result = sweep_evidence_files()
    db.session.commit()
    return result.removed
