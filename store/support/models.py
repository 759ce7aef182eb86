"""SupportNote: an internal note staff write on an order, never shown to the customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.dbtypes import UTCDateTime, utcnow
from store.extensions import db

MAX_NOTE = 500


class SupportNote(db.Model):
    __tablename__ = "support_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    # Who wrote it, as the audit log names staff (their email), and their user id.
    author: Mapped[str] = mapped_column(String(254))
    author_id: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(MAX_NOTE))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
