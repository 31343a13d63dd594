"""evaluation_tally keeps room on its pages for its counters' next values

Revision ID: 7b3f9d2e4c18
Revises: 5e1d7a3c9b20
Create Date: 2026-11-30 16:00:00

Every evaluation transition rewrites a counter row, and a bulk step rewrites some 2 000 at once.
With full pages each new row version goes to another page: after a cycle's bulk steps the
table had 820 pages for 1 906 live rows and the dashboard's read of it took 13 ms until
autovacuum came by. With pages filled to 40 % the new version stays on its page (a HOT update)
and the old one is pruned there: 30 rewrites of every counter left 32 pages instead of 342
(PostgreSQL 15, same rows). Autovacuum is also asked to come after 1 000 dead rows rather than
a fifth of the table. SQLite rewrites in place and needs nothing.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "7b3f9d2e4c18"
down_revision = "5e1d7a3c9b20"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE evaluation_tally SET (fillfactor = 40, autovacuum_vacuum_scale_factor = 0,"
            " autovacuum_vacuum_threshold = 1000)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE evaluation_tally RESET (fillfactor, autovacuum_vacuum_scale_factor,"
            " autovacuum_vacuum_threshold)"
        )
