"""reassignments of raters and appeal handlers

HR moves the rater or the appeal handler of evaluations in flight (Plt./Plh., mutasi); a
temporary one (until) gives the role back when it ends.

Revision ID: 375290b11544
Revises: e8e88a8aeba5
Create Date: 2026-11-30 05:13:13.398377

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '375290b11544'
down_revision = 'e8e88a8aeba5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reassignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch', sa.String(length=32), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('from_id', sa.Integer(), nullable=True),
    sa.Column('to_id', sa.Integer(), nullable=False),
    sa.Column('back_to_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('rater', 'appeal_handler')", name=op.f('ck_reassignment_known_role')),
    sa.ForeignKeyConstraint(['back_to_id'], ['employee.id'], name=op.f('fk_reassignment_back_to_id_employee')),
    sa.ForeignKeyConstraint(['created_by_id'], ['account.id'], name=op.f('fk_reassignment_created_by_id_account')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluation.id'], name=op.f('fk_reassignment_evaluation_id_evaluation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_id'], ['employee.id'], name=op.f('fk_reassignment_from_id_employee')),
    sa.ForeignKeyConstraint(['to_id'], ['employee.id'], name=op.f('fk_reassignment_to_id_employee')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reassignment'))
    )
    with op.batch_alter_table('reassignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reassignment_back_to_id'), ['back_to_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reassignment_batch'), ['batch'], unique=False)
        batch_op.create_index('ix_reassignment_evaluation', ['evaluation_id', 'role'], unique=False)
        batch_op.create_index('ix_reassignment_running', ['until'], unique=False, postgresql_where=sa.text('ended_at IS NULL AND until IS NOT NULL'), sqlite_where=sa.text('ended_at IS NULL AND until IS NOT NULL'))
        batch_op.create_index(batch_op.f('ix_reassignment_to_id'), ['to_id'], unique=False)



def downgrade():
    with op.batch_alter_table('reassignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reassignment_to_id'))
        batch_op.drop_index('ix_reassignment_running', postgresql_where=sa.text('ended_at IS NULL AND until IS NOT NULL'), sqlite_where=sa.text('ended_at IS NULL AND until IS NOT NULL'))
        batch_op.drop_index('ix_reassignment_evaluation')
        batch_op.drop_index(batch_op.f('ix_reassignment_batch'))
        batch_op.drop_index(batch_op.f('ix_reassignment_back_to_id'))

    op.drop_table('reassignment')
