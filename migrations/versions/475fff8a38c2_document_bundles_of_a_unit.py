"""document bundles: a ZIP of a unit's SKP and evaluation documents, built in the background

HR asks for it; the scheduler builds it with its progress counted, and the page delivers the
file when it is done.

Revision ID: 475fff8a38c2
Revises: a3f6c2d9e481
Create Date: 2026-11-30 06:28:50.394885

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '475fff8a38c2'
down_revision = 'a3f6c2d9e481'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_bundle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=100), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_document_bundle_cycle_id_cycle'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['account.id'], name=op.f('fk_document_bundle_requested_by_id_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_document_bundle_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_bundle'))
    )
    with op.batch_alter_table('document_bundle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_bundle_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_bundle_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('document_bundle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_bundle_state'))
        batch_op.drop_index(batch_op.f('ix_document_bundle_cycle_id'))

    op.drop_table('document_bundle')
