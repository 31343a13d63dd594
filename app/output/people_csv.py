"""CSV export of org units and employees, in the import's format (app/imports/people.py), so an
export re-imports unchanged; every cell made safe to open in Excel."""

import csv
import io
from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from app.extensions import db
from app.imports.people import BATCH_SIZE, EMPLOYEE_COLUMNS, FORMULA_START, UNIT_COLUMNS
from app.models import Employee, OrgUnit, Position


def _excel_safe(value: object) -> str:
    """A cell value that Excel will not run as a formula (the import strips the apostrophe)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_text(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text: comma-separated, CRLF line ends, every cell made Excel-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_excel_safe(cell) for cell in row])
    return buffer.getvalue()


def export_units() -> str:
    """Every org unit as CSV (UTF-8 BOM first), parents before children, siblings by code."""
    units = db.session.execute(
        sa.select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.parent_id).order_by(OrgUnit.code)
    ).all()
    code_of_id = {unit.id: unit.code for unit in units}
    children: dict[int | None, list] = {}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in code_of_id else None
        children.setdefault(parent, []).append(unit)
    ordered, seen = [], set()
    stack = list(reversed(children.get(None, [])))
    while stack:
        unit = stack.pop()
        if unit.id in seen:
            continue
        seen.add(unit.id)
        ordered.append(unit)
        stack.extend(reversed(children.get(unit.id, [])))
    # Units caught in a loop have no root above them; still export them rather than lose them.
    ordered += [unit for unit in units if unit.id not in seen]
    rows = [(u.code, u.name, code_of_id.get(u.parent_id, "")) for u in ordered]
    return "\ufeff" + _csv_text([UNIT_COLUMNS, *rows])


def iter_employees_csv() -> Iterator[str]:
    """Every employee as CSV chunks of ~1000 rows (UTF-8 BOM first), by unit code and NIP.

    A generator: wrap it in stream_with_context when it feeds a response.
    """
    table = Employee.__table__
    supervisor = table.alias("supervisor")
    units = OrgUnit.__table__
    positions = Position.__table__
    statement = (
        sa.select(
            table.c.nip,
            table.c.name,
            table.c.email,
            table.c.employment_type,
            units.c.code,
            positions.c.name.label("position"),
            positions.c.kind,
            supervisor.c.nip.label("supervisor_nip"),
            table.c.rank,
            table.c.active,
        )
        .select_from(table)
        .join(units, table.c.unit_id == units.c.id)
        .join(positions, table.c.position_id == positions.c.id)
        .outerjoin(supervisor, table.c.supervisor_id == supervisor.c.id)
        .order_by(units.c.code, table.c.nip)
        .execution_options(yield_per=BATCH_SIZE)
    )
    yield "\ufeff" + _csv_text([EMPLOYEE_COLUMNS])
    for batch in db.session.execute(statement).partitions():
        yield _csv_text(
            (
                row.nip,
                row.name,
                row.email,
                row.employment_type.value,
                row.code,
                row.position,
                row.kind.value,
                row.supervisor_nip or "",
                row.rank or "",
                "ya" if row.active else "tidak",
            )
            for row in batch
        )
