"""Set-based SQL shared by the bulk writes (the CSV import, the outbox)."""

from collections.abc import Iterable

import sqlalchemy as sa


def json_rows(table: sa.Table, names: Iterable[str]):
    """`json_to_recordset(:json_rows) AS given(...)`, typed like the table's columns (PostgreSQL).

    The rows travel as one JSON parameter: one statement for any number of rows, with none
    of the per-row (executemany) or per-value (multi-row VALUES) cost in the driver.
    """
    rows = sa.func.json_to_recordset(sa.bindparam("json_rows", type_=sa.JSON))
    return rows.table_valued(
        *[sa.column(name, table.c[name].type) for name in names], name="given"
    ).render_derived(with_types=True)
