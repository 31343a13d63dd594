"""CSV import of org units and employees: decoded, checked in full, applied all or nothing.

Import runs in two steps so the user sees a preview first: `plan_import` reads and checks the
whole file against the database without writing, `apply_import` writes the plan in one
transaction with set-based statements (no ORM object per row; 10 000 rows take seconds).
"""

import codecs
import csv
import io
import operator
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app import audit, clock
from app.bulk import json_rows
from app.database import long_statements
from app.extensions import db
from app.models import (
    Account,
    AccountRole,
    Employee,
    EmploymentType,
    Evaluation,
    OrgUnit,
    Position,
    PositionKind,
    Reassignment,
    Role,
)
from app.models.people import rank_of
from app.nip import nip_problem, normalise_nip
from app.services import Refused
from app.services.reassign import in_flight

KINDS = ("employees", "units")
UNIT_COLUMNS = ("kode", "nama", "kode_induk")
UNIT_REQUIRED = ("kode", "nama")
EMPLOYEE_COLUMNS = (
    "nip",
    "nama",
    "email",
    "jenis_pegawai",
    "kode_unit",
    "jabatan",
    "jenis_jabatan",
    "nip_atasan",
    "pangkat_golongan",
    "aktif",
)
EMPLOYEE_REQUIRED = EMPLOYEE_COLUMNS[:-2]  # pangkat_golongan and aktif may be left out

MAX_ERRORS = 1000
MAX_PREVIEW = 200
PROGRESS_EVERY = 1000
BATCH_SIZE = 1000
NAME_MAX = 200
UNIT_CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
# Excel shows an 18-digit number as 1.98503E+17 (or 1,98503E+17 in the Indonesian locale).
SCIENTIFIC_RE = re.compile(r"^\d+(?:[.,]\d+)?[eE][+-]?\d+$")
YES = frozenset({"ya", "1", "true"})
NO = frozenset({"tidak", "0", "false"})
# Cells starting with these run as formulas in Excel; export prefixes them with an apostrophe.
FORMULA_START = ("=", "+", "-", "@")
# Employment types by their upper-cased name.
EMPLOYMENT_TYPE_OF_NAME = dict(EmploymentType.__members__)
# Position kinds by their lower-cased name (the first kind wins, as a scan in order would).
KIND_OF_NAME: dict[str, PositionKind] = {}
for _kind in PositionKind:
    KIND_OF_NAME.setdefault(_kind.value.lower(), _kind)
del _kind
# The start of an address whose part before the first @ is plain ASCII dot-atom text (RFC
# 5322 atext, no leading, trailing or doubled dot): email_validator accepts such a local part
# (of at most LOCAL_MAX characters) unchanged, so only the part after the @ needs its full,
# slow check. EMAIL_MAX is its limit on the whole address in UTF-8 bytes.
ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
PLAIN_LOCAL_RE = re.compile(rf"([{ATEXT}]+(?:\.[{ATEXT}]+)*)@")
LOCAL_MAX = 64
EMAIL_MAX = 254

Progress = Callable[[int], None]


@dataclass
class RowError:
    """A problem in the file; line 0 means the whole file (the header is line 1)."""

    line: int
    message: str


@dataclass
class ChangeRow:
    """One row of the preview: what the import will create ("baru") or change ("ubah")."""

    line: int
    action: str
    key: str
    name: str
    description: str


