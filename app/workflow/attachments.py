"""Checks shared by every uploaded file and link (bukti dukung, progress evidence, attachments of
feedback records): size, type by content, a plain file name, http(s) links only. A file passing
`checked_file` is written with `stage_file`, which stores it only when the transaction commits
(app.storage)."""

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from app import storage
from app.services import Refused

FILE_SIGNATURES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}
MAX_URL = 2000


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the checks: its shown name, type, size and stored name."""

    filename: str
    content_type: str
    size: int
    stored_name: str
    data: bytes


def checked_file(filename: str | None, data: bytes, field: str = "file") -> CheckedFile:
    """Refuse an empty, oversized or non-PDF/JPG/PNG file (by its content); else describe it."""
    limit_mb = current_app.config["EVIDENCE_MAX_MB"]
    if not data:
        raise Refused({field: _("Berkas kosong.")})
    if len(data) > limit_mb * 1024 * 1024:
        raise Refused({field: _("Berkas terlalu besar (maksimum %(mb)d MB).", mb=limit_mb)})
    kind = next((v for sig, v in FILE_SIGNATURES.items() if data.startswith(sig)), None)
    if kind is None:
        raise Refused(
            {field: _("Berkas harus PDF, JPG atau PNG (isi berkas diperiksa, bukan hanya namanya).")}
        )
    name = Path(filename or f"bukti.{kind[1]}").name[:200] or f"bukti.{kind[1]}"
    return CheckedFile(name, kind[0], len(data), secrets.token_hex(16), data)


def checked_link(url: str | None, field: str = "url") -> str:
    """A complete http(s) address, or a refusal."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL:
        raise Refused({field: _("Tautan harus alamat web lengkap yang diawali http:// atau https://.")})
    return url


def stored_path(stored_name: str) -> Path:
    """The committed file of an upload, to serve (finishing a move a crash interrupted)."""
    store = storage.evidence_store()
    storage.finish_pending(store, stored_name)
    return store.path(stored_name)


def stage_file(checked: CheckedFile) -> None:
    """Write the bytes under a pending name; they take their real name when the session commits
    and are removed when it ends any other way. Call it last, after every check."""
    storage.put_on_commit(storage.evidence_store(), checked.stored_name, checked.data)
