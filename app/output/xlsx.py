"""Excel recaps (.xlsx) HR sends upward: a cycle's results, its progress and its distribution per
unit, and the monthly recap of a year (the periodic predikat per employee per month, for the TPP).

Every sheet has a title row (the agency and the cycle), a header row frozen with an autofilter and
sized columns. A NIP is written as text in a text-formatted column, so Excel never turns its 18
digits into a number. The per-employee recaps stream: XlsxWriter's constant-memory mode writes each
row as it comes from a query read in batches (a server-side cursor on PostgreSQL), and no row is
loaded as an ORM object. Labels are the ones the pages show, translated once per workbook.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa
import xlsxwriter
from flask import current_app
from flask_babel import gettext as _

from app import clock
from app.domain import (
    CREDIT_SHARE,
    ORG_PREDIKAT_LABELS,
    PREDIKAT_LABELS,
    RATING_LABELS,
    WITHDRAWAL_LABELS,
    Predikat,
)
from app.extensions import db
from app.models import (
    CreditJenjang,
    Cycle,
    CycleKind,
    Employee,
    Evaluation,
    EvaluationState,
    OrgUnit,
    Position,
    PositionKind,
)
from app.services.cockpit import RATED_STATES, done_label, unit_progress
from app.services.credit import MONTHS
from app.templating import localtime, progress_columns
from app.workflow.definitions import EVALUATION_STATE_LABELS
from app.workflow.distribution import distribution

BATCH = 2000  # rows fetched per round trip while streaming
HEADER_ROW = 3  # title, subtitle, a blank row, then the header
MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
S = EvaluationState


@dataclass(frozen=True)
class Column:
    """One column: its header and its width in characters."""

    header: str
    width: float
    text: bool = False  # a text column: what is typed in it stays text (NIP)


class Sheet:
    """A worksheet in constant-memory mode: title rows, a frozen header, rows written in order,
    then the autofilter over what was written."""

    def __init__(self, book: "Book", name: str, subtitle: str, columns: list[Column], frozen_cols: int = 0):
        self.book, self.columns = book, columns
        self.ws = book.workbook.add_worksheet(name[:31])
        for i, column in enumerate(columns):
            self.ws.set_column(i, i, column.width, book.text if column.text else None)
        self.ws.write_string(0, 0, current_app.config["AGENCY_NAME"], book.title)
        self.ws.write_string(1, 0, subtitle, book.subtitle)
        for i, column in enumerate(columns):
            self.ws.write_string(HEADER_ROW, i, column.header, book.header)
        self.ws.freeze_panes(HEADER_ROW + 1, frozen_cols)
        self.row = HEADER_ROW + 1

    def finish(self) -> int:
        """Put the autofilter over the header and the rows; returns the number of rows written."""
        self.ws.autofilter(HEADER_ROW, 0, max(self.row - 1, HEADER_ROW), len(self.columns) - 1)
        return self.row - HEADER_ROW - 1


class Book:
    """A workbook in constant-memory mode with the recaps' cell formats."""

    def __init__(self, out: str | IO[bytes]):
        self.workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
        add = self.workbook.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.subtitle = add({"italic": True})
        self.header = add(
            {"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.text = add({"num_format": "@"})
        self.points = add({"num_format": "0.000"})
        self.percent = add({"num_format": "0.0"})

    def close(self) -> None:
        """Write the file."""
        self.workbook.close()


def _labels(mapping: dict) -> dict[str, str]:
    """A label dict translated once: code -> text."""
    return {str(code): str(text) for code, text in mapping.items()}


def subtitle(what: str, cycle: Cycle | None = None) -> str:
    """The second title row: what the sheet is, the cycle, when it was made."""
    made = _("dibuat %(t)s", t=localtime(clock.utcnow()))
    return " · ".join(part for part in (what, cycle.name if cycle else "", made) if part)


# ---- results of a cycle ---------------------------------------------------------------------------


def results_query(cycle: Cycle) -> sa.Select:
    """One row per evaluation of the cycle with what the recap shows, by unit and name; the angka
    kredit of functional posts (coefficient x the predikat's share x months/12, three decimals)
    computed in the query."""
    months = MONTHS[CycleKind(cycle.kind)]
    earns = sa.and_(
        Position.kind == PositionKind.FUNGSIONAL,
        CreditJenjang.coefficient.is_not(None),
        Evaluation.predikat.is_not(None),
        Evaluation.state.in_([str(s) for s in RATED_STATES]),
    )
    share = sa.case({p.value: CREDIT_SHARE[p] for p in Predikat}, value=Evaluation.predikat)
    points = sa.func.round(CreditJenjang.coefficient * share * months / 1200.0, 3)
    return (
        sa.select(
            Employee.nip,
            Employee.name,
            OrgUnit.name.label("unit"),
            Position.name.label("position"),
            Employee.rank,
            Employee.employment_type,
            Evaluation.results_rating,
            Evaluation.behaviour_rating,
            Evaluation.predikat,
            Evaluation.state,
            Evaluation.withdrawal_reason,
            Evaluation.set_aside_note,
            sa.case((earns, share)).label("share"),
            sa.case((earns, points)).label("points"),
        )
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(OrgUnit, OrgUnit.id == Evaluation.unit_id)
        .join(Position, Position.id == Employee.position_id)
        .outerjoin(CreditJenjang, CreditJenjang.code == Position.jenjang_code)
        .where(Evaluation.cycle_id == cycle.id)
        .order_by(OrgUnit.name, Employee.name, Employee.id)
    )


def stream(query: sa.Select):
    """The query's rows in batches (a server-side cursor on PostgreSQL), never all at once."""
    return db.session.execute(query.execution_options(yield_per=BATCH))


RESULT_WIDTHS = (5, 21, 30, 30, 28, 24, 11, 17, 17, 17, 14, 34, 12, 11)


def write_results(cycle: Cycle, out: str | IO[bytes]) -> int:
    """The results recap of a cycle: one row per evaluation. Returns the number of rows."""
    book = Book(out)
    headers = [
        _("No."),
        _("NIP"),
        _("Nama"),
        _("Unit kerja"),
        _("Jabatan"),
        _("Pangkat/golongan"),
        _("Jenis kepegawaian"),
        _("Rating hasil kerja"),
        _("Rating perilaku kerja"),
        _("Predikat kinerja"),
        _("Status"),
        _("Keterangan"),
        _("Persentase angka kredit (%)"),
        _("Angka kredit"),
    ]
    columns = [Column(h, w, text=i == 1) for i, (h, w) in enumerate(zip(headers, RESULT_WIDTHS, strict=True))]
    sheet = Sheet(book, _("Rekap hasil"), subtitle(_("Rekap hasil penilaian kinerja"), cycle), columns, 3)
    ratings, predikat = _labels(RATING_LABELS), _labels(PREDIKAT_LABELS)
    states, reasons = _labels(EVALUATION_STATE_LABELS), _labels(WITHDRAWAL_LABELS)
    rated = {str(s) for s in RATED_STATES}
    status = {
        "rated": _("Dinilai"),
        S.NOT_RATED.value: _("Tidak dinilai"),
        S.WITHDRAWN.value: _("Dikecualikan"),
        "open": _("Belum dinilai"),
    }
    ws, text, pts = sheet.ws, book.text, book.points
    row = sheet.row
    for r in stream(results_query(cycle)):
        ws.write_number(row, 0, row - HEADER_ROW)
        ws.write_string(row, 1, r.nip, text)
        ws.write_string(row, 2, r.name)
        ws.write_string(row, 3, r.unit)
        ws.write_string(row, 4, r.position)
        if r.rank:
            ws.write_string(row, 5, r.rank)
        ws.write_string(row, 6, str(r.employment_type))
        if r.results_rating is not None:
            ws.write_string(row, 7, ratings[r.results_rating])
        if r.behaviour_rating is not None:
            ws.write_string(row, 8, ratings[r.behaviour_rating])
        if r.predikat is not None and r.state in rated:
            ws.write_string(row, 9, predikat[r.predikat])
        state = r.state
        if state == S.WITHDRAWN:
            ws.write_string(row, 10, status[state])
            reason = reasons.get(r.withdrawal_reason, "") if r.withdrawal_reason else ""
            note = ": ".join(part for part in (reason, r.set_aside_note or "") if part)
            if note:
                ws.write_string(row, 11, note)
        elif state == S.NOT_RATED:
            ws.write_string(row, 10, status[state])
            if r.set_aside_note:
                ws.write_string(row, 11, r.set_aside_note)
        else:
            ws.write_string(row, 10, status["rated" if state in rated else "open"])
            ws.write_string(row, 11, states.get(state, state))
        if r.share is not None:
            ws.write_number(row, 12, r.share)
            ws.write_number(row, 13, float(r.points), pts)
        row += 1
    sheet.row = row
    count = sheet.finish()
    book.close()
    return count


# ---- progress per unit ----------------------------------------------------------------------------


def write_progress(cycle: Cycle, out: str | IO[bytes]) -> int:
    """Progress per unit as the dashboard counts it (app.services.cockpit.unit_progress): the
    evaluations, how many have done the current phase's step, and the count per state."""
    units = unit_progress(cycle)
    states = progress_columns(units)  # the dashboard's columns
    done = done_label(cycle.state)  # "" once no phase runs (draft, published, closed)
    columns = [
        Column(_("Unit kerja"), 34),
        Column(_("Jumlah pegawai (tanpa yang dikecualikan)"), 14),
        *((Column(_("Tahap ini: %(what)s", what=done), 16), Column(_("Persen"), 9)) if done else ()),
        *(Column(text, 13) for _code, text in states),
    ]
    book = Book(out)
    sheet = Sheet(book, _("Kemajuan per unit"), subtitle(_("Kemajuan per unit"), cycle), columns, 1)
    ws, row = sheet.ws, sheet.row
    for unit in units:
        ws.write_string(row, 0, unit.name)
        ws.write_number(row, 1, unit.total)
        if done:
            ws.write_number(row, 2, unit.done)
            ws.write_number(row, 3, unit.percent)
        for i, (code, _text) in enumerate(states, start=4 if done else 2):
            ws.write_number(row, i, unit.states.get(code, 0))
        row += 1
    sheet.row = row
    count = sheet.finish()
    book.close()
    return count


# ---- distribution per unit against its band ------------------------------------------------------


def write_distribution(cycle: Cycle, out: str | IO[bytes]) -> int:
    """Per unit: its predikat organisasi, the count and share of each predikat, those not rated or
    set aside, and each rule of its kurva distribusi with whether the unit keeps it."""
    units = distribution(cycle)
    org = _labels(ORG_PREDIKAT_LABELS)
    columns = [Column(_("Unit kerja"), 34), Column(_("Predikat organisasi"), 16)]
    for p in Predikat:
        columns += [Column(p.label, 12), Column(_("%(p)s (%%)", p=p.label), 12)]
    columns += [
        Column(_("Jumlah dinilai"), 10),
        Column(_("Belum dinilai"), 10),
        Column(_("Tidak dinilai"), 10),
        Column(_("Dikecualikan"), 12),
        Column(_("Sesuai kurva"), 10),
        Column(_("Kurva distribusi"), 60),
    ]
    book = Book(out)
    sheet = Sheet(
        book,
        _("Distribusi per unit"),
        subtitle(_("Distribusi predikat per unit"), cycle),
        columns,
        1,
    )
    ws, row = sheet.ws, sheet.row
    yes, no = _("Ya"), _("Tidak")
    for unit in units:
        ws.write_string(row, 0, unit.unit_name)
        if unit.org_predikat is not None:
            ws.write_string(row, 1, org.get(str(unit.org_predikat), str(unit.org_predikat)))
        col = 2
        for p in Predikat:
            ws.write_number(row, col, unit.counts[p])
            ws.write_number(row, col + 1, round(unit.share(p), 1), book.percent)
            col += 2
        for n in (unit.rated, unit.unrated, unit.not_rated, unit.withdrawn):
            ws.write_number(row, col, n)
            col += 1
        if unit.bands:
            ws.write_string(row, col, no if unit.problems else yes)
            ws.write_string(row, col + 1, "; ".join(_band_text(b) for b in unit.bands))
        row += 1
    sheet.row = row
    count = sheet.finish()
    book.close()
    return count


def _band_text(band) -> str:
    """ "Sangat Baik 12,5% (maks. 10%): di atas batas"."""
    limits = []
    if band.min_pct is not None:
        limits.append(_("min. %(n)d%%", n=band.min_pct))
    if band.max_pct is not None:
        limits.append(_("maks. %(n)d%%", n=band.max_pct))
    verdict = _("di bawah batas") if band.below else _("di atas batas") if band.above else _("sesuai")
    share = f"{band.share:.1f}".replace(".", ",")
    return f"{band.group} {share}% ({', '.join(limits)}): {verdict}"


# ---- the monthly recap of a year -----------------------------------------------------------------

MONTH_NAMES = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def monthly_query(year: int) -> sa.Select:
    """One row per employee with an evaluation in a monthly cycle of `year`; per month, the
    evaluation's predikat when rated, else its state (a grouped pivot, by unit and name)."""
    rated = Evaluation.state.in_([str(s) for s in RATED_STATES])
    outcome = sa.case(
        (sa.and_(rated, Evaluation.predikat.is_not(None)), sa.type_coerce(Evaluation.predikat, sa.String)),
        else_=Evaluation.state,
    )
    months = [sa.func.max(sa.case((Cycle.period == m, outcome))).label(f"m{m}") for m in range(1, 13)]
    per_employee = (
        sa.select(Evaluation.employee_id, *months)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(Cycle.kind == CycleKind.MONTHLY, Cycle.year == year, Cycle.period.between(1, 12))
        .group_by(Evaluation.employee_id)
        .subquery()
    )
    return (
        sa.select(
            Employee.nip,
            Employee.name,
            OrgUnit.name.label("unit"),
            Position.name.label("position"),
            Employee.rank,
            *(per_employee.c[f"m{m}"] for m in range(1, 13)),
        )
        .join(Employee, Employee.id == per_employee.c.employee_id)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .join(Position, Position.id == Employee.position_id)
        .order_by(OrgUnit.name, Employee.name, Employee.id)
    )


def write_monthly(year: int, out: str | IO[bytes]) -> int:
    """The monthly recap of a year: one row per employee, one column per month with the predikat
    of that month's periodic cycle ("Tidak dinilai", "Dikecualikan", "Belum dinilai" otherwise;
    empty where the employee had no evaluation that month)."""
    outcome = _labels(PREDIKAT_LABELS)
    outcome.update(
        {S.NOT_RATED.value: _("Tidak dinilai"), S.WITHDRAWN.value: _("Dikecualikan")},
    )
    pending = _("Belum dinilai")
    columns = [
        Column(_("No."), 5),
        Column(_("NIP"), 21, text=True),
        Column(_("Nama"), 30),
        Column(_("Unit kerja"), 30),
        Column(_("Jabatan"), 28),
        Column(_("Pangkat/golongan"), 24),
        *(Column(name, 14) for name in MONTH_NAMES),
    ]
    book = Book(out)
    sheet = Sheet(
        book,
        _("Rekap bulanan %(y)d", y=year),
        subtitle(_("Rekap predikat kinerja bulanan tahun %(y)d", y=year)),
        columns,
        3,
    )
    ws, text, row = sheet.ws, book.text, sheet.row
    for r in stream(monthly_query(year)):
        ws.write_number(row, 0, row - HEADER_ROW)
        ws.write_string(row, 1, r.nip, text)
        ws.write_string(row, 2, r.name)
        ws.write_string(row, 3, r.unit)
        ws.write_string(row, 4, r.position)
        if r.rank:
            ws.write_string(row, 5, r.rank)
        for m in range(1, 13):
            value = r[4 + m]  # nip, name, unit, position, pangkat, then the months
            if value is not None:
                ws.write_string(row, 5 + m, outcome.get(value, pending))
        row += 1
    sheet.row = row
    count = sheet.finish()
    book.close()
    return count


RECAPS: dict[str, Callable] = {
    "results": write_results,
    "progress": write_progress,
    "distribution": write_distribution,
}