@dataclass
class ImportPlan:
    """The checked content of an import file and what applying it would do."""

    kind: str
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    preview: list[ChangeRow] = field(default_factory=list)
    rows: int = 0
    applied: bool = False
    # What apply_import writes, prepared by plan_import (private).
    _work: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the file passed every check."""
        return not self.errors


def _save_as_advice() -> str:
    """How to get a proper file out of Excel."""
    return _('Di Excel pilih "Simpan Sebagai" → "CSV UTF-8 (dipisahkan koma)", lalu unggah lagi.')


class _FileError(Exception):
    """A problem with the whole file; reading stops."""

    def __init__(self, message: str):
        """Keep the Indonesian message to report on line 0."""
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- reading


def _decode(data: bytes) -> str:
    """The file's text, or _FileError saying how to save it as UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(data):
        raise _FileError(
            _(
                'Berkas tersimpan sebagai Unicode/UTF-16 (misalnya "Teks Unicode" dari Excel), '
                "bukan CSV UTF-8. %(advice)s",
                advice=_save_as_advice(),
            )
        )
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _FileError(
            _(
                "Berkas ini berkas Excel (.xlsx/.xls), bukan CSV. %(advice)s",
                advice=_save_as_advice(),
            )
        )
    if b"\x00" in data:
        raise _FileError(_("Berkas ini bukan berkas teks CSV (berisi data biner). Unggah berkas .csv."))
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _FileError(
            _(
                "Berkas tidak tersimpan sebagai UTF-8: karakter yang tidak dikenali pertama ada di "
                "baris %(line)d, kolom ke-%(column)d (biasanya huruf beraksen atau simbol). "
                "%(advice)s",
                line=line,
                column=column,
                advice=_save_as_advice(),
            )
        ) from None


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a BOM: every other byte of a mostly-ASCII text is NUL."""
    sample = data[:4096]
    if len(sample) < 4:
        return False
    half = len(sample) // 2
    return max(sample[0::2].count(0), sample[1::2].count(0)) > half * 0.6


def _detect_delimiter(first_line: str) -> str:
    """Comma, semicolon (Excel in the Indonesian locale) or tab: whichever the header uses most."""
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])  # ties keep the earlier, comma first
    return best if counts[best] else ","


def _header_key(cell: str) -> str:
    """A header cell as a column key: trimmed, lower case, spaces as underscores."""
    return "_".join(cell.strip().lstrip("\ufeff").lower().replace("-", " ").split())


def _clean(cell: str) -> str:
    """A trimmed cell, without the apostrophe that protects formulas or keeps NIPs as text."""
    cell = cell.strip()
    if cell.startswith("'") and (cell[1:2].isdigit() or cell[1:2] in FORMULA_START):
        cell = cell[1:].strip()
    return cell


def _read_rows(
    data: bytes, columns: tuple[str, ...], required: tuple[str, ...], progress: Progress | None
) -> tuple[set[str], list[tuple[int, dict[str, str]]]]:
    """The present columns and the (line, {column: cell}) data rows; _FileError if unusable."""
    text = _decode(data)
    if not text.strip():
        raise _FileError(_("Berkas kosong: tidak berisi data."))
    first_line = next(line for line in io.StringIO(text) if line.strip()).rstrip("\r\n")
    skip_sep_line = False
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        # Excel's "sep=;" hint line names the separator; the header follows it.
        delimiter, skip_sep_line = first_line[4], True
    else:
        delimiter = _detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    limit = current_app.config["IMPORT_MAX_ROWS"]
    clean = _clean if "'" in text else str.strip  # without an apostrophe, cleaning is trimming
    rows: list[tuple[int, dict[str, str]]] = []
    index: dict[str, int] = {}
    known: list[tuple[str, int]] = []
    names: tuple[str, ...] = ()
    pick: Callable[[list[str]], tuple[str, ...]] = tuple
    width = 0
    previous = 0
    try:
        for record in reader:
            # A quoted field may span lines: the record starts after the previous one ended.
            line, previous = previous + 1, reader.line_num
            if not "".join(record).strip():
                continue
            if skip_sep_line:
                skip_sep_line = False
                continue
            if not index:
                index = _header_index(record, required)
                known = [(name, i) for name, i in index.items() if name in columns]
                names = tuple(name for name, _i in known)
                positions = [i for _name, i in known]
                pick = operator.itemgetter(*positions, positions[0])  # always a tuple; the extra is dropped
                width = max(positions) + 1
                continue
            if len(rows) >= limit:
                raise _FileError(
                    _(
                        "Berkas berisi lebih dari %(max)d baris data, batas satu kali impor. "
                        "Bagi menjadi beberapa berkas.",
                        max=limit,
                    )
                )
            if len(record) >= width:  # the usual row: every known column is there
                cells = dict(zip(names, map(clean, pick(record)), strict=False))
            else:
                cells = {name: clean(record[i]) if i < len(record) else "" for name, i in known}
            rows.append((line, cells))
            if progress is not None and len(rows) % PROGRESS_EVERY == 0:
                progress(len(rows))
    except csv.Error:
        raise _FileError(
            _(
                'Format CSV rusak di sekitar baris %(line)d: periksa tanda kutip (") yang tidak berpasangan.',
                line=reader.line_num,
            )
        ) from None
    if not rows:
        raise _FileError(_("Berkas tidak berisi data: hanya ada baris judul atau kosong."))
    if progress is not None:
        progress(len(rows))
    return set(index), rows


def _header_index(record: list[str], required: tuple[str, ...]) -> dict[str, int]:
    """Map column key → position from the header record; _FileError if columns are missing."""
    index: dict[str, int] = {}
    for i, cell in enumerate(record):
        key = _header_key(cell)
        if not key:
            continue
        if key in index:
            raise _FileError(_("Kolom %(name)s muncul dua kali di baris judul.", name=key))
        index[key] = i
    missing = [name for name in required if name not in index]
    if missing:
        raise _FileError(
            _(
                "Kolom wajib tidak ada di baris judul: %(missing)s. Baris pertama berkas harus "
                "berisi nama kolom: %(expected)s.",
                missing=", ".join(missing),
                expected=", ".join(required),
            )
        )
    return index


def _nip_cell(raw: str, column: str) -> tuple[str, str | None]:
    """The normalised NIP in a cell and why it cannot be one (None when it may be one)."""
    if raw.isascii() and raw.isdigit():
        return raw, None  # the usual cell: nothing to drop, and not scientific notation
    if SCIENTIFIC_RE.match(raw):
        return "", _(
            "NIP %(value)s sudah diubah Excel menjadi notasi ilmiah sehingga digitnya hilang. "
            "Format kolom %(column)s sebagai Teks di Excel, ketik ulang NIP-nya, lalu simpan lagi.",
            value=raw,
            column=column,
        )
    return normalise_nip(raw), None


def _full_email(raw: str) -> str | None:
    """The address as stored (normalised, lower case), or None when email_validator refuses it."""
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


class _Slow:
    """The fast path cannot decide; the full validator must."""


SLOW = _Slow()


class EmailNormaliser:
    """What `_full_email` gives, with each distinct domain validated only once.

    An import file holds thousands of addresses at a handful of domains, and email_validator
    spends most of its time on the domain (IDNA). A plain ASCII local part is accepted by it
    unchanged, so for those the domain's verdict is looked up; everything else (quoted or
    international local parts, no @ at all, ...) goes through the full validator.
    """

    def __init__(self) -> None:
        """Start with no domain checked."""
        # domain as written → (normalised domain, longest of its forms in UTF-8), or None
        self._domains: dict[str, tuple[str, int] | None] = {}

    def __call__(self, raw: str) -> str | None:
        """The normalised lower-case address, or None when it is not valid."""
        result = self.fast(raw)
        return _full_email(raw) if result is SLOW else result

    def fast(self, raw: str) -> str | None | _Slow:
        """The fast path's answer, or SLOW when the address needs the full validator."""
        match = PLAIN_LOCAL_RE.match(raw)
        if match is None:
            return SLOW
        local = match.group(1)
        domain = raw[match.end() :]
        if len(local) > LOCAL_MAX or not domain[:1].isascii():
            # Long local parts are only refused in strict mode; a non-ASCII first character
            # after the @ might combine with it: leave both to the validator.
            return SLOW
        try:
            known = self._domains[domain]
        except KeyError:
            known = self._domains[domain] = self._check_domain(domain)
        # email_validator checks the address as given, normalised and with the ASCII domain
        # (all in UTF-8 bytes) against the 254 limit; the local part is the same in all three.
        if known is None or len(local) + 1 + known[1] > EMAIL_MAX:
            return None
        return (local + "@" + known[0]).lower()

    @staticmethod
    def _check_domain(domain: str) -> tuple[str, int] | None:
        """The normalised domain and the UTF-8 length of its longest form, or None if invalid."""
        try:
            info = validate_email("a@" + domain, check_deliverability=False)
        except EmailNotValidError:
            return None
        forms = (domain, info.domain, info.ascii_domain)
        return info.domain, max(len(form.encode("utf-8")) for form in forms)


def _one_line(text: str) -> str:
    """Collapse runs of whitespace (names split over lines in a quoted cell) to single spaces."""
    return " ".join(text.split())


def _cycles(starts: Iterable[str], parent_of: dict[str, str | None]) -> list[list[str]]:
    """Every loop reachable from `starts` following `parent_of`, once each; iterative, O(N)."""
    done: set[str] = set()
    cycles = []
    for start in starts:
        if start in done:
            continue
        path: list[str] = []
        position: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done and node not in position:
            position[node] = len(path)
            path.append(node)
            node = parent_of.get(node)
        if node is not None and node in position:
            cycles.append(path[position[node] :])
        done.update(path)
    return cycles


