"""employees found by part of their name, e-mail or NIP through an index

Revision ID: b626b9d82ee0
Revises: 768057c70d91
Create Date: 2026-11-30 08:25:00

The employee list, the overdue list and the audit search find people by `lower(name) LIKE
'%…%'`, `email LIKE '%…%'` or `nip LIKE '…%'`: a full scan of `employee` (about 110 ms at
100 000 people on PostgreSQL).

- PostgreSQL: a GIN trigram index (`pg_trgm`, a trusted extension since PostgreSQL 13, so the
  database owner may create it) over `lower(name)` and `email`; the NIP prefix is looked up
  as a range on the unique index of `nip` (app.services.people.matching). NIP digits are left
  out of the trigram index on purpose: eighteen digit trigrams per row, from only a thousand
  possible ones, doubled the cost of inserting 100 000 employees.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+) over name, email and NIP,
  kept in step with `employee` by triggers; `app.services.people.matching` uses it to narrow
  the rows before the same three conditions decide.

Neither object is in the models (a GIN operator class and a virtual table have no portable
declaration); migrations/env.py leaves both out of autogenerate. A later migration that
rebuilds `employee` on SQLite (batch mode "copy and move") drops the triggers with the old
table and must create them again (`create_sqlite_search` below).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b626b9d82ee0'
down_revision = '768057c70d91'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER employee_search_insert AFTER INSERT ON employee BEGIN
        INSERT INTO employee_search (rowid, name, email, nip) VALUES (new.id, new.name, new.email, new.nip);
    END""",
    """CREATE TRIGGER employee_search_delete AFTER DELETE ON employee BEGIN
        INSERT INTO employee_search (employee_search, rowid, name, email, nip)
        VALUES ('delete', old.id, old.name, old.email, old.nip);
    END""",
    """CREATE TRIGGER employee_search_update AFTER UPDATE OF name, email, nip ON employee BEGIN
        INSERT INTO employee_search (employee_search, rowid, name, email, nip)
        VALUES ('delete', old.id, old.name, old.email, old.nip);
        INSERT INTO employee_search (rowid, name, email, nip) VALUES (new.id, new.name, new.email, new.nip);
    END""",
)


def create_sqlite_search():
    """The FTS5 table over employee, filled from the rows there, and the triggers that follow it."""
    op.execute(
        "CREATE VIRTUAL TABLE employee_search USING fts5("
        "name, email, nip, content='employee', content_rowid='id', tokenize='trigram')"
    )
    op.execute("INSERT INTO employee_search (employee_search) VALUES ('rebuild')")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_employee_search ON employee USING gin (lower(name) gin_trgm_ops, email gin_trgm_ops)"
        )
    elif dialect == 'sqlite':
        create_sqlite_search()


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_employee_search")
    elif dialect == 'sqlite':
        for name in ('employee_search_insert', 'employee_search_delete', 'employee_search_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS employee_search")
