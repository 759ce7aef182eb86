"""payment: the order amount a charge stands for

A payment now records both what the provider charges (amount_minor, currency, in the
currency it settles in) and the order total that charge pays (order_amount_minor,
order_currency), with the exchange rate between them when they differ. Existing payments
charged the order total as it was, so both sides start equal.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_amount_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('order_currency', sa.String(length=3), nullable=True))
    op.execute("UPDATE payment SET order_amount_minor = amount_minor, order_currency = currency")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.alter_column('order_amount_minor', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('order_currency', existing_type=sa.String(length=3), nullable=False)


def downgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_column('order_currency')
        batch_op.drop_column('order_amount_minor')
