"""catalogue editing: uploaded product images, and the old slugs that redirect

A product can have an uploaded image (the random name of its WebP files); the slugs a
product had before the admin changed it are kept so their addresses redirect.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product_old_slug',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_old_slug_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_old_slug')),
    sa.UniqueConstraint('slug', name=op.f('uq_product_old_slug_slug'))
    )
    with op.batch_alter_table('product_old_slug', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_old_slug_product_id'), ['product_id'], unique=False)

    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_name', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_column('image_name')

    with op.batch_alter_table('product_old_slug', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_old_slug_product_id'))

    op.drop_table('product_old_slug')