def _loop_errors(
    cycles: list[list[str]], line_of: dict[str, int], message: Callable[[str], str]
) -> list[RowError]:
    """One error per loop, on the first file line among its members, naming the chain."""
    errors = []
    for cycle in cycles:
        members = [key for key in cycle if key in line_of]
        if not members:
            continue  # a loop already in the database, untouched by this file
        first = min(members, key=lambda key: line_of[key])
        at = cycle.index(first)
        chain = cycle[at:] + cycle[:at] + [first]
        errors.append(RowError(line_of[first], message(" → ".join(chain))))
    return errors


def _finish(plan: ImportPlan, errors: list[RowError]) -> ImportPlan:
    """Sort the errors by line and cap them, with a last entry counting the rest."""
    errors.sort(key=lambda error: error.line)
    if len(errors) > MAX_ERRORS:
        rest = len(errors) - MAX_ERRORS
        errors = errors[:MAX_ERRORS]
        errors.append(RowError(0, _("dan %(n)d kesalahan lain.", n=rest)))
    plan.errors = errors
    if errors:
        plan._work = {}
        plan.created = plan.updated = plan.unchanged = 0
        plan.preview = []
    return plan


# --------------------------------------------------------------------------- planning


def plan_import(kind: str, data: bytes, progress: Progress | None = None) -> ImportPlan:
    """Read and check a units or employees CSV against the database, writing nothing."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    plan = ImportPlan(kind=kind)
    columns, required = (
        (EMPLOYEE_COLUMNS, EMPLOYEE_REQUIRED) if kind == "employees" else (UNIT_COLUMNS, UNIT_REQUIRED)
    )
    try:
        present, rows = _read_rows(data, columns, required, progress)
    except _FileError as exc:
        return _finish(plan, [RowError(0, exc.message)])
    plan.rows = len(rows)
    if kind == "employees":
        errors = _plan_employees(plan, present, rows)
    else:
        errors = _plan_units(plan, present, rows)
    return _finish(plan, errors)


def _plan_units(
    plan: ImportPlan, present: set[str], rows: list[tuple[int, dict[str, str]]]
) -> list[RowError]:
    """Check unit rows and prepare inserts/updates keyed by code."""
    errors: list[RowError] = []
    existing = {
        row.code: row
        for row in db.session.execute(sa.select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.parent_id))
    }
    code_of_id = {row.id: row.code for row in existing.values()}
    lower_codes = {code.lower(): code for code in existing}
    has_parent_column = "kode_induk" in present

    line_of: dict[str, int] = {}
    wanted: dict[str, dict] = {}
    for line, cells in rows:
        code, name, parent = cells["kode"], _one_line(cells["nama"]), cells.get("kode_induk", "")
        bad = False
        if not code:
            errors.append(RowError(line, _("Kode unit wajib diisi.")))
            bad = True
        elif not UNIT_CODE_RE.match(code):
            errors.append(
                RowError(
                    line,
                    _(
                        "Kode unit %(code)s tidak valid: paling banyak 32 karakter, hanya huruf, "
                        "angka, titik, garis bawah dan tanda minus.",
                        code=code,
                    ),
                )
            )
            bad = True
        elif code in line_of:
            errors.append(
                RowError(
                    line,
                    _(
                        "Kode unit %(code)s muncul lebih dari sekali: baris %(first)d dan baris %(line)d.",
                        code=code,
                        first=line_of[code],
                        line=line,
                    ),
                )
            )
            bad = True
        if not name:
            errors.append(RowError(line, _("Nama unit wajib diisi.")))
        elif len(name) > NAME_MAX:
            errors.append(
                RowError(
                    line,
                    _(
                        "Nama unit terlalu panjang (%(n)d karakter; paling banyak %(max)d).",
                        n=len(name),
                        max=NAME_MAX,
                    ),
                )
            )
        if bad:
            continue
        line_of[code] = line
        wanted[code] = {"line": line, "name": name, "parent": parent or None}

    # Parents: from the file when the column is there, else the database keeps its own.
    parent_of: dict[str, str | None] = {code: code_of_id.get(row.parent_id) for code, row in existing.items()}
    for code, row in wanted.items():
        parent = row["parent"]
        if not has_parent_column:
            row["parent"] = parent_of.get(code)
            continue
        if parent is None:
            parent_of[code] = None
        elif parent == code:
            errors.append(RowError(row["line"], _("Unit tidak dapat menjadi induk dirinya sendiri.")))
            parent_of[code] = None
        elif parent not in existing and parent not in wanted:
            hint = lower_codes.get(parent.lower())
            message = _(
                "Unit induk dengan kode %(code)s tidak ditemukan di basis data maupun di berkas ini.",
                code=parent,
            )
            if hint:
                message += " " + _("Maksud Anda %(code)s?", code=hint)
            errors.append(RowError(row["line"], message))
            parent_of[code] = None
        else:
            parent_of[code] = parent
    errors += _loop_errors(
        _cycles(wanted, parent_of),
        line_of,
        lambda chain: _(
            "Susunan unit membentuk lingkaran: %(chain)s (setiap kode diikuti kode unit induknya).",
            chain=chain,
        ),
    )
    if errors:
        return errors

    inserts, updates, parents = [], [], []
    for code, row in wanted.items():
        old = existing.get(code)
        if old is None:
            plan.created += 1
            inserts.append({"code": code, "name": row["name"]})
            if row["parent"]:
                parents.append((code, row["parent"]))
            parent = row["parent"]
            if _room(plan):
                text = _("induk: %(parent)s", parent=parent or "—")
                plan.preview.append(ChangeRow(row["line"], "baru", code, row["name"], text))
            continue
        changes: list[tuple[str, object, object]] = []
        name_changed = _one_line(old.name) != row["name"]
        if name_changed:
            changes.append(("name", old.name, row["name"]))
        old_parent = code_of_id.get(old.parent_id)
        if old_parent != row["parent"]:
            changes.append(("parent", old_parent, row["parent"]))
            parents.append((code, row["parent"]))
        if not changes:
            plan.unchanged += 1
            continue
        plan.updated += 1
        if name_changed:
            updates.append({"b_id": old.id, "b_name": row["name"]})
        if _room(plan):
            text = _describe(changes)
            plan.preview.append(ChangeRow(row["line"], "ubah", code, row["name"], text))
    plan._work = {"inserts": inserts, "updates": updates, "parents": parents}
    return errors


def _room(plan: ImportPlan) -> bool:
    """Whether the preview takes another row (its text is only built then)."""
    return len(plan.preview) < MAX_PREVIEW


def _plan_employees(
    plan: ImportPlan, present: set[str], rows: list[tuple[int, dict[str, str]]]
) -> list[RowError]:
    """Check employee rows against the file and the database; prepare the writes."""
    check = _EmployeeCheck(
        has_active_column="aktif" in present, has_rank_column="pangkat_golongan" in present
    )
    for line, cells in rows:
        check.row(line, cells)
    check.references()
    check.inactive_supervisors()
    check.still_officiating()
    check.loops()
    if not check.errors:
        check.prepare(plan)
    return check.errors


class _Stored(NamedTuple):
    """An employee as stored, as the checks read it (employment type as text, active as 0/1 on
    SQLite)."""

    id: int
    nip: str
    name: str
    email: str
    employment_type: str
    unit_id: int
    position_id: int
    supervisor_id: int | None
    active: bool
    rank: str | None
    version: int


def _stored_employees() -> list[_Stored]:
    """Every employee's checked columns, fetched as plain tuples on the session's connection.

    A re-import compares every row of the file with the stored one; building an ORM row (with
    its type processing) for each of 100 000 employees took as long as the comparison.
    """
    table = Employee.__table__.c
    statement = sa.select(*[table[name] for name in _Stored._fields])
    connection = db.session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(statement.compile(dialect=connection.dialect)))
        return list(map(_Stored._make, cursor.fetchall()))
    finally:
        cursor.close()


class _EmployeeCheck:
    """The state of checking one employee file: what the database holds, what the file wants."""

    def __init__(self, *, has_active_column: bool, has_rank_column: bool = False):
        """Load what the checks need from the database, one query per table."""
        self.existing = {row.nip: row for row in _stored_employees()}
        self.nip_of_id = {row.id: row.nip for row in self.existing.values()}
        self.email_owner = {row.email.lower(): row.nip for row in self.existing.values()}
        self.system_emails = set(
            db.session.scalars(sa.select(Account.email).where(Account.email.is_not(None)))
        )
        # Reset links go to an account's e-mail: an import never moves that of an HR officer or
        # administrator (an administrator changes it on the employee's page).
        self.privileged = set(
            db.session.scalars(
                sa.select(Employee.nip)
                .join(Account, Account.employee_id == Employee.id)
                .join(AccountRole, AccountRole.account_id == Account.id)
                .where(AccountRole.role.in_([Role.HR, Role.ADMIN]))
            )
        )
        self.units = {
            row.code: row for row in db.session.execute(sa.select(OrgUnit.id, OrgUnit.code, OrgUnit.active))
        }
        self.unit_code_of_id = {row.id: row.code for row in self.units.values()}
        self.lower_units = {code.lower(): code for code in self.units}
        self.positions: dict[str, Any] = {}
        for row in db.session.execute(sa.select(Position.id, Position.name, Position.kind)):
            self.positions.setdefault(row.name.lower(), row)
        self.has_active_column = has_active_column
        self.has_rank_column = has_rank_column
        self.today = date.today()
        self.email = EmailNormaliser()
        # nip_atasan cell → (NIP, why it cannot be one): a supervisor's NIP is on every
        # subordinate's row.
        self.supervisor_cells: dict[str, tuple[str, str | None]] = {}
        self.errors: list[RowError] = []
        self.line_of: dict[str, int] = {}
        self.email_line: dict[str, int] = {}
        self.new_positions: dict[str, tuple[str, PositionKind, int]] = {}
        # (jabatan, jenis_jabatan) cells → the position key they gave without a problem: a
        # file names a handful of positions on every row.
        self.position_cells: dict[tuple[str, str], str] = {}
        # NIP → the row's checked values, kept even when other cells are bad so that
        # references to the NIP still resolve and only the real culprit is reported.
        self.wanted: dict[str, dict] = {}

    def row(self, line: int, cells: dict[str, str]) -> None:
        """Check the cells of one row on their own and against earlier rows."""
        problems: list[str] = []
        etype = self._employment_type(cells["jenis_pegawai"], problems)
        nip, nip_ok = self._nip(line, cells["nip"], etype, problems)
        name = _one_line(cells["nama"])
        if not name:
            problems.append(_("Nama wajib diisi."))
        elif len(name) > NAME_MAX:
            problems.append(
                _(
                    "Nama terlalu panjang (%(n)d karakter; paling banyak %(max)d).",
                    n=len(name),
                    max=NAME_MAX,
                )
            )
        old = self.existing.get(nip) if nip_ok else None
        email = self._email(line, cells["email"], old, problems)
        if email and old is not None and email != old.email.lower() and nip in self.privileged:
            problems.append(
                _(
                    "Email %(nip)s tidak dapat diubah lewat impor karena akunnya memiliki hak admin "
                    "kepegawaian atau administrator; administrator sistem mengubahnya di halaman pegawai.",
                    nip=nip,
                )
            )
        unit = self._unit(cells["kode_unit"], problems)
        position = self._position(line, cells["jabatan"], cells["jenis_jabatan"], problems)
        supervisor = self._supervisor(cells["nip_atasan"], nip, problems)
        active = self._active(cells["aktif"], problems) if self.has_active_column else None
        rank = self._rank(cells["pangkat_golongan"], etype, problems) if self.has_rank_column else None
        if problems:
            self.errors.extend(RowError(line, problem) for problem in problems)
        if nip_ok:
            self.line_of[nip] = line
            if active is None:
                active = bool(old.active) if old is not None else True
            if not self.has_rank_column:
                rank = old.rank if old is not None else None
            self.wanted[nip] = {
                "line": line,
                "name": name,
                "email": email,
                "etype": etype,
                "unit": unit,
                "position": position,
                "supervisor": supervisor,
                "active": active,
                "rank": rank,
            }

    def _rank(self, raw: str, etype: EmploymentType | None, problems: list[str]) -> str | None:
        """The listed pangkat/golongan of the cell (None when empty) for the employment type."""
        if not raw or etype is None:
            return None
        rank = rank_of(raw, etype)
        if rank is None:
            if etype is EmploymentType.PPPK:
                problems.append(_('Golongan PPPK harus I sampai XVII, bukan "%(value)s".', value=raw))
            else:
                problems.append(
                    _(
                        'Pangkat/golongan ruang PNS tidak dikenal: "%(value)s" (contoh: '
                        '"Penata Muda Tk. I, III/b" atau "III/b").',
                        value=raw,
                    )
                )
        return rank

    def _employment_type(self, raw: str, problems: list[str]) -> EmploymentType | None:
        """PNS or PPPK, in any case."""
        etype = EMPLOYMENT_TYPE_OF_NAME.get(raw.upper())
        if not raw:
            problems.append(_("Jenis pegawai wajib diisi (PNS atau PPPK)."))
        elif etype is None:
            problems.append(_('Jenis pegawai harus PNS atau PPPK, bukan "%(value)s".', value=raw))
        return etype

    def _nip(
        self, line: int, raw: str, etype: EmploymentType | None, problems: list[str]
    ) -> tuple[str, bool]:
        """The normalised NIP and whether it is valid and new in this file."""
        nip, problem = _nip_cell(raw, "nip")
        if problem is None:
            problem = nip_problem(nip, etype.value if etype else None, today=self.today)
        if problem is None and nip in self.line_of:
            problem = _(
                "NIP %(nip)s muncul lebih dari sekali: baris %(first)d dan baris %(line)d.",
                nip=nip,
                first=self.line_of[nip],
                line=line,
            )
        if problem:
            problems.append(problem)
        return nip, problem is None

    def _email(self, line: int, raw: str, old: Any, problems: list[str]) -> str | None:
        """The lower-cased address, valid and not used by an earlier row."""
        if not raw:
            problems.append(_("Email wajib diisi."))
            return None
        if old is not None and old.email.lower() == raw.lower():
            email = raw.lower()  # unchanged: the (slow) validator accepted it before
        else:
            email = self.email(raw)
            if email is None:
                problems.append(_("Email %(email)s tidak valid.", email=raw))
                return None
        if email in self.email_line:
            problems.append(
                _(
                    "Email %(email)s juga dipakai di baris %(other)d.",
                    email=email,
                    other=self.email_line[email],
                )
            )
            return None
        self.email_line[email] = line
        return email

    def _unit(self, code: str, problems: list[str]) -> Any:
        """The unit with this code, with a hint when only the letter case differs."""
        if not code:
            problems.append(_("Kode unit wajib diisi."))
            return None
        unit = self.units.get(code)
        if unit is None:
            message = _("Unit kerja dengan kode %(code)s tidak ditemukan.", code=code)
            hint = self.lower_units.get(code.lower())
            if hint:
                message += " " + _("Maksud Anda %(code)s?", code=hint)
            problems.append(message)
        return unit

    def _position(self, line: int, raw_name: str, raw_kind: str, problems: list[str]) -> str | None:
        """The position's lower-cased name; new names are noted for creation."""
        key = self.position_cells.get((raw_name, raw_kind))
        if key is not None:
            return key  # the same cells were accepted on an earlier row, and would be again
        name = _one_line(raw_name)
        kind = KIND_OF_NAME.get(raw_kind.lower())
        if not raw_kind:
            problems.append(_("Jenis jabatan wajib diisi."))
        elif kind is None:
            problems.append(
                _(
                    'Jenis jabatan harus salah satu dari %(kinds)s, bukan "%(value)s".',
                    kinds=", ".join(k.value for k in PositionKind),
                    value=raw_kind,
                )
            )
        if not name:
            problems.append(_("Jabatan wajib diisi."))
            return None
        if len(name) > NAME_MAX:
            problems.append(
                _(
                    "Nama jabatan terlalu panjang (%(n)d karakter; paling banyak %(max)d).",
                    n=len(name),
                    max=NAME_MAX,
                )
            )
            return None
        if kind is None:
            return None
        key = name.lower()
        known = self.positions.get(key)
        if known is not None and known.kind != kind:
            problems.append(
                _(
                    'Jabatan "%(name)s" sudah terdaftar dengan jenis %(kind)s, bukan %(given)s.',
                    name=known.name,
                    kind=known.kind.value,
                    given=kind.value,
                )
            )
            return None
        first = self.new_positions.get(key)
        if known is None and first is not None and first[1] != kind:
            problems.append(
                _(
                    'Jabatan "%(name)s" di baris %(other)d berjenis %(kind)s, bukan %(given)s.',
                    name=first[0],
                    other=first[2],
                    kind=first[1].value,
                    given=kind.value,
                )
            )
            return None
        if known is None and first is None:
            self.new_positions[key] = (name, kind, line)
        self.position_cells[(raw_name, raw_kind)] = key
        return key

    def _supervisor(self, raw: str, nip: str, problems: list[str]) -> str | None:
        """The supervisor's NIP as written (existence is checked once every row is read)."""
        if not raw:
            return None
        known = self.supervisor_cells.get(raw)
        if known is None:
            supervisor, problem = _nip_cell(raw, "nip_atasan")
            if problem is None:
                problem = nip_problem(supervisor, today=self.today)
                if problem:
                    problem = _("NIP atasan tidak valid: %(problem)s", problem=problem)
            known = self.supervisor_cells[raw] = (supervisor, problem)
        supervisor, problem = known
        if problem is None and supervisor == nip:
            problem = _("Pegawai tidak dapat menjadi atasan dirinya sendiri.")
        if problem:
            problems.append(problem)
            return None
        return supervisor

    def _active(self, raw: str, problems: list[str]) -> bool | None:
        """ya/tidak/1/0/true/false; empty means ya."""
        flag = raw.lower()
        if flag in YES or not flag:
            return True
        if flag in NO:
            return False
        problems.append(_('Kolom aktif harus "ya" atau "tidak", bukan "%(value)s".', value=raw))
        return None

    def references(self) -> None:
        """Checks that need the whole file: e-mail owners, inactive units, known supervisors."""
        for nip, row in self.wanted.items():
            line, old = row["line"], self.existing.get(nip)
            owner = self.email_owner.get(row["email"]) if row["email"] else None
            # An address held in the database by someone not in the file stays theirs; one
            # whose holder is in the file is free, as that row gives it up (or is a duplicate).
            if owner is not None and owner != nip and owner not in self.wanted:
                self.errors.append(
                    RowError(
                        line,
                        _(
                            "Email %(email)s sudah dipakai oleh %(name)s (NIP %(nip)s).",
                            email=row["email"],
                            name=self.existing[owner].name,
                            nip=owner,
                        ),
                    )
                )
            if row["email"] in self.system_emails:
                self.errors.append(
                    RowError(line, _("Email %(email)s sudah dipakai oleh akun sistem.", email=row["email"]))
                )
            unit = row["unit"]
            # An inactive unit only blocks moves into it, so an export still re-imports.
            if unit is not None and not unit.active and (old is None or old.unit_id != unit.id):
                self.errors.append(RowError(line, _("Unit kerja %(code)s tidak aktif.", code=unit.code)))
            supervisor = row["supervisor"]
            if supervisor and supervisor not in self.existing and supervisor not in self.wanted:
                self.errors.append(
                    RowError(
                        line,
                        _(
                            "Atasan dengan NIP %(nip)s tidak ditemukan di basis data maupun di berkas ini.",
                            nip=supervisor,
                        ),
                    )
                )
                row["supervisor"] = None

    def _final_active(self, nip: str) -> bool:
        """Whether `nip` is active after the import."""
        row = self.wanted.get(nip)
        return row["active"] if row is not None else self.existing[nip].active

    def inactive_supervisors(self) -> None:
        """Active employees may not end under an inactive supervisor through this file.

        Either side can cause it: a row that links to (or reactivates under) an inactive
        supervisor is reported on its own line; a row that deactivates a supervisor who keeps
        active subordinates is reported once on the supervisor's line, as people.set_active does.
        """
        deactivated = {
            nip
            for nip, row in self.wanted.items()
            if not row["active"] and (nip not in self.existing or self.existing[nip].active)
        }
        team_left: dict[str, int] = {}
        for nip, row in self.wanted.items():
            supervisor = row["supervisor"]
            if supervisor is None or not row["active"] or self._final_active(supervisor):
                continue
            old = self.existing.get(nip)
            if old is None or self.nip_of_id.get(old.supervisor_id) != supervisor or not old.active:
                self.errors.append(
                    RowError(row["line"], _("Atasan dengan NIP %(nip)s tidak aktif.", nip=supervisor))
                )
            elif supervisor in deactivated:
                team_left[supervisor] = team_left.get(supervisor, 0) + 1
        ids = {self.existing[nip].id: nip for nip in deactivated if nip in self.existing}
        if ids:
            for nip, old in self.existing.items():
                if nip not in self.wanted and old.active and old.supervisor_id in ids:
                    boss = ids[old.supervisor_id]
                    team_left[boss] = team_left.get(boss, 0) + 1
        for nip, count in team_left.items():
            row = self.wanted[nip]
            self.errors.append(
                RowError(
                    row["line"],
                    _(
                        "%(name)s masih menjadi atasan %(n)d pegawai aktif; pindahkan dulu "
                        "bawahan tersebut ke atasan lain sebelum menonaktifkan.",
                        name=row["name"] or nip,
                        n=count,
                    ),
                )
            )

    def still_officiating(self) -> None:
        """Nobody is deactivated while still holding in-flight evaluations as rater or appeal
        handler, or while a Plh. is due to hand some back (people.set_active refuses the same);
        one grouped query over the deactivated."""
        ids = {
            self.existing[nip].id: nip
            for nip, row in self.wanted.items()
            if not row["active"] and nip in self.existing and self.existing[nip].active
        }
        if not ids:
            return
        held: dict[int, int] = {}
        for holder_id, n in db.session.execute(
            sa.union_all(
                sa.select(Evaluation.rater_id.label("holder"), sa.func.count())
                .where(in_flight(), Evaluation.rater_id.in_(ids))
                .group_by(Evaluation.rater_id),
                sa.select(Evaluation.appeal_handler_id, sa.func.count())
                .where(in_flight(), Evaluation.appeal_handler_id.in_(ids))
                .group_by(Evaluation.appeal_handler_id),
                sa.select(Reassignment.back_to_id, sa.func.count())
                .join(Evaluation, Evaluation.id == Reassignment.evaluation_id)
                .where(in_flight(), Reassignment.back_to_id.in_(ids), Reassignment.ended_at.is_(None))
                .group_by(Reassignment.back_to_id),
            )
        ):
            held[holder_id] = held.get(holder_id, 0) + n
        for holder_id, n in held.items():
            row = self.wanted[ids[holder_id]]
            self.errors.append(
                RowError(
                    row["line"],
                    _(
                        "%(name)s masih memegang %(n)d penilaian kinerja yang sedang berjalan "
                        "(sebagai pejabat penilai atau atasannya); pindahkan dulu penilaian itu "
                        "kepada pejabat lain sebelum menonaktifkan.",
                        name=row["name"] or ids[holder_id],
                        n=n,
                    ),
                )
            )

    def loops(self) -> None:
        """No supervisor loop once the file is merged into the database."""
        parent_of: dict[str, str | None] = {
            nip: self.nip_of_id.get(row.supervisor_id) for nip, row in self.existing.items()
        }
        for nip, row in self.wanted.items():
            parent_of[nip] = row["supervisor"]
        self.errors += _loop_errors(
            _cycles(self.wanted, parent_of),
            self.line_of,
            lambda chain: _(
                "Rantai atasan membentuk lingkaran: %(chain)s (setiap NIP diikuti NIP atasannya).",
                chain=chain,
            ),
        )

    def prepare(self, plan: ImportPlan) -> None:
        """Sort checked rows into inserts, updates and unchanged; fill counts and preview."""
        inserts, updates, supervisors, placeholders = [], [], [], []
        claimed_emails = {row["email"]: nip for nip, row in self.wanted.items()}
        position_name_of_id = {row.id: row.name for row in self.positions.values()}
        existing, positions, nip_of_id = self.existing, self.positions, self.nip_of_id

        def values(row: dict) -> dict:
            """The columns an insert or update writes."""
            return {
                "name": row["name"],
                "email": row["email"],
                "employment_type": row["etype"],
                "unit_id": row["unit"].id,
                "position": row["position"],
                "active": row["active"],
                "rank": row["rank"],
            }

        def position_name(row: dict) -> str:
            """The position's name as the preview shows it."""
            known = positions.get(row["position"])
            return known.name if known else self.new_positions[row["position"]][0]

        for nip, row in self.wanted.items():
            old = existing.get(nip)
            if old is None:
                plan.created += 1
                inserts.append({"nip": nip, "supervisor": row["supervisor"], **values(row)})
                if _room(plan):
                    unit = row["unit"].code
                    text = _("%(position)s, unit %(unit)s", position=position_name(row), unit=unit)
                    plan.preview.append(ChangeRow(row["line"], "baru", nip, row["name"], text))
                continue
            known = positions.get(row["position"])
            position_id = known.id if known is not None else None
            unit = row["unit"]
            # Most rows of a re-import are unchanged: compare the stored values as they are
            # first, and only normalise (whitespace, letter case) when they differ.
            changes: list[tuple[str, object, object]] = []
            if old.name != row["name"] and _one_line(old.name) != row["name"]:
                changes.append(("name", old.name, row["name"]))
            if old.email != row["email"] and old.email.lower() != row["email"]:
                changes.append(("email", old.email, row["email"]))
                if claimed_emails.get(old.email.lower(), nip) != nip:
                    # Another row takes this address: free it first so the unique index holds.
                    placeholders.append(old.id)
            if old.employment_type != row["etype"]:
                changes.append(("employment_type", str(old.employment_type), row["etype"].value))
            if old.unit_id != unit.id:
                changes.append(("unit", self.unit_code_of_id.get(old.unit_id), unit.code))
            if old.position_id != position_id:
                changes.append(("position", position_name_of_id.get(old.position_id), position_name(row)))
            old_supervisor = nip_of_id.get(old.supervisor_id)
            if old_supervisor != row["supervisor"]:
                changes.append(("supervisor", old_supervisor, row["supervisor"]))
                supervisors.append((old.id, row["supervisor"]))
            if old.active != row["active"]:
                changes.append(("active", bool(old.active), row["active"]))
            if old.rank != row["rank"]:
                changes.append(("rank", old.rank, row["rank"]))
            if not changes:
                plan.unchanged += 1
                continue
            plan.updated += 1
            updates.append({"id": old.id, "version": old.version, **values(row)})
            if _room(plan):
                text = _describe(changes)
                plan.preview.append(ChangeRow(row["line"], "ubah", nip, row["name"], text))
        plan._work = {
            "new_positions": [(name, kind) for name, kind, _line in self.new_positions.values()],
            "inserts": inserts,
            "updates": updates,
            "supervisors": supervisors,
            "placeholders": placeholders,
        }


