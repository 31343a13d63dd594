"""outbox bodies stored once; indexes for the audit search and the cycle dashboards

Revision ID: 3b7e2f9c41d0
Revises: fac2f74745a9
Create Date: 2026-11-28 08:40:00

A phase change announced to 100 000 people used to write 100 000 copies of the same rendered
email; the bodies now live in `outbox_body`, one per distinct text, and each message points at
one. Existing messages keep their own bodies (body id = message id).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '3b7e2f9c41d0'
down_revision = 'fac2f74745a9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_body',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_body'))
    )
    op.execute(
        "INSERT INTO outbox_body (id, body_text, body_html, created_at) "
        "SELECT id, body_text, body_html, created_at FROM outbox_message"
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "SELECT setval(pg_get_serial_sequence('outbox_body', 'id'), "
            "COALESCE((SELECT MAX(id) FROM outbox_body), 0) + 1, false)"
        )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_id', sa.Integer(), nullable=True))
    op.execute("UPDATE outbox_message SET body_id = id")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('body_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_message_body_id_outbox_body'), 'outbox_body', ['body_id'], ['id']
        )
        batch_op.drop_column('body_text')
        batch_op.drop_column('body_html')
        batch_op.drop_index(batch_op.f('ix_outbox_message_kind'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_recipient_id'))
        batch_op.create_index(batch_op.f('ix_outbox_message_body_id'), ['body_id'], unique=False)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))
        batch_op.create_index('ix_audit_event_actor', ['actor_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_event_action', ['action', 'id'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(
            'ix_account_system',
            ['id'],
            unique=False,
            postgresql_where=sa.text('employee_id IS NULL'),
            sqlite_where=sa.text('employee_id IS NULL'),
        )

    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluation_cycle_state')
        batch_op.drop_index(batch_op.f('ix_evaluation_unit_id'))
        batch_op.create_index(
            'ix_evaluation_cycle_unit_state', ['cycle_id', 'unit_id', 'state', 'predikat'], unique=False
        )
        batch_op.create_index(
            'ix_evaluation_extended',
            ['cycle_id', 'extended_until'],
            unique=False,
            postgresql_where=sa.text('extended_until IS NOT NULL'),
            sqlite_where=sa.text('extended_until IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('ix_account_system')

    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluation_extended')
        batch_op.drop_index('ix_evaluation_cycle_unit_state')
        batch_op.create_index(batch_op.f('ix_evaluation_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_evaluation_cycle_state', ['cycle_id', 'state'], unique=False)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_action')
        batch_op.drop_index('ix_audit_event_actor')
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor_id'), ['actor_id'], unique=False)

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_recipient_id'), ['recipient_id'], unique=False)
    # Put the recipient's name back into shared bodies (the token is \x1f nama \x1f).
    op.execute(
        "UPDATE outbox_message SET "
        "body_text = (SELECT b.body_text FROM outbox_body b WHERE b.id = outbox_message.body_id), "
        "body_html = (SELECT b.body_html FROM outbox_body b WHERE b.id = outbox_message.body_id)"
    )
    op.execute(
        "UPDATE outbox_message SET "
        "body_text = REPLACE(body_text, CHR(31) || 'nama' || CHR(31), "
        "COALESCE((SELECT e.name FROM employee e WHERE e.id = outbox_message.recipient_id), '')), "
        "body_html = REPLACE(body_html, CHR(31) || 'nama' || CHR(31), "
        "COALESCE((SELECT e.name FROM employee e WHERE e.id = outbox_message.recipient_id), ''))"
        if op.get_bind().dialect.name == 'postgresql' else
        "UPDATE outbox_message SET "
        "body_text = REPLACE(body_text, CHAR(31) || 'nama' || CHAR(31), "
        "COALESCE((SELECT e.name FROM employee e WHERE e.id = outbox_message.recipient_id), '')), "
        "body_html = REPLACE(body_html, CHAR(31) || 'nama' || CHAR(31), "
        "COALESCE((SELECT e.name FROM employee e WHERE e.id = outbox_message.recipient_id), ''))"
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('body_text', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('body_html', existing_type=sa.Text(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_outbox_message_body_id'))
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_body_id_outbox_body'), type_='foreignkey')
        batch_op.drop_column('body_id')
    op.drop_table('outbox_body')
