"""totals as announced, kept on the published cycle

Revision ID: 8c41d2a7e5f3
Revises: 3b7e2f9c41d0
Create Date: 2026-11-28 09:45:00

Cycles published before this revision keep NULL and their board counts as before.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '8c41d2a7e5f3'
down_revision = '3b7e2f9c41d0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_totals', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_column('published_totals')