def _describe(changes: list[tuple[str, object, object]]) -> str:
    """The preview text of changed fields, e.g. "email: a@x → b@x; unit: U1 → U2"."""
    labels = {
        "name": _("nama"),
        "email": _("email"),
        "employment_type": _("jenis pegawai"),
        "unit": _("unit"),
        "position": _("jabatan"),
        "supervisor": _("atasan"),
        "active": _("aktif"),
        "rank": _("pangkat/golongan"),
        "parent": _("induk"),
    }

    def shown(value: object) -> str:
        """A value as the preview shows it: ya/tidak for flags, a dash for nothing."""
        if isinstance(value, bool):
            return _("ya") if value else _("tidak")
        return "—" if value in (None, "") else str(value)

    return "; ".join(
        _("%(field)s: %(old)s → %(new)s", field=labels[name], old=shown(old), new=shown(new))
        for name, old, new in changes
    )


# --------------------------------------------------------------------------- applying


@long_statements()  # up to IMPORT_MAX_ROWS rows in one transaction
def apply_import(plan: ImportPlan) -> ImportPlan:
    """Write a checked plan in one transaction, or nothing; raises Refused if it has errors."""
    if not plan.ok:
        raise Refused(
            _(
                "Impor tidak dapat dijalankan karena masih ada %(n)d kesalahan di berkas.",
                n=len(plan.errors),
            )
        )
    if plan.applied:
        raise Refused(_("Impor ini sudah dijalankan."))
    try:
        if plan.kind == "employees":
            _apply_employees(plan._work)
        else:
            _apply_units(plan._work)
        audit.record(
            "people.imported",
            object_type="import",
            data={
                "kind": plan.kind,
                "created": plan.created,
                "updated": plan.updated,
                "unchanged": plan.unchanged,
            },
        )
        db.session.commit()
    except _Stale:
        db.session.rollback()
        raise Refused(
            _(
                "Data berubah sejak pratinjau dibuat (oleh orang lain atau impor lain). "
                "Tidak ada yang disimpan; periksa dan unggah ulang berkasnya."
            )
        ) from None
    except IntegrityError:
        db.session.rollback()
        raise Refused(
            _(
                "Data berubah sejak pratinjau dibuat sehingga impor bentrok dengan data yang ada "
                "(NIP, email atau kode ganda). Tidak ada yang disimpan; unggah ulang berkasnya."
            )
        ) from None
    except BaseException:
        db.session.rollback()
        raise
    plan.applied = True
    return plan


