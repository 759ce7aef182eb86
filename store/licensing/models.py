"""Licences and the pool of imported vendor keys.

No key is ever stored in plain text: each row keeps the ciphertext, the id of the vault key
that sealed it, and the keyed lookup hash (see store/vault.py). The database
itself refuses double issuance:

* ``licence.lookup_hash`` and ``pool_key.lookup_hash`` are unique;
* ``licence.pool_key_id`` is unique, so a pool key belongs to at most one licence;
* ``(order_line_id, unit, generation)`` is unique: one licence per unit of an order line,
  and one replacement per reissue.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.catalogue.models import Plan
from store.dbtypes import UTCDateTime, db_enum, utcnow
from store.extensions import db
from store.vault import SealedKeyMixin

if TYPE_CHECKING:  # orders sits above licensing; the mapper resolves "OrderLine" by name
    from store.orders.models import OrderLine


class LicenceStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class PoolKeyState(enum.StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    ISSUED = "issued"


class PoolKey(SealedKeyMixin, db.Model):
    """A vendor key imported for a pool plan, waiting to be reserved and issued."""

    __tablename__ = "pool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    state: Mapped[PoolKeyState] = mapped_column(
        db_enum(PoolKeyState, "pool_key_state"), default=PoolKeyState.AVAILABLE
    )
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id"), index=True)
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[Plan] = relationship()

    # Allocation scans available keys of one plan in id order.
    __table_args__ = (db.Index("ix_pool_key_plan_id_state", "plan_id", "state", "id"),)


class Licence(SealedKeyMixin, db.Model):
    """A licence key issued for one unit of an order line."""

    __tablename__ = "licence"
    __table_args__ = (
        UniqueConstraint("order_line_id", "unit", "generation", name="uq_licence_line_unit_generation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    # Which unit of the line (0 .. quantity-1), and how many times it has been reissued.
    unit: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    pool_key_id: Mapped[int | None] = mapped_column(ForeignKey("pool_key.id"), unique=True)
    status: Mapped[LicenceStatus] = mapped_column(
        db_enum(LicenceStatus, "licence_status"), default=LicenceStatus.ACTIVE, index=True
    )
    seats: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"))
    status_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    order_line: Mapped[OrderLine] = relationship("OrderLine", foreign_keys=[order_line_id])
    plan: Mapped[Plan] = relationship()
    pool_key: Mapped[PoolKey | None] = relationship()
    replaced_by: Mapped[Licence | None] = relationship(remote_side="Licence.id")
    # The devices holding its seats, oldest first. Read only (activations.py writes them)
    # and never loaded behind the caller's back: a query must ask for them (selectinload).
    activations: Mapped[list[Activation]] = relationship(
        viewonly=True, lazy="raise", order_by="(Activation.created_at, Activation.id)")

    def __repr__(self) -> str:
        return f"<Licence {self.id} line={self.order_line_id} unit={self.unit} {self.status}>"


class LicenceRenewal(db.Model):
    """A paid renewal applied to a licence: once per order line (the unique line makes
    applying it idempotent), with the expiry and seats before and after (a refund puts
    them back)."""

    __tablename__ = "licence_renewal"

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), unique=True)
    previous_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    previous_seats: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    licence: Mapped[Licence] = relationship()


class LowStockAlert(db.Model):
    """The low-stock email of one UTC day: the unique day makes it go once a day at most,
    whatever the number of processes that run the alert."""

    __tablename__ = "low_stock_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    plans: Mapped[int] = mapped_column(Integer)  # how many plans were low
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Activation(db.Model):
    """A device holding one seat of a licence.

    The device is known only by ``fingerprint_hash``, the vault's keyed hash of its
    fingerprint (store/licensing/activations.py): the fingerprint itself is never stored.
    One row per device and licence; ``activations.activate`` counts rows under the
    licence's row lock so they never exceed its seats.
    """

    __tablename__ = "licence_activation"
    __table_args__ = (
        UniqueConstraint("licence_id", "fingerprint_hash", name="uq_licence_activation_device"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    fingerprint_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Activation {self.id} licence={self.licence_id}>"
