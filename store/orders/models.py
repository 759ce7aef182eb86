"""Orders and order lines: what a customer asked to buy, with a snapshot of each plan.

Licensing reserves pool keys for, and issues licences to, order lines; the checkout
milestone creates orders and moves them through their states.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.catalogue.models import Fulfilment, Plan
from store.dbtypes import UTCDateTime, db_enum, utcnow
from store.extensions import db
from store.money import Money
from store.vault import SealedKeyMixin


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    REFUNDED = "refunded"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"


class Order(db.Model):
    __tablename__ = "customer_order"
    __table_args__ = (CheckConstraint("total_minor >= 0", name="total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    # The checkout form's idempotency key: a second submission finds this order.
    checkout_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[OrderStatus] = mapped_column(
        db_enum(OrderStatus, "order_status"), default=OrderStatus.PENDING_PAYMENT, index=True
    )
    currency: Mapped[str] = mapped_column(String(3), default="CUP")
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    locale: Mapped[str] = mapped_column(String(8), default="es")
    # The account that placed the order, when the buyer was signed in.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )
    access: Mapped[OrderAccess | None] = relationship(
        back_populates="order", cascade="all, delete-orphan"
    )

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)

    def __repr__(self) -> str:
        return f"<Order {self.number} {self.status}>"


class OrderLine(db.Model):
    """One plan in an order, with what it was when bought (prices change; lines do not)."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(120))
    plan_name: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str] = mapped_column(String(64))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    seats: Mapped[int] = mapped_column(Integer)
    duration_days: Mapped[int] = mapped_column(Integer)
    # How keys are delivered, fixed when ordered: changing the plan later changes nothing here.
    fulfilment: Mapped[Fulfilment] = mapped_column(db_enum(Fulfilment, "line_fulfilment"))
    # A renewal line extends this licence instead of issuing keys (quantity 1).
    # (Created after both tables: licence points back to order_line.)
    renews_licence_id: Mapped[int | None] = mapped_column(
        ForeignKey("licence.id", use_alter=True), index=True)

    order: Mapped[Order] = relationship(back_populates="lines")
    plan: Mapped[Plan] = relationship()

    @property
    def unit_price(self) -> Money:
        return Money(self.unit_price_minor, self.currency)

    @property
    def is_renewal(self) -> bool:
        return self.renews_licence_id is not None

    @classmethod
    def snapshot(cls, plan: Plan, quantity: int, *, renews: int | None = None) -> OrderLine:
        """A line for ``quantity`` of ``plan``, copying what the plan is right now; with
        ``renews``, the renewal of that licence."""
        return cls(
            renews_licence_id=renews,
            plan=plan,
            quantity=quantity,
            product_name=plan.product.name,
            plan_name=plan.name,
            sku=plan.sku,
            unit_price_minor=plan.price_minor,
            currency=plan.currency,
            seats=plan.seats,
            duration_days=plan.duration_days,
            fulfilment=plan.fulfilment,
        )


class OrderEvent(db.Model):
    """One step in an order's timeline: a state change or something worth knowing."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")


class OrderAccess(SealedKeyMixin, db.Model):
    """The random token of the order page's link, kept in the vault like a licence key.

    The emailed link carries the token; the database holds only its ciphertext and keyed
    hash, so reading the database does not open anyone's order page.
    """

    __tablename__ = "order_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), unique=True)

    order: Mapped[Order] = relationship(back_populates="access")
