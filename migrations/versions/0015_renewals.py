"""renewals: plans a renewal renews, renewal lines, applied renewals, reminders

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reminder_opt_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_opt_out')),
    sa.UniqueConstraint('email', name=op.f('uq_reminder_opt_out_email'))
    )
    op.create_table('licence_renewal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('previous_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('previous_seats', sa.Integer(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_licence_renewal_licence_id_licence')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_licence_renewal_order_line_id_order_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_renewal')),
    sa.UniqueConstraint('order_line_id', name=op.f('uq_licence_renewal_order_line_id'))
    )
    with op.batch_alter_table('licence_renewal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_renewal_licence_id'), ['licence_id'], unique=False)

    op.create_table('renewal_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('offset_days', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_renewal_reminder_licence_id_licence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renewal_reminder')),
    sa.UniqueConstraint('licence_id', 'offset_days', name='uq_renewal_reminder_licence_offset')
    )
    with op.batch_alter_table('renewal_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renewal_reminder_licence_id'), ['licence_id'], unique=False)

    op.create_table('plan_renewal',
    sa.Column('renewal_plan_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_renewal_plan_id_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['renewal_plan_id'], ['plan.id'], name=op.f('fk_plan_renewal_renewal_plan_id_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('renewal_plan_id', 'plan_id', name=op.f('pk_plan_renewal'))
    )
    with op.batch_alter_table('plan_renewal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_renewal_plan_id'), ['plan_id'], unique=False)

    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renews_licence_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_order_line_renews_licence_id'), ['renews_licence_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_order_line_renews_licence_id_licence'), 'licence', ['renews_licence_id'], ['id'])



def downgrade():
    # Unpaid renewal orders lose the licence they renew: paying one after a downgrade
    # would issue a new key. Expire or cancel them first.
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_line_renews_licence_id_licence'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_order_line_renews_licence_id'))
        batch_op.drop_column('renews_licence_id')

    with op.batch_alter_table('plan_renewal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_renewal_plan_id'))

    op.drop_table('plan_renewal')
    with op.batch_alter_table('renewal_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renewal_reminder_licence_id'))

    op.drop_table('renewal_reminder')
    with op.batch_alter_table('licence_renewal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_renewal_licence_id'))

    op.drop_table('licence_renewal')
    op.drop_table('reminder_opt_out')
