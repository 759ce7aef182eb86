"""licensing: orders, licences, pool keys, audit

Orders and order lines (filled in by checkout), licences and imported pool keys (keys are
stored encrypted, with unique lookup hashes), the audit trail, and a low-stock threshold
per plan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_audit_event_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('customer_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('pending_payment', 'paid', 'fulfilled', 'refunded', 'expired', 'cancelled', 'failed', 'needs_attention', name='order_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('total_minor >= 0', name=op.f('ck_customer_order_total_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_order')),
    sa.UniqueConstraint('number', name=op.f('uq_customer_order_number'))
    )
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_order_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_order_status'), ['status'], unique=False)

    op.create_table('order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('product_name', sa.String(length=120), nullable=False),
    sa.Column('plan_name', sa.String(length=120), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('unit_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=False),
    sa.Column('fulfilment', sa.Enum('generated', 'pool', name='line_fulfilment', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_line_quantity_positive')),
    sa.CheckConstraint('unit_price_minor >= 0', name=op.f('ck_order_line_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_order_line_order_id_customer_order')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_order_line_plan_id_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_line'))
    )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_line_plan_id'), ['plan_id'], unique=False)

    op.create_table('pool_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('available', 'reserved', 'issued', name='pool_key_state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=True),
    sa.Column('reserved_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('vault_key_id', sa.String(length=16), nullable=False),
    sa.Column('lookup_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_pool_key_order_line_id_order_line')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_pool_key_plan_id_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_key')),
    sa.UniqueConstraint('lookup_hash', name=op.f('uq_pool_key_lookup_hash'))
    )
    with op.batch_alter_table('pool_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pool_key_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index('ix_pool_key_plan_id_state', ['plan_id', 'state', 'id'], unique=False)

    op.create_table('licence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('pool_key_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('active', 'revoked', 'expired', 'refunded', name='licence_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('vault_key_id', sa.String(length=16), nullable=False),
    sa.Column('lookup_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_licence_order_line_id_order_line')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_licence_plan_id_plan')),
    sa.ForeignKeyConstraint(['pool_key_id'], ['pool_key.id'], name=op.f('fk_licence_pool_key_id_pool_key')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['licence.id'], name=op.f('fk_licence_replaced_by_id_licence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence')),
    sa.UniqueConstraint('lookup_hash', name=op.f('uq_licence_lookup_hash')),
    sa.UniqueConstraint('order_line_id', 'unit', 'generation', name='uq_licence_line_unit_generation'),
    sa.UniqueConstraint('pool_key_id', name=op.f('uq_licence_pool_key_id'))
    )
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_licence_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_licence_status'), ['status'], unique=False)

    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('low_stock_threshold', sa.Integer(), server_default='10', nullable=False))



def downgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('low_stock_threshold')

    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_status'))
        batch_op.drop_index(batch_op.f('ix_licence_plan_id'))
        batch_op.drop_index(batch_op.f('ix_licence_order_line_id'))

    op.drop_table('licence')
    with op.batch_alter_table('pool_key', schema=None) as batch_op:
        batch_op.drop_index('ix_pool_key_plan_id_state')
        batch_op.drop_index(batch_op.f('ix_pool_key_order_line_id'))

    op.drop_table('pool_key')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_plan_id'))
        batch_op.drop_index(batch_op.f('ix_order_line_order_id'))

    op.drop_table('order_line')
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_order_status'))
        batch_op.drop_index(batch_op.f('ix_customer_order_email'))

    op.drop_table('customer_order')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_subject')
        batch_op.drop_index(batch_op.f('ix_audit_event_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
