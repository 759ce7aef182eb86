"""place_order: turn a cart into an order, with keys reserved, in one transaction.

The steps read as a list: take the idempotency key, price the cart from the database,
write the order with a snapshot of each line, reserve pool keys, commit. Nothing the
browser sends besides plan ids and quantities is used.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from store.cart import services as cart_services
from store.dbtypes import utcnow
from store.errors import InvalidInput
from store.extensions import begin_write, db
from store.licensing import services as licensing
from store.licensing.keys import ALPHABET
from store.money import Money
from store.orders.models import Order, OrderLine, OrderStatus
from store.orders.services import find_order_by_checkout_token, grant_access
from store.orders.states import note


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


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    created: bool  # False when the same checkout was submitted before


def new_order_number() -> str:
    """A random, human-friendly number such as A-7KQ2-M9XD (not guessable, no look-alikes)."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"A-{symbols[:4]}-{symbols[4:]}"


def _priced_lines(cart: cart_services.Cart) -> list[cart_services.CartLine]:
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
        phone=buyer.phone, checkout_token=token, locale=locale, expires_at=expires,
        status=OrderStatus.PENDING_PAYMENT, currency="CUP",
    )
    for line in lines:
        order.lines.append(OrderLine.snapshot(line.plan, line.quantity))
    order.total_minor = sum(
        (line.unit_price * line.quantity for line in order.lines), Money(0, "CUP")
    ).minor
    grant_access(order)
    db.session.add(order)
    db.session.flush()
    note(order, "placed")
    return order


def place_order(
    *, cart: cart_services.Cart, buyer: Buyer, checkout_token: str, locale: str,
    payment_window: timedelta, now: datetime | None = None,
) -> PlacedOrder:
    """Create the order for ``cart``, or return the one this checkout already created.

    Raises CartNeedsReview (empty cart, changed prices or plans) or OutOfStock (a pool
    plan is short; names it). Either way nothing is written. Commits once.
    """
    now = now or utcnow()
    expires = now + payment_window
    for attempt in range(NUMBER_ATTEMPTS):
        try:
            begin_write()
            existing = find_order_by_checkout_token(checkout_token)
            if existing is not None:
                return PlacedOrder(existing, created=False)
            order = _new_order(buyer, _priced_lines(cart), token=checkout_token, locale=locale,
                               expires=expires)
            for line in order.lines:
                licensing.reserve(line, line.quantity, until=expires)
            db.session.commit()
            return PlacedOrder(order, created=True)
        except IntegrityError:
            db.session.rollback()
            existing = find_order_by_checkout_token(checkout_token)
            if existing is not None:  # the same checkout committed first (a double click)
                return PlacedOrder(existing, created=False)
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
            # Otherwise the random order number was taken: draw another one.
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")
