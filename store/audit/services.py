"""Reading the audit log: filter by actor, action, subject and date, newest first.

Read only: the log has no use case that changes an event (see models.py for the guards).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from store.audit.models import AuditEvent
from store.extensions import db
from store.pagination import Paginated

PER_PAGE = 50


@dataclass(frozen=True)
class AuditFilter:
    """What to look for; empty fields match everything. Dates are UTC days, inclusive."""

    actor: str = ""
    action: str = ""  # "user." matches every action starting so; "user.disabled" only it
    subject_type: str = ""
    subject_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditPage(Paginated):
    events: list[AuditEvent]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EventDetails:
    """An event's details made readable: each changed field, then any other values."""

    changes: list[Change] = field(default_factory=list)
    other: list[tuple[str, Any]] = field(default_factory=list)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _filtered(wanted: AuditFilter) -> Select:
    query = select(AuditEvent)
    if wanted.actor:
        query = query.where(func.lower(AuditEvent.actor) == wanted.actor.strip().lower())
    action = wanted.action.strip()
    if action.endswith(".") or action.endswith("*"):
        query = query.where(AuditEvent.action.like(_like_prefix(action.rstrip("*")),
                                                   escape="\\"))
    elif action:
        query = query.where(AuditEvent.action == action)
    if wanted.subject_type:
        query = query.where(AuditEvent.subject_type == wanted.subject_type)
    if wanted.subject_id is not None:
        query = query.where(AuditEvent.subject_id == wanted.subject_id)
    if wanted.since is not None:
        query = query.where(AuditEvent.created_at >= datetime.combine(wanted.since, time(), UTC))
    if wanted.until is not None:
        end = datetime.combine(wanted.until + timedelta(days=1), time(), UTC)
        query = query.where(AuditEvent.created_at < end)
    return query


def search_events(wanted: AuditFilter, *, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    """One page of the events ``wanted`` picks, newest first (two queries)."""
    query = _filtered(wanted)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(page, 1), max(1, -(-total // per_page)))
    events = db.session.scalars(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return AuditPage(list(events), page, per_page, total)


def subject_types() -> list[str]:
    """The kinds of subject the log has events about, for the filter's choices."""
    return list(db.session.scalars(
        select(AuditEvent.subject_type).distinct().order_by(AuditEvent.subject_type)))


def readable(event: AuditEvent) -> EventDetails:
    """``event.details`` as changed fields (old → new) and other named values."""
    details = event.details or {}
    changes = details.get("changes")
    listed = []
    if isinstance(changes, dict):
        for name, pair in changes.items():
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                listed.append(Change(str(name), pair[0], pair[1]))
    other = [(str(k), v) for k, v in details.items() if k != "changes" or not listed]
    return EventDetails(listed, other)
