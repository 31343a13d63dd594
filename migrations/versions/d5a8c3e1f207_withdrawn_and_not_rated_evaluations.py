"""withdrawn and "tidak dinilai" evaluations: the state they left, why, when

An evaluation HR withdraws from its cycle (mutasi keluar, pensiun, ...) or marks "tidak dinilai"
keeps the state it left (restored when HR takes the decision back before publication), the
reason and the moment.

Revision ID: d5a8c3e1f207
Revises: c41f9a2d7e10
Create Date: 2026-11-30 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd5a8c3e1f207'
down_revision = 'c41f9a2d7e10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('set_aside_from', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('withdrawal_reason', sa.Enum('mutasi', 'pensiun', 'meninggal', 'cltn', 'tugas_belajar', 'diberhentikan', name='withdrawal_reason', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch_op.add_column(sa.Column('set_aside_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('set_aside_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_column('set_aside_at')
        batch_op.drop_column('set_aside_note')
        batch_op.drop_constraint('withdrawal_reason', type_='check')
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('set_aside_from')
