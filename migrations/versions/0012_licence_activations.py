"""licence activations: one row per device holding a seat of a licence

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('licence_activation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_licence_activation_licence_id_licence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_activation')),
    sa.UniqueConstraint('licence_id', 'fingerprint_hash', name='uq_licence_activation_device')
    )
    with op.batch_alter_table('licence_activation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_activation_licence_id'), ['licence_id'], unique=False)


def downgrade():
    with op.batch_alter_table('licence_activation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_activation_licence_id'))

    op.drop_table('licence_activation')
