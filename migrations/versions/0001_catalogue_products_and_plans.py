"""catalogue: products and plans

Creates the product and plan tables. Enumerations are VARCHAR columns with named CHECK
constraints so they behave the same on SQLite and PostgreSQL.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('platform', sa.Enum('windows', 'linux', 'android', 'macos', 'multi', name='platform', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('audience', sa.Enum('home', 'business', name='audience', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('image', sa.String(length=200), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_featured', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('slug', name=op.f('uq_product_slug'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_audience'), ['audience'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_platform'), ['platform'], unique=False)

    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('fulfilment', sa.Enum('generated', 'pool', name='fulfilment', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('kind', sa.Enum('new', 'renewal', name='plan_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('duration_days > 0', name=op.f('ck_plan_duration_positive')),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_plan_price_not_negative')),
    sa.CheckConstraint('seats > 0', name=op.f('ck_plan_seats_positive')),
    sa.CheckConstraint("currency = 'CUP'", name=op.f('ck_plan_currency_cup')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_plan_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    sa.UniqueConstraint('sku', name=op.f('uq_plan_sku'))
    )
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_product_id'), ['product_id'], unique=False)



def downgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_product_id'))

    op.drop_table('plan')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_platform'))
        batch_op.drop_index(batch_op.f('ix_product_audience'))

    op.drop_table('product')
