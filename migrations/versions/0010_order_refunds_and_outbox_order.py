"""orders back office: refunds on payments, and the order an outbox message is about

Payments gain the ``refunded`` status, the provider's refund reference and the refund
time. Outbox messages gain ``order_id`` (indexed, no foreign key: mail sits below
orders), filled for existing rows from their payload, so an order's timeline finds its
emails with one query.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OLD_STATUSES = ('pending', 'approved', 'declined', 'mismatch')
NEW_STATUSES = OLD_STATUSES + ('refunded',)


def _status(values):
    return sa.Enum(*values, name='payment_status', native_enum=False, create_constraint=True,
                   length=16)


def _fill_order_ids():
    conn = op.get_bind()
    outbox = sa.table('outbox_message', sa.column('id', sa.Integer),
                      sa.column('payload', sa.JSON), sa.column('order_id', sa.Integer))
    for message_id, payload in conn.execute(sa.select(outbox.c.id, outbox.c.payload)):
        if isinstance(payload, str):
            payload = json.loads(payload)
        order_id = (payload or {}).get('order_id')
        if isinstance(order_id, int):
            conn.execute(outbox.update().where(outbox.c.id == message_id)
                         .values(order_id=order_id))


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_order_id'), ['order_id'], unique=False)
    _fill_order_ids()

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_reference', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('status', existing_type=_status(OLD_STATUSES),
                              type_=_status(NEW_STATUSES), existing_nullable=False)


def downgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_status(NEW_STATUSES),
                              type_=_status(OLD_STATUSES), existing_nullable=False)
        batch_op.drop_column('refunded_at')
        batch_op.drop_column('refund_reference')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_order_id'))
        batch_op.drop_column('order_id')
