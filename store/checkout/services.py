"""check_out: turn a cart into an order with keys reserved and its payment started.

The steps read as a list, all in one transaction: take the idempotency key, price the cart
from the database, write the order with a snapshot of each line, reserve pool keys, record
the payment, commit. Then, with nothing locked, hand the payment to its provider. Nothing
the browser sends besides plan ids and quantities is used; a renewal line names its
licence, checked again here (store/cart/services.py, store/licensing/renewals.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from store.cart import services as cart_services
from store.orders.caps import PoolCaps, check_pool_caps, pool_keys_of
from store.dbtypes import utcnow
from store.errors import InvalidInput, StoreError
from store.extensions import db
from store.licensing import services as licensing
from store.licensing.keys import ALPHABET
from store.money import Money
from store.orders.models import Order, OrderLine, OrderStatus
from store.orders.services import find_order_by_checkout_token, grant_access
from store.orders.states import note
from store.payments.gateway import PaymentProvider, PaymentProviderError
from store.payments.registry import get_provider
from store.payments.services import hand_over, new_payment
from store.unit_of_work import use_case
from store.visitor import Cart


NUMBER_ATTEMPTS = 3


class CartNeedsReview(InvalidInput):
    """The cart is empty, or a plan changed price or left the catalogue since it was added."""

    status = 409
    title = _l("Please review your cart")


@dataclass(frozen=True)
class Buyer:
    email: str
    full_name: str
    phone: str = ""
    user_id: int | None = None  # the account signed in, which the order is linked to


class PaymentNotStarted(StoreError):
    """The order was placed but its provider did not answer; the buyer can pay it again."""

    status = 502
    title = _l("The payment service did not answer")

    def __init__(self, order: Order, detail: object | None = None) -> None:
        super().__init__(detail)
        self.order = order


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    pay_at: str | None = None  # the provider's page; None when this checkout placed it before

    @property
    def created(self) -> bool:
        """False when the same checkout was submitted before (a second click or tab)."""
        return self.pay_at is not None

    @property
    def pool_keys(self) -> int:
        """How many pool keys the order reserved."""
        return pool_keys_of(self.order)


def new_order_number() -> str:
    """A random, human-friendly number such as A-7KQ2-M9XD (not guessable, no look-alikes)."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"A-{symbols[:4]}-{symbols[4:]}"


def _priced_lines(cart: Cart) -> list[cart_services.CartLine]:
    view = cart_services.view(cart)
    if not view.buyable:
        raise CartNeedsReview(_l("Your cart is empty."))
    if view.has_problems:
        raise CartNeedsReview(
            _l("Some prices or plans in your cart changed. Please review your cart.")
        )
    return view.buyable


def _new_order(buyer: Buyer, lines, *, token: str, locale: str, expires: datetime) -> Order:
    order = Order(
        number=new_order_number(), email=buyer.email, full_name=buyer.full_name,
        phone=buyer.phone, user_id=buyer.user_id, checkout_token=token, locale=locale,
        expires_at=expires,
        status=OrderStatus.PENDING_PAYMENT, currency="CUP",
    )
    for line in lines:
        order.lines.append(OrderLine.snapshot(
            line.plan, line.quantity, renews=line.licence.id if line.is_renewal else None))
    order.total_minor = sum(
        (line.unit_price * line.quantity for line in order.lines), Money(0, "CUP")
    ).minor
    grant_access(order)
    db.session.add(order)
    db.session.flush()
    note(order, "placed")
    return order


@dataclass(frozen=True)
class Placing:
    """What one checkout records besides the cart and the buyer."""

    token: str
    locale: str
    provider: PaymentProvider
    now: datetime
    expires: datetime
    keys_held_by_address: int = 0


def check_out(
    *, cart: Cart, buyer: Buyer, checkout_token: str, locale: str,
    payment_window: timedelta, provider_name: str, now: datetime | None = None,
    keys_held_by_address: int = 0,
) -> PlacedOrder:
    """Place the order for ``cart`` and start its payment, or find the one this checkout placed.

    ``keys_held_by_address`` is how many pool keys orders from the buyer's address hold
    already (the view counts them; see store/orders/caps.py).

    Raises NotFound (unknown provider), CartNeedsReview (empty cart, changed prices or
    plans), HoldingLimitReached (the order would hoard a pool's keys), OutOfStock (a pool
    plan is short; names it) or PaymentProviderError (the provider cannot charge this
    order), writing nothing; or PaymentNotStarted when the order was placed but the
    provider failed to open the payment.
    """
    now = now or utcnow()
    placing = Placing(checkout_token, locale, get_provider(provider_name), now,
                      now + payment_window, keys_held_by_address)
    order, payment_id = _record_order_with_retries(cart, buyer, placing)
    if payment_id is None:  # this checkout had placed its order already
        return PlacedOrder(order)
    try:
        return PlacedOrder(order, pay_at=hand_over(payment_id))
    except PaymentProviderError as error:
        raise PaymentNotStarted(order, error.detail or error.title) from error


def _record_order_with_retries(
    cart: Cart, buyer: Buyer, placing: Placing
) -> tuple[Order, int | None]:
    """Record the order; on a unique-key clash, find the order a double submit placed, or
    draw another random order number. Returns the order and its new payment's id (None
    when this checkout had placed the order before)."""
    for attempt in range(1, NUMBER_ATTEMPTS + 1):
        try:
            return _record_order(cart, buyer, placing)
        except IntegrityError:
            existing = find_order_by_checkout_token(placing.token)
            if existing is not None:  # the same checkout committed first (a double click)
                return existing, None
            if attempt == NUMBER_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _record_order(cart: Cart, buyer: Buyer, placing: Placing) -> tuple[Order, int | None]:
    """The use case's transaction: the order, its reserved keys and its payment, or the
    order this checkout already placed (with no payment id)."""
    with use_case() as uow:
        existing = find_order_by_checkout_token(placing.token)
        if existing is not None:
            return existing, None
        lines = _priced_lines(cart)
        check_pool_caps([line for line in lines if not line.is_renewal], email=buyer.email,
                        held_by_address=placing.keys_held_by_address,
                        caps=PoolCaps.from_config(current_app.config), now=placing.now)
        order = _new_order(buyer, lines, token=placing.token, locale=placing.locale,
                           expires=placing.expires)
        for line in order.lines:
            if not line.is_renewal:  # a renewal extends a licence: no key to hold
                licensing.reserve(line, line.quantity, until=placing.expires, now=placing.now)
        payment = new_payment(order, placing.provider, now=placing.now)
        uow.commit()
    return order, payment.id
