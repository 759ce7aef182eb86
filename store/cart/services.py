"""Cart rules. The cart itself is a plain dict kept in the session (store/visitor.py):

``{"<plan id>": {"q": quantity, "p": price in minor units when it was added}}``

A renewal is a line of its own for one licence, one of each at most:
``{"<plan id>r<licence id>": {"q": 1, "p": price, "l": licence id}}``. It goes in only
through ``add_renewal``, after the caller checked the buyer may renew that licence; a
renewal plan is never added as a plain line (it would be a new licence at renewal price).

Only ids and quantities matter; the remembered price exists so the cart page can say
"this price changed since you added it". Every total comes from the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from store.catalogue.models import Plan, PlanKind, Product
from store.errors import InvalidInput
from store.extensions import db
from store.licensing.models import Licence
from store.licensing.renewals import NotRenewable, check_renewable, current_licence
from store.money import Money
from store.orders.services import masked_key
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
    # A renewal line: the licence it renews (its newest key), or why it cannot any more.
    licence_id: int | None = None
    licence: Licence | None = None
    renewal_problem: str | None = None

    @property
    def is_renewal(self) -> bool:
        return self.licence_id is not None

    @property
    def on_sale(self) -> bool:
        return self.plan is not None and self.plan.is_active and self.plan.product.is_active

    @property
    def available(self) -> bool:
        if not self.on_sale:
            return False
        if self.is_renewal:
            return self.licence is not None and self.renewal_problem is None
        return self.plan.kind != PlanKind.RENEWAL

    @property
    def masked_key(self) -> str:
        return masked_key(self.licence) if self.licence is not None else ""

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


RENEWAL_ONLY = _l("A renewal is bought for a licence you have: choose “Renew” in "
                  "“My licences”, or type your key on the renewal page.")


def renewal_key(plan_id: int, licence_id: int) -> str:
    return f"{plan_id}r{licence_id}"


def _parse_key(key: str) -> tuple[int, int | None] | None:
    """(plan id, licence id or None) of a cart key, or None for a key this cart never wrote."""
    plan, _sep, licence = key.partition("r")
    if not plan.isdigit() or (licence and not licence.isdigit()):
        return None
    return int(plan), int(licence) if licence else None


def add(cart: Cart, plan_id: int, quantity: int, *, max_quantity: int, max_lines: int) -> Cart:
    """Return the cart with ``quantity`` more of the plan. Raises CartError, cart unchanged."""
    check_quantity(quantity, max_quantity)
    plan = _plan_on_sale(plan_id)
    if plan.kind == PlanKind.RENEWAL:
        raise CartError(RENEWAL_ONLY)
    key = str(plan.id)
    current = cart.get(key, {}).get("q", 0)
    if key not in cart and len(cart) >= max_lines:
        raise CartError(_l("A cart holds at most %(max)d different plans.", max=max_lines))
    if current + quantity > max_quantity:
        raise CartError(
            _l("You can buy at most %(max)d of the same plan at once.", max=max_quantity)
        )
    return {**cart, key: {"q": current + quantity, "p": plan.price_minor}}


def add_renewal(cart: Cart, plan_id: int, licence_id: int, *, max_lines: int) -> Cart:
    """Return the cart with the renewal of licence ``licence_id`` by plan ``plan_id``.

    The caller has checked that the buyer may renew this licence (they own it, typed its
    key, or followed its reminder link). Raises CartError with the reason (not on sale,
    not a renewal of this licence's plan, licence revoked, renewal already in the cart),
    cart unchanged.
    """
    plan = _plan_on_sale(plan_id)
    licence = db.session.get(Licence, licence_id)
    if licence is None:
        raise CartError(_l("This licence does not exist."))
    licence = current_licence(licence)
    try:
        check_renewable(plan, licence)
    except NotRenewable as error:
        raise CartError(error.detail) from error
    key = renewal_key(plan.id, licence.id)
    if any(_parse_key(other) and _parse_key(other)[1] == licence.id for other in cart):
        raise CartError(_l("A renewal of this licence is already in your cart."))
    if len(cart) >= max_lines:
        raise CartError(_l("A cart holds at most %(max)d different plans.", max=max_lines))
    return {**cart, key: {"q": 1, "p": plan.price_minor, "l": licence.id}}


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
    cart: Cart, lines: list[tuple[int, int, int | None]], *, max_quantity: int, max_lines: int,
) -> AddedLines:
    """Return the cart with each ``(plan id, quantity, renewed licence id or None)`` added,
    saying what did not fit.

    An order's lines going back to the cart (the buyer owns that order, so its renewals
    too). Prices are today's, as for any line added.
    """
    left_out: list[int] = []
    capped: list[int] = []
    for plan_id, quantity, licence_id in lines:
        if licence_id is not None:
            try:
                cart = add_renewal(cart, plan_id, licence_id, max_lines=max_lines)
            except CartError:
                left_out.append(plan_id)
            continue
        try:
            plan = _plan_on_sale(plan_id)
        except CartError:
            left_out.append(plan_id)
            continue
        if plan.kind == PlanKind.RENEWAL:
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


def remove(cart: Cart, plan_id: int, licence_id: int | None = None) -> Cart:
    """Return the cart without the plan's line (the renewal of ``licence_id`` when given).
    Raises CartError when it has none."""
    key = renewal_key(plan_id, licence_id) if licence_id else str(plan_id)
    if key not in cart:
        raise CartError(_l("That plan is not in your cart."))
    return {other: item for other, item in cart.items() if other != key}


def view(cart: Cart) -> CartView:
    """Load the cart's plans (one query) with their current prices, and the licences its
    renewals extend, each checked again."""
    keys = {key: parsed for key in cart if (parsed := _parse_key(key)) is not None}
    plan_ids = {plan_id for plan_id, _licence in keys.values()}
    plans = {
        plan.id: plan
        for plan in db.session.scalars(
            select(Plan).where(Plan.id.in_(plan_ids))
            .options(selectinload(Plan.product), selectinload(Plan.renews))
        )
    } if plan_ids else {}
    lines = []
    for key, (plan_id, licence_id) in keys.items():
        item = cart[key]
        plan = plans.get(plan_id)
        seen = item.get("p")
        licence, problem = _renewed(plan, licence_id) if licence_id else (None, None)
        lines.append(CartLine(
            plan_id=plan_id, quantity=1 if licence_id else int(item.get("q", 0)), plan=plan,
            seen_price=Money(seen, plan.currency) if plan and isinstance(seen, int) else None,
            licence_id=licence_id, licence=licence, renewal_problem=problem,
        ))
    return CartView(lines)


def _renewed(plan: Plan | None, licence_id: int) -> tuple[Licence | None, str | None]:
    """The licence a renewal line extends now (its newest key) and why it cannot, if so."""
    licence = db.session.get(Licence, licence_id)
    if licence is None or plan is None:
        return None, None
    licence = current_licence(licence)
    try:
        check_renewable(plan, licence)
    except NotRenewable as error:
        return licence, str(error.detail)
    return licence, None


def accept_prices(cart: Cart, current: CartView) -> Cart:
    """Remember today's prices and drop lines no longer on sale (after the buyer saw them)."""
    accepted: Cart = {}
    for line in current.buyable:
        if line.is_renewal:
            accepted[renewal_key(line.plan_id, line.licence.id)] = {
                "q": 1, "p": line.plan.price_minor, "l": line.licence.id}
        else:
            accepted[str(line.plan_id)] = {"q": line.quantity, "p": line.plan.price_minor}
    return accepted
