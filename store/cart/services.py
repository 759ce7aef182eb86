"""Cart rules. The cart itself is a plain dict kept in the session (store/visitor.py):

``{"<plan id>": {"q": quantity, "p": price in minor units when it was added}}``

Only ids and quantities matter; the remembered price exists so the cart page can say
"this price changed since you added it". Every total comes from the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from store.catalogue.models import Plan, Product
from store.errors import InvalidInput
from store.extensions import db
from store.money import Money
from store.visitor import Cart


class CartError(InvalidInput):
    """A cart change was refused; the cart is unchanged."""

    title = _l("The cart was not changed")


@dataclass(frozen=True)
class CartLine:
    plan_id: int
    quantity: int
    plan: Plan | None  # None when the plan no longer exists
    seen_price: Money | None

    @property
    def available(self) -> bool:
        return self.plan is not None and self.plan.is_active and self.plan.product.is_active

    @property
    def price_changed(self) -> bool:
        return self.available and self.seen_price is not None and self.seen_price != self.plan.price

    @property
    def subtotal(self) -> Money | None:
        return self.plan.price * self.quantity if self.available else None


@dataclass(frozen=True)
class CartView:
    lines: list[CartLine]

    @property
    def total(self) -> Money:
        return sum((line.subtotal for line in self.buyable), Money(0, "CUP"))

    @property
    def buyable(self) -> list[CartLine]:
        return [line for line in self.lines if line.available]

    @property
    def has_problems(self) -> bool:
        return any(not line.available or line.price_changed for line in self.lines)


def item_count(cart: Cart) -> int:
    return sum(item.get("q", 0) for item in cart.values())


def _plan_on_sale(plan_id: int) -> Plan:
    plan = db.session.scalar(
        select(Plan).join(Product).where(
            Plan.id == plan_id, Plan.is_active.is_(True), Product.is_active.is_(True)
        )
    )
    if plan is None:
        raise CartError(_l("This plan is not on sale."))
    return plan


def check_quantity(quantity: int, max_quantity: int) -> int:
    if not 1 <= quantity <= max_quantity:
        raise CartError(
            _l("The quantity must be between 1 and %(max)d.", max=max_quantity)
        )
    return quantity


def add(cart: Cart, plan_id: int, quantity: int, *, max_quantity: int, max_lines: int) -> Cart:
    """Return the cart with ``quantity`` more of the plan. Raises CartError, cart unchanged."""
    check_quantity(quantity, max_quantity)
    plan = _plan_on_sale(plan_id)
    key = str(plan.id)
    current = cart.get(key, {}).get("q", 0)
    if key not in cart and len(cart) >= max_lines:
        raise CartError(_l("A cart holds at most %(max)d different plans.", max=max_lines))
    if current + quantity > max_quantity:
        raise CartError(
            _l("You can buy at most %(max)d of the same plan at once.", max=max_quantity)
        )
    return {**cart, key: {"q": current + quantity, "p": plan.price_minor}}


def set_quantity(cart: Cart, plan_id: int, quantity: int, *, max_quantity: int) -> Cart:
    """Return the cart with the line's quantity changed. Raises CartError, cart unchanged."""
    key = str(plan_id)
    if key not in cart:
        raise CartError(_l("That plan is not in your cart."))
    check_quantity(quantity, max_quantity)
    return {**cart, key: {**cart[key], "q": quantity}}


@dataclass(frozen=True)
class AddedLines:
    cart: Cart
    left_out: list[int]  # plan ids not on sale any more, or past the cart's line limit
    capped: list[int]  # plan ids whose quantity was cut to the most one cart may hold


def add_lines(
    cart: Cart, lines: list[tuple[int, int]], *, max_quantity: int, max_lines: int
) -> AddedLines:
    """Return the cart with each ``(plan id, quantity)`` added, saying what did not fit.

    An order's lines going back to the cart. Prices are today's, as for any line added.
    """
    left_out: list[int] = []
    capped: list[int] = []
    for plan_id, quantity in lines:
        try:
            plan = _plan_on_sale(plan_id)
        except CartError:
            left_out.append(plan_id)
            continue
        key = str(plan.id)
        if key not in cart and len(cart) >= max_lines:
            left_out.append(plan_id)
            continue
        total = cart.get(key, {}).get("q", 0) + quantity
        if total > max_quantity:
            capped.append(plan_id)
            total = max_quantity
        cart = {**cart, key: {"q": total, "p": plan.price_minor}}
    return AddedLines(cart, left_out, capped)


def find_plan(plan_id: int) -> Plan | None:
    """The plan, on sale or not (to name a line that changed)."""
    return db.session.get(Plan, plan_id)


def remove(cart: Cart, plan_id: int) -> Cart:
    """Return the cart without the plan's line. Raises CartError when it has none."""
    if str(plan_id) not in cart:
        raise CartError(_l("That plan is not in your cart."))
    return {key: item for key, item in cart.items() if key != str(plan_id)}


def view(cart: Cart) -> CartView:
    """Load the cart's plans (one query) with their current prices."""
    ids = [int(key) for key in cart if key.isdigit()]
    plans = {
        plan.id: plan
        for plan in db.session.scalars(
            select(Plan).where(Plan.id.in_(ids)).options(selectinload(Plan.product))
        )
    } if ids else {}
    lines = []
    for key, item in cart.items():
        if not key.isdigit():
            continue
        plan = plans.get(int(key))
        seen = item.get("p")
        lines.append(CartLine(
            plan_id=int(key), quantity=int(item.get("q", 0)), plan=plan,
            seen_price=Money(seen, plan.currency) if plan and isinstance(seen, int) else None,
        ))
    return CartView(lines)


def accept_prices(cart: Cart, current: CartView) -> Cart:
    """Remember today's prices and drop lines no longer on sale (after the buyer saw them)."""
    return {
        str(line.plan_id): {"q": line.quantity, "p": line.plan.price_minor}
        for line in current.buyable
    }
