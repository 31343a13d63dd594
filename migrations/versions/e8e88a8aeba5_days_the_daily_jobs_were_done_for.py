"""days the daily jobs were done for

The reminders record each local day they handled, so that a scheduler that was down over a
reminder day sends it once when it comes back; the evidence sweep records the day it ran.
Days before the first recorded one count as handled (nothing is caught up across the upgrade).

Revision ID: e8e88a8aeba5
Revises: 35509f10ec46
Create Date: 2026-11-30 02:23:12.759341

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e8e88a8aeba5'
down_revision = '35509f10ec46'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_day',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('caught_up_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('job', 'day', name=op.f('pk_job_day'))
    )


def downgrade():
    op.drop_table('job_day')
