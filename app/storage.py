"""Files kept beside the database (uploaded evidence; later generated documents), behind one
small interface.

`FileStore` is what callers use: put, open, path, exists, rename, delete, list_older_than.
`DirectoryStore` keeps the files in a folder (`instance/evidence` for evidence). A store every
app node can reach (a shared mount, an object store) is another class with the same methods,
returned by `evidence_store()`; no caller changes.

Files follow the database transaction. `put_on_commit` writes the bytes under a pending name
and moves them to their real name only after the session commits; a rollback removes them.
`delete_on_commit` removes a file only after the deletion of its row committed. A crash between
the two steps leaves a pending file: `finish_pending` completes it when its row exists (the
download does), the sweep (`app.jobs.files`) removes it when not. See docs/decisions.md.
"""

import logging
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app import clock
from app.extensions import db

log = logging.getLogger("kinerja.storage")

PENDING = ".pending"  # suffix of bytes written for a transaction that has not committed yet
PARTIAL = ".partial"  # suffix of a file being written (renamed to its name once complete)
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # flat: no separator, never "." or ".."


def pending_name(name: str) -> str:
    """The name under which the bytes of `name` wait for their transaction to commit."""
    return name + PENDING


class FileStore(Protocol):
    """Where files live: names are flat (letters, digits, `_.-`), contents are bytes."""

    def put(self, name: str, data: bytes) -> None:
        """Write `name` whole or not at all (replacing it)."""

    def open(self, name: str) -> BinaryIO:
        """The contents for reading; FileNotFoundError when absent."""

    def path(self, name: str) -> Path:
        """A local path to hand to `send_file` (it may not exist)."""

    def exists(self, name: str) -> bool:
        """Whether `name` is stored."""

    def rename(self, source: str, target: str) -> None:
        """Move `source` to `target` in one step; FileNotFoundError when `source` is absent."""

    def delete(self, name: str) -> None:
        """Remove `name` (nothing when it is absent)."""

    def list_older_than(self, moment: datetime) -> list[str]:
        """Every stored name (pending and half-written ones included) last written before `moment`."""


class DirectoryStore:
    """A `FileStore` in one folder of the local file system (the default)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _file(self, name: str) -> Path:
        if not NAME.fullmatch(name):
            raise ValueError(f"not a stored file name: {name!r}")
        return self.root / name

    def _sync_folder(self) -> None:
        # A rename is durable only once the folder itself reached the disk.
        handle = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)

    def put(self, name: str, data: bytes) -> None:
        """Write `name` whole or not at all: a temporary file flushed to disk, then renamed."""
        target = self._file(name)
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix="tmp_", suffix=PARTIAL)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            # Stamped with the app's clock, the one the sweep compares ages with.
            stamp = clock.utcnow().timestamp()
            os.utime(temporary, (stamp, stamp))
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._sync_folder()

    def open(self, name: str) -> BinaryIO:
        """The contents for reading."""
        return self._file(name).open("rb")

    def path(self, name: str) -> Path:
        """The file's path in the folder."""
        return self._file(name)

    def exists(self, name: str) -> bool:
        """Whether the file is there."""
        return self._file(name).is_file()

    def rename(self, source: str, target: str) -> None:
        """Move in one step (same folder, so atomic)."""
        os.replace(self._file(source), self._file(target))
        self._sync_folder()

    def delete(self, name: str) -> None:
        """Remove the file if it is there."""
        self._file(name).unlink(missing_ok=True)

    def list_older_than(self, moment: datetime) -> list[str]:
        """Names of the files last modified before `moment`."""
        if not self.root.is_dir():
            return []
        limit = moment.timestamp()
        with os.scandir(self.root) as entries:
            return sorted(
                entry.name
                for entry in entries
                if NAME.fullmatch(entry.name)
                and entry.is_file(follow_symlinks=False)
                and entry.stat().st_mtime < limit
            )


def files_root() -> Path:
    """The folder of the files kept beside the database: FILES_DIR (shared by every node when
    there are several), else the instance folder."""
    return Path(current_app.config.get("FILES_DIR") or current_app.instance_path)


def evidence_store() -> FileStore:
    """The store of uploaded evidence, made once per app: `<files>/evidence`."""
    stores = current_app.extensions.setdefault("file_stores", {})
    if "evidence" not in stores:
        stores["evidence"] = DirectoryStore(files_root() / "evidence")
    return stores["evidence"]


# ---- files that follow the database transaction --------------------------------------------------

_STAGED = "storage_staged"  # key in Session.info: [(action, store, name)] of the open transaction


def put_on_commit(store: FileStore, name: str, data: bytes) -> None:
    """Store `name` if, and only when, the current transaction commits."""
    store.put(pending_name(name), data)
    db.session.info.setdefault(_STAGED, []).append(("put", store, name))


def delete_on_commit(store: FileStore, name: str) -> None:
    """Remove `name` once the current transaction commits (kept if it rolls back)."""
    db.session.info.setdefault(_STAGED, []).append(("delete", store, name))


def finish_pending(store: FileStore, name: str) -> None:
    """Move a committed file into place if a crash stopped it after the commit; callers
    have seen its row, so the pending bytes belong to a committed transaction."""
    if store.exists(name) or not store.exists(pending_name(name)):
        return
    try:
        store.rename(pending_name(name), name)
    except FileNotFoundError:
        pass  # moved meanwhile by its own transaction or another reader


@event.listens_for(Session, "after_commit")
def _apply_staged(session: Session) -> None:
    """The transaction committed: pending files take their names, deleted ones go."""
    for action, store, name in session.info.pop(_STAGED, []):
        try:
            if action == "put":
                store.rename(pending_name(name), name)
            else:
                store.delete(name)
        except OSError:
            # The row is committed whatever happens here: `finish_pending` and the sweep
            # complete the move or the removal later.
            log.exception("file %s after commit: %s failed", name, action)


@event.listens_for(Session, "after_transaction_end")
def _discard_staged(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without committing: its pending files go."""
    if transaction.parent is not None:
        return
    for action, store, name in session.info.pop(_STAGED, []):
        if action != "put":
            continue
        try:
            store.delete(pending_name(name))
        except OSError:
            log.exception("pending file %s could not be removed; the sweep will", name)
