"""Order use cases outside checkout and payment: viewing, expiring, access links."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from store.dbtypes import utcnow
from store.errors import NotFound
from store.extensions import begin_write, db
from store.licensing import get_vault
from store.licensing import services as licensing
from store.licensing.models import Licence
from store.orders.models import Order, OrderAccess, OrderLine, OrderStatus
from store.orders.states import transition

EXPIRY_BATCH = 100
ACCESS_TOKEN_BYTES = 20  # 160 random bits, written as 40 hex digits
MAX_TOKEN_LENGTH = 100


def grant_access(order: Order) -> None:
    """Give ``order`` a new random link token (sealed in the vault); an old link stops working.

    Runs in the caller's transaction.
    """
    sealed = get_vault().seal(secrets.token_hex(ACCESS_TOKEN_BYTES))
    order.access = OrderAccess(
        ciphertext=sealed.ciphertext, vault_key_id=sealed.key_id, lookup_hash=sealed.lookup_hash
    )


def order_access_token(order: Order) -> str:
    """The order page's link token, decrypted (for the buyer's email and redirects)."""
    return licensing.reveal(order.access)


def order_link(order: Order, *, external: bool = False) -> str:
    """The order page's address with its access token (for the buyer's email)."""
    return url_for(
        "orders.show", number=order.number, t=order_access_token(order), _external=external
    )


def may_view(order: Order, token: str | None, own_numbers: list[str]) -> bool:
    """The buyer's session placed the order, or the link carries its access token."""
    if order.number in own_numbers:
        return True
    if not token or len(token) > MAX_TOKEN_LENGTH or order.access is None:
        return False
    offered = get_vault().lookup_hash(str(token)).encode()
    return hmac.compare_digest(offered, order.access.lookup_hash.encode())


@dataclass(frozen=True)
class LineView:
    line: OrderLine
    licences: list[tuple[Licence, str]]  # each licence with its key, decrypted


@dataclass(frozen=True)
class OrderView:
    order: Order
    lines: list[LineView]


def order_view(order_id: int) -> OrderView:
    """The order with its lines and current licences, keys decrypted (for its owner only)."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_l("This order does not exist."))
    licences = db.session.scalars(
        select(Licence)
        .join(OrderLine)
        .where(OrderLine.order_id == order.id, Licence.replaced_by_id.is_(None))
        .order_by(Licence.order_line_id, Licence.unit)
    ).all()
    by_line: dict[int, list[tuple[Licence, str]]] = {line.id: [] for line in order.lines}
    for licence in licences:
        by_line[licence.order_line_id].append((licence, licensing.reveal(licence)))
    return OrderView(order, [LineView(line, by_line[line.id]) for line in order.lines])


def find_order(number: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.number == number[:20]))
    if order is None:
        raise NotFound(_l("This order does not exist."))
    return order


def find_order_by_checkout_token(token: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.checkout_token == token))


def expire_if_due(order: Order, now: datetime | None = None) -> bool:
    """Expire one unpaid order past its payment window and free its keys; commits.

    Returns True when it expired. Safe to call on every view of the order page.
    """
    now = now or utcnow()
    if order.status != OrderStatus.PENDING_PAYMENT or not order.expires_at or order.expires_at > now:
        return False
    begin_write()
    locked = db.session.scalar(select(Order).where(Order.id == order.id).with_for_update())
    expired = _expire(locked, now)
    db.session.commit()
    return expired


def _expire(order: Order, now: datetime) -> bool:
    if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at > now:
        return False  # paid or expired meanwhile
    transition(order, OrderStatus.EXPIRED, "payment window closed")
    licensing.release(order)
    return True


def expire_orders(now: datetime | None = None) -> int:
    """Expire every unpaid order past its window and release its keys; returns the count.

    Commits one transaction per batch of orders.
    """
    now = now or utcnow()
    total = 0
    while True:
        begin_write()
        due = db.session.scalars(
            select(Order)
            .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
            .order_by(Order.id)
            .limit(EXPIRY_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        expired = sum(_expire(order, now) for order in due)
        db.session.commit()
        total += expired
        if len(due) < EXPIRY_BATCH:
            return total