class _Stale(Exception):
    """A row changed in the database between planning and applying."""


def _execute_many(statement, params: list[dict], *, expect_rows: bool = False) -> None:
    """Run `statement` for every parameter set (one executemany), checking rows hit if asked."""
    if not params:
        return
    result = db.session.execute(statement, params)
    dialect = db.session.get_bind().dialect
    if expect_rows and dialect.supports_sane_multi_rowcount and result.rowcount != len(params):
        raise _Stale()


def _on_postgresql() -> bool:
    """Whether the session talks to PostgreSQL."""
    return db.session.get_bind().dialect.name == "postgresql"


def _update_rows(
    table: sa.Table,
    rows: list[dict],
    *,
    match: tuple[str, ...],
    columns: tuple[str, ...],
    fixed: dict[str, Any] | None = None,
    expect_rows: bool = False,
) -> None:
    """For every row dict: UPDATE `table` SET `columns` (and `fixed`) WHERE `match` columns equal.

    PostgreSQL gets a single UPDATE ... FROM json_to_recordset(...); elsewhere it is one
    executemany. With `expect_rows`, a row that is no longer there (or whose `match` values
    changed) raises _Stale.
    """
    if not rows:
        return
    fixed = fixed or {}
    names = match + columns
    if not _on_postgresql():
        statement = (
            sa.update(table)
            .where(*[table.c[name] == sa.bindparam(f"b_{name}") for name in match])
            .values({**{name: sa.bindparam(f"b_{name}") for name in columns}, **fixed})
        )
        _execute_many(
            statement, [{f"b_{name}": row[name] for name in names} for row in rows], expect_rows=expect_rows
        )
        return
    given = json_rows(table, names)
    statement = (
        sa.update(table)
        .where(*[table.c[name] == given.c[name] for name in match])
        .values({**{name: given.c[name] for name in columns}, **fixed})
    )
    result = db.session.execute(
        statement, {"json_rows": [{name: row[name] for name in names} for row in rows]}
    )
    if expect_rows and result.rowcount != len(rows):
        raise _Stale()


