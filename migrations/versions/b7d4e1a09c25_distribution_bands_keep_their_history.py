"""distribution bands keep their history; the "Baik" rule of the default curve

An edit of the kurva distribusi retires the org predikat's rules and adds new ones, so a
published cycle is still read against the rules in force when it was published. The rules
seeded before this revision count as in force since 2000-01-01. The default curve gains the
rule it lacked: in a unit rated "Baik", some Butuh Perbaikan and/or Kurang are expected
(at least 1 %).

Revision ID: b7d4e1a09c25
Revises: 375290b11544
Create Date: 2026-11-30 05:20:00.000000

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b7d4e1a09c25'
down_revision = '375290b11544'
branch_labels = None
depends_on = None

SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def upgrade():
    with op.batch_alter_table('distribution_band', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
    band = sa.table(
        "distribution_band",
        sa.column("org_predikat", sa.String),
        sa.column("predikat_group", sa.String),
        sa.column("min_pct", sa.Integer),
        sa.column("max_pct", sa.Integer),
        sa.column("valid_from", sa.DateTime(timezone=True)),
    )
    op.execute(band.update().values(valid_from=SINCE))
    op.bulk_insert(
        band,
        [
            {
                "org_predikat": "baik",
                "predikat_group": "butuh_perbaikan,kurang",
                "min_pct": 1,
                "max_pct": None,
                "valid_from": SINCE,
            }
        ],
    )
    with op.batch_alter_table('distribution_band', schema=None) as batch_op:
        batch_op.alter_column('valid_from', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    band = sa.table(
        "distribution_band",
        sa.column("org_predikat", sa.String),
        sa.column("predikat_group", sa.String),
        sa.column("retired_at", sa.DateTime(timezone=True)),
    )
    op.execute(band.delete().where(band.c.retired_at.is_not(None)))
    op.execute(
        band.delete().where(band.c.org_predikat == "baik", band.c.predikat_group == "butuh_perbaikan,kurang")
    )
    with op.batch_alter_table('distribution_band', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
        batch_op.drop_column('valid_from')
