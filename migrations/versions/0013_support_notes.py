"""support notes: internal notes staff write on an order

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('support_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_support_note_order_id_customer_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_note'))
    )
    with op.batch_alter_table('support_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_note_order_id'), ['order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('support_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_note_order_id'))

    op.drop_table('support_note')