def _ids_by_nip(table: sa.Table, nips: Iterable[str]) -> dict[str, int]:
    """The ids of the employees with these NIPs; _Stale if one of them is gone."""
    wanted = sorted(set(nips))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), BATCH_SIZE):
        chunk = wanted[start : start + BATCH_SIZE]
        statement = sa.select(table.c.nip, table.c.id).where(table.c.nip.in_(chunk))
        for nip, id_ in db.session.execute(statement).tuples():
            found[nip] = id_
    if len(found) != len(wanted):
        raise _Stale()
    return found


def _apply_units(work: dict) -> None:
    """Insert new units, rename changed ones, then set parents once every code has an id."""
    table = OrgUnit.__table__
    _execute_many(
        sa.insert(table),
        [{"code": row["code"], "name": row["name"], "active": True} for row in work["inserts"]],
    )
    _execute_many(
        sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(name=sa.bindparam("b_name")),
        work["updates"],
        expect_rows=True,
    )
    if work["parents"]:
        id_of = {key: id_ for key, id_ in db.session.execute(sa.select(table.c.code, table.c.id))}
        _execute_many(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(parent_id=sa.bindparam("b_parent")),
            [
                {"b_id": id_of[code], "b_parent": id_of[parent] if parent else None}
                for code, parent in work["parents"]
            ],
            expect_rows=True,
        )


