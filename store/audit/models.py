"""AuditEvent: who did what to which thing, why, and when. Append only.

Nothing changes or removes an event once written, and three guards make sure: the ORM
refuses to flush a change to a loaded event or its deletion, the session refuses bulk
UPDATE and DELETE statements on the table, and the database itself refuses UPDATE and
DELETE through triggers (created with the table, and by migration 0011). Emptying the
test database uses TRUNCATE, which row triggers do not see.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, Integer, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from store.dbtypes import UTCDateTime, utcnow
from store.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "system", "cli", or a staff member's label; actor_id is the user id once accounts exist.
    actor: Mapped[str] = mapped_column(String(254))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (db.Index("ix_audit_event_subject", "subject_type", "subject_id"),)


class AppendOnly(RuntimeError):
    """Something tried to change or remove an audit event: a defect, never a user error."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_changes(mapper, connection, target: AuditEvent) -> None:
    raise AppendOnly(f"audit event {target.id} cannot be changed or deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Refuse ``update(AuditEvent)`` and ``delete(AuditEvent)`` run through a session."""
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) == AuditEvent.__tablename__:
            raise AppendOnly("audit events cannot be changed or deleted")


# The database's own refusal (migration 0011 writes the same statements).
APPEND_ONLY_DDL = {
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$\n"
        "BEGIN\n    RAISE EXCEPTION 'audit events are append-only';\n"
        "END;\n$$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event\n"
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event\n"
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event\n"
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END",
    ],
}
for _dialect, _statements in APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create",
                     DDL(_statement).execute_if(dialect=_dialect))


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member (label = their email, id = their user id), or "system"."""

    label: str
    id: int | None = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        """The signed-in staff member ``user`` (anything with ``email`` and ``id``)."""
        return cls(user.email, user.id)


SYSTEM = Actor("system")


def record(
    *, actor: str | Actor, action: str, subject: db.Model, reason: str,
    actor_id: int | None = None, **details: Any,
) -> AuditEvent:
    """Add an audit event for ``subject`` to the session. Runs in the caller's transaction."""
    if isinstance(actor, Actor):
        actor, actor_id = actor.label, actor.id
    event = AuditEvent(
        actor=actor, actor_id=actor_id, action=action, subject_type=subject.__tablename__,
        subject_id=subject.id, reason=reason, details=details,
    )
    db.session.add(event)
    return event


def _plain(value: Any) -> Any:
    """A value as JSON can hold it: enums by value, dates in ISO 8601."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def values_of(row: db.Model, *fields: str) -> dict[str, Any]:
    """``row``'s ``fields`` as plain values, to compare before and after a change."""
    return {name: _plain(getattr(row, name)) for name in fields}


def record_change(
    *, actor: Actor, action: str, subject: db.Model, before: dict[str, Any],
    after: dict[str, Any], reason: str = "",
) -> AuditEvent | None:
    """Audit what changed in ``subject``: ``details["changes"]`` maps each field that
    changed to ``[before, after]``. Nothing is written when nothing changed. Runs in the
    caller's transaction (call it after a flush, so a new row has its id).
    """
    changes = {
        name: [before.get(name), after.get(name)]
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    }
    if not changes:
        return None
    return record(actor=actor, action=action, subject=subject, reason=reason, changes=changes)
