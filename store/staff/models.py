"""A staff member's second factor: a TOTP secret sealed in the vault, and recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.dbtypes import UTCDateTime, utcnow
from store.extensions import db
from store.vault import SealedKeyMixin


class SecondFactor(SealedKeyMixin, db.Model):
    """The TOTP secret of one staff member, written once the first code confirmed it."""

    __tablename__ = "staff_second_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The TOTP time step of the last code accepted: a code of this step or an earlier one
    # is refused, so a code seen over someone's shoulder cannot be used again.
    last_used_step: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(db.Model):
    """A single-use code for when the phone is lost; only its keyed hash is kept."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the vault's lookup hash
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
