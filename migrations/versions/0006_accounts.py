"""accounts: users with a role, and orders linked to the account that placed them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('customer', 'support', 'admin', name='user_role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('auth_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_order_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_customer_order_user_id_user_account'), 'user_account', ['user_id'], ['id'])


def downgrade():
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_order_user_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_customer_order_user_id'))
        batch_op.drop_column('user_id')

    op.drop_table('user_account')
