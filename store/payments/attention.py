"""Resolve a paid order that needs attention: fulfil it again, or mark it resolved.

Both are use cases of the back office, each with the order's row locked and its status
re-read under the lock (as ``confirm_payment`` does), an audit event with the admin's
reason, and nothing written when they refuse. The third way out, a refund, is in
store/payments/refunds.py.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from store.audit.models import Actor, record_change, values_of
from store.dbtypes import utcnow
from store.errors import StoreError
from store.licensing import renewals
from store.licensing import services as licensing
from store.mail.models import queue
from store.orders.emails import ORDER_DELIVERY
from store.orders.models import Order, OrderStatus
from store.orders.states import transition
from store.payments.refunds import locked_order, settled_payment
from store.unit_of_work import use_case


class NotWaitingForAttention(StoreError):
    """Only an order in needs_attention can be fulfilled again or marked resolved."""

    status = 409
    title = _l("This order does not need attention")


def _waiting(order_id: int) -> tuple[Order, dict]:
    order = locked_order(order_id)
    if order.status != OrderStatus.NEEDS_ATTENTION:
        raise NotWaitingForAttention(_l(
            "Order %(number)s does not need attention any more.", number=order.number))
    return order, values_of(order, "status")


def retry_fulfilment(order_id: int, *, reason: str, actor: Actor) -> Order:
    """Issue the order's licences and queue the delivery email, now that they can be.

    Raises NotFound; NotWaitingForAttention for another status, or when the order has no
    settled payment (money of the wrong amount is never fulfilled); OutOfStock when a
    pool is still short; or NotRenewable when a renewal's licence was revoked. Each changes nothing. One use case.
    """
    with use_case() as uow:
        order, before = _waiting(order_id)
        if settled_payment(order) is None:
            raise NotWaitingForAttention(_l(
                "Order %(number)s has no settled payment of its amount: refund it at the "
                "provider, or mark it resolved.", number=order.number))
        # An order that reached needs_attention without being marked paid (its first
        # payment was of the wrong amount) counts as paid from now on: sales reports use it.
        order.paid_at = order.paid_at or utcnow()
        for line in order.lines:
            renewals.fulfil_line(line)
        transition(order, OrderStatus.FULFILLED, "licences issued on retry")
        queue(ORDER_DELIVERY, order.email, locale=order.locale, order_id=order.id)
        record_change(actor=actor, action="order.retry_fulfilment", subject=order,
                      before=before, after=values_of(order, "status"), reason=reason)
        uow.commit()
    return order


def resolve(order_id: int, *, reason: str, actor: Actor) -> Order:
    """Close the problem of an order settled outside the store: it becomes fulfilled.

    The state machine lets needs_attention end as fulfilled or refunded; refunds have
    their own use case, so a resolved order is one the buyer got what they paid for (keys
    sent by hand, the customer agreed, the mismatch settled with the provider). Issues
    nothing and sends nothing. Raises NotFound or NotWaitingForAttention. One use case.
    """
    with use_case() as uow:
        order, before = _waiting(order_id)
        licensing.release(order)  # keys still held for it go back to the pool
        transition(order, OrderStatus.FULFILLED, f"resolved: {reason}")
        record_change(actor=actor, action="order.resolve", subject=order, before=before,
                      after=values_of(order, "status"), reason=reason)
        uow.commit()
    return order