def _apply_employees(work: dict) -> None:
    """Insert positions and employees (supervisors first), update changed ones, relink the rest."""
    now = clock.utcnow()
    positions = Position.__table__
    _execute_many(
        sa.insert(positions), [{"name": name, "kind": kind} for name, kind in work["new_positions"]]
    )
    # Lowest id wins when names differ only in case, matching the planner's first match.
    position_id = {}
    for id_, name in db.session.execute(
        sa.select(positions.c.id, positions.c.name).order_by(positions.c.id)
    ).tuples():
        position_id.setdefault(name.lower(), id_)

    table = Employee.__table__
    _update_rows(
        table,
        [
            {"id": id_, "email": f"import-{id_}-{secrets.token_hex(4)}@placeholder.invalid"}
            for id_ in work["placeholders"]
        ],
        match=("id",),
        columns=("email",),
        expect_rows=True,
    )
    inserts = work["inserts"]
    new = {row["nip"] for row in inserts}
    named = {nip for _id, nip in work["supervisors"] if nip}
    named.update(row["supervisor"] for row in inserts if row["supervisor"])
    id_of = _ids_by_nip(table, named - new)
    relink = _insert_employees(table, inserts, id_of, position_id, now)
    _update_rows(
        table,
        [
            {
                "id": row["id"],
                "version": row["version"],
                "name": row["name"],
                "email": row["email"],
                "employment_type": row["employment_type"],
                "unit_id": row["unit_id"],
                "position_id": position_id[row["position"]],
                "active": row["active"],
                "rank": row["rank"],
            }
            for row in work["updates"]
        ],
        match=("id", "version"),
        columns=("name", "email", "employment_type", "unit_id", "position_id", "active", "rank"),
        fixed={"version": table.c.version + 1, "updated_at": now},
        expect_rows=True,
    )
    _update_rows(
        table,
        [
            {"id": id_, "supervisor_id": id_of[supervisor] if supervisor else None}
            for id_, supervisor in [*work["supervisors"], *((id_of[nip], sup) for nip, sup in relink)]
        ],
        match=("id",),
        columns=("supervisor_id",),
        expect_rows=True,
    )


