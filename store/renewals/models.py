"""What the reminder emails remember: each reminder sent, and who asked for none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.dbtypes import UTCDateTime, utcnow
from store.extensions import db


class RenewalReminder(db.Model):
    """One reminder of one licence at one offset (days before expiry; negative: after).

    The unique (licence, offset) makes each reminder go once, however often and from
    however many hosts the command runs: the row and its email commit together.
    """

    __tablename__ = "renewal_reminder"
    __table_args__ = (
        UniqueConstraint("licence_id", "offset_days", name="uq_renewal_reminder_licence_offset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    offset_days: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderOptOut(db.Model):
    """An email address that asked for no more renewal reminders (the one-click link)."""

    __tablename__ = "reminder_opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
