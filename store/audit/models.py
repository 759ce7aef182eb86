"""AuditEvent: who did what to which thing, why, and when. Rows are never updated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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


def record(
    *, actor: str, action: str, subject: db.Model, reason: str, actor_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event for ``subject`` to the session. Runs in the caller's transaction."""
    event = AuditEvent(
        actor=actor, actor_id=actor_id, action=action, subject_type=subject.__tablename__,
        subject_id=subject.id, reason=reason, details=details,
    )
    db.session.add(event)
    return event
