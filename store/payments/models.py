"""Payments asked of a provider, and the provider notifications already acted on."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.dbtypes import UTCDateTime, db_enum, utcnow
from store.extensions import db
from store.money import Money
from store.orders.models import Order


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    MISMATCH = "mismatch"  # the provider confirmed another amount or currency
    REFUNDED = "refunded"  # approved, then given back in full (store/payments/refunds.py)


class Payment(db.Model):
    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("provider", "reference", name="uq_payment_provider_reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    # Our reference, sent to the provider and echoed in its notifications.
    reference: Mapped[str] = mapped_column(String(64))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    # What the provider charges, in the currency it settles in.
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # The order total (CUP) that charge stands for.
    order_amount_minor: Mapped[int] = mapped_column(BigInteger)
    order_currency: Mapped[str] = mapped_column(String(3))
    # CUP per unit of ``currency``, as exact decimal text ("120.00"), when the provider
    # settles in another currency (STORE_EXCHANGE_RATES); None when it charges the order
    # total as it is.
    exchange_rate: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[PaymentStatus] = mapped_column(
        db_enum(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING
    )
    # The provider's reference of the refund, and when it was made (refunded payments only).
    refund_reference: Mapped[str | None] = mapped_column(String(255))
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship()

    @property
    def amount(self) -> Money:
        """What the provider charges."""
        return Money(self.amount_minor, self.currency)

    @property
    def order_amount(self) -> Money:
        """The order total this payment pays."""
        return Money(self.order_amount_minor, self.order_currency)


class ProcessedEvent(db.Model):
    """A provider notification that was acted on; the unique pair makes it act once."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_processed_event_provider_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # the raw notification, kept for disputes
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangeRate(db.Model):
    """How many CUP one unit of a settlement currency is worth, from a moment on.

    A history: a new rate is a new row, and rows are never edited. The newest row of a
    currency is the rate new payments in it use (see store/payments/rates.py).
    """

    __tablename__ = "exchange_rate"
    __table_args__ = (
        db.Index("ix_exchange_rate_currency_effective_at", "currency", "effective_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    # CUP per unit of ``currency``, as exact decimal text ("120.5"), like Payment.exchange_rate.
    cup_per_unit: Mapped[str] = mapped_column(String(40))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    set_by: Mapped[str] = mapped_column(String(254))
    set_by_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def rate(self) -> Decimal:
        return Decimal(self.cup_per_unit)
