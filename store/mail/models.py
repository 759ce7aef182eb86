"""OutboxMessage: an email to send, written in the transaction of the change that caused it.

The message stores what to render (a kind and ids), not the rendered text, so licence
keys are never written to the database: they are decrypted when the email is built.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.dbtypes import UTCDateTime, db_enum, utcnow
from store.extensions import db
from store.mail.kinds import renderer_for


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (db.Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8), default="es")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The order the message is about (the payload's order_id), so an order's timeline
    # finds its emails with one indexed query. No foreign key: mail sits below orders.
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[OutboxStatus] = mapped_column(
        db_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def queue(kind: str, recipient: str, *, locale: str, **payload: Any) -> OutboxMessage:
    """Add a message to the outbox. A step: runs in the caller's transaction, never commits.

    Raises UnknownMessageKind for a kind no area registered, so a typo fails the use case
    instead of a worker, hours later.
    """
    renderer_for(kind)
    message = OutboxMessage(kind=kind, recipient=recipient, locale=locale, payload=payload,
                            order_id=payload.get("order_id"))
    db.session.add(message)
    return message