def _insert_employees(
    table: sa.Table, rows: list[dict], id_of: dict[str, int], position_id: dict[str, int], now: Any
) -> list[tuple[str, str]]:
    """Insert new employees with their supervisor already set, adding their ids to `id_of`.

    Rows go in by level: first those whose supervisor is not new (or who have none), then
    their subordinates, and so on, each level one INSERT ... RETURNING (PostgreSQL: from one
    JSON parameter; elsewhere an executemany, sent as multi-row INSERTs); so no row needs a
    second write. Rows no level reaches would be a supervisor loop among new rows, which the
    planner refuses; should one get here it is inserted without a supervisor and returned as
    (NIP, supervisor NIP) for a later UPDATE.
    """
    new = {row["nip"] for row in rows}
    below: dict[str, list[dict]] = {}
    level = []
    for row in rows:
        if row["supervisor"] in new:
            below.setdefault(row["supervisor"], []).append(row)
        else:
            level.append(row)
    names = ("nip", "name", "email", "employment_type", "unit_id", "position_id", "supervisor_id", "active")
    names += ("rank",)
    if _on_postgresql():
        given = json_rows(table, names)
        constants = {"version": sa.literal(1), "created_at": sa.literal(now, table.c.created_at.type)}
        constants["updated_at"] = sa.literal(now, table.c.updated_at.type)
        statement = sa.insert(table).from_select(
            [*names, *constants], sa.select(*[given.c[name] for name in names], *constants.values())
        )
    else:
        statement = sa.insert(table)
        constants = {"version": 1, "created_at": now, "updated_at": now}
    statement = statement.returning(table.c.nip, table.c.id)

    def insert(level: list[dict], linked: bool) -> None:
        """One INSERT of a level; its ids go into id_of."""
        params = [
            {
                "nip": row["nip"],
                "name": row["name"],
                "email": row["email"],
                "employment_type": row["employment_type"],
                "unit_id": row["unit_id"],
                "position_id": position_id[row["position"]],
                "supervisor_id": id_of[row["supervisor"]] if linked and row["supervisor"] else None,
                "active": row["active"],
                "rank": row["rank"],
            }
            for row in level
        ]
        if _on_postgresql():
            result = db.session.execute(statement, {"json_rows": params})
        else:
            result = db.session.execute(statement, [{**values, **constants} for values in params])
        for nip, id_ in result.tuples():
            id_of[nip] = id_

    done = 0
    while level:
        insert(level, linked=True)
        done += len(level)
        level = [child for row in level for child in below.get(row["nip"], ())]
    if done == len(rows):
        return []
    left = [row for row in rows if row["nip"] not in id_of]
    insert(left, linked=False)
    return [(row["nip"], row["supervisor"]) for row in left]
