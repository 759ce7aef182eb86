"""users can be disabled; the audit log refuses UPDATE and DELETE

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The same statements as store/audit/models.py APPEND_ONLY_DDL (migrations never import
# application code): the database itself refuses to change or remove an audit event.
POSTGRESQL_UP = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
]
SQLITE_UP = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
]


def _run(postgresql, sqlite):
    dialect = op.get_bind().dialect.name
    for statement in {"postgresql": postgresql, "sqlite": sqlite}.get(dialect, []):
        op.execute(statement)


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    _run(POSTGRESQL_UP, SQLITE_UP)


def downgrade():
    _run(POSTGRESQL_DOWN, SQLITE_DOWN)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
