"""pangkat/golongan ruang of employees, printed on the SKP and evaluation documents

A short text, one of the listed PNS pangkat (e.g. "Penata Muda Tk. I, III/b") or PPPK golongan
("IX"); empty until HR or an import fills it.

Revision ID: a3f6c2d9e481
Revises: d5a8c3e1f207
Create Date: 2026-11-30 06:15:00.000000

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "a3f6c2d9e481"
down_revision = "d5a8c3e1f207"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rank", sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.drop_column("rank")
