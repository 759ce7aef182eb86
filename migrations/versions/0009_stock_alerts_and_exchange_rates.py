"""back office stock and rates: the low-stock alert of each day, and the exchange rate history

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('low_stock_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('plans', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_low_stock_alert')),
    sa.UniqueConstraint('day', name=op.f('uq_low_stock_alert_day'))
    )
    op.create_table('exchange_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('cup_per_unit', sa.String(length=40), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=254), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rate'))
    )
    with op.batch_alter_table('exchange_rate', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_rate_currency_effective_at', ['currency', 'effective_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('exchange_rate', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_rate_currency_effective_at')

    op.drop_table('exchange_rate')
    op.drop_table('low_stock_alert')
