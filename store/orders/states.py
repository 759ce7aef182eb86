"""The order state machine: every status change goes through ``transition``.

```
pending_payment --paid--> paid --issue--> fulfilled --refund--> refunded
pending_payment --> expired | cancelled | failed | needs_attention
paid --> needs_attention   (paid but cannot be fulfilled; staff alerted)
expired | failed --reopen--> pending_payment   (the buyer pays again; keys reserved again)
expired | failed --> cancelled   (the buyer put the order back in the cart to change it)
```
A payment confirmed after the order expired, failed or was cancelled still counts: money
received moves the order to ``paid`` (then fulfilled, or needs_attention), never silence.
"""

from __future__ import annotations

from datetime import datetime

from store.orders.models import Order, OrderEvent, OrderStatus

S = OrderStatus
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.EXPIRED, S.CANCELLED, S.FAILED, S.NEEDS_ATTENTION}),
    S.EXPIRED: frozenset({S.PENDING_PAYMENT, S.CANCELLED, S.PAID, S.NEEDS_ATTENTION}),
    S.FAILED: frozenset({S.PENDING_PAYMENT, S.CANCELLED, S.PAID, S.NEEDS_ATTENTION}),
    S.CANCELLED: frozenset({S.PAID, S.NEEDS_ATTENTION}),
    S.PAID: frozenset({S.FULFILLED, S.NEEDS_ATTENTION}),
    S.NEEDS_ATTENTION: frozenset({S.FULFILLED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}


class InvalidTransition(RuntimeError):
    """A status change the state machine does not allow: a programming error."""


def can_transition(order: Order, target: OrderStatus) -> bool:
    return target in ALLOWED[order.status]


def transition(order: Order, target: OrderStatus, note: str = "") -> None:
    """Move ``order`` to ``target`` and add the step to its timeline.

    Raises InvalidTransition when the move is not allowed. Runs in the caller's transaction.
    """
    if not can_transition(order, target):
        raise InvalidTransition(f"order {order.number}: {order.status} -> {target}")
    order.status = target
    order.events.append(OrderEvent(kind=target.value, note=note[:500]))


def note(order: Order, kind: str, text: str = "") -> None:
    """Add a timeline entry that is not a status change."""
    order.events.append(OrderEvent(kind=kind, note=text[:500]))


def shown_status(order: Order, now: datetime) -> OrderStatus:
    """The status to show: an unpaid order past its window reads as expired.

    The database catches up when the scheduled sweep (``expire-orders``) runs; pages never
    write to make it so.
    """
    overdue = order.expires_at is not None and order.expires_at <= now
    if order.status == OrderStatus.PENDING_PAYMENT and overdue:
        return OrderStatus.EXPIRED
    return order.status
