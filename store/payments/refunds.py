"""Full refunds: give the buyer's money back through the provider and undo the sale.

``refund_order`` reads like ``confirm_payment``: the order's row is locked first and its
status re-read under the lock, so two admins pressing "Refund" at once make one refund
and the second is told the order was already refunded. The provider is asked while the
lock is held (a refund must never be asked twice); if it fails, nothing is written. Then
the licences are revoked, the payment records the refund, the order moves to refunded,
the buyer's email is queued and the audit events are written, in one transaction.
"""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from store.audit.models import Actor, record_change, values_of
from store.dbtypes import utcnow
from store.errors import NotFound, StoreError
from store.extensions import db
from store.licensing import services as licensing
from store.licensing.models import Licence, LicenceStatus
from store.mail.models import queue
from store.orders.emails import ORDER_REFUNDED
from store.orders.models import Order, OrderLine, OrderStatus
from store.orders.states import transition
from store.payments.gateway import ProviderPayment, RefundResult
from store.payments.models import Payment, PaymentStatus
from store.payments.registry import get_provider
from store.unit_of_work import use_case

log = logging.getLogger(__name__)

# Orders whose money can be given back here: delivered ones, and paid ones that need a
# person. Unpaid orders have nothing to refund; a payment of the wrong amount (mismatch)
# is settled at the provider by hand.
REFUNDABLE = frozenset({OrderStatus.FULFILLED, OrderStatus.NEEDS_ATTENTION})


class NotRefundable(StoreError):
    """The order has no settled payment this page can give back."""

    status = 409
    title = _l("This order cannot be refunded")


class AlreadyRefunded(NotRefundable):
    """The order was refunded before (perhaps a moment ago, by another admin)."""

    title = _l("This order was already refunded")


def locked_order(order_id: int) -> Order:
    """The order, its row locked until the transaction ends and its state read afresh.

    A step for the back office's order use cases. Raises NotFound.
    """
    order = db.session.scalar(
        select(Order).where(Order.id == order_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound()
    return order


def settled_payment(order: Order) -> Payment | None:
    """The approved payment that paid ``order`` (the first, if it was paid twice)."""
    return db.session.scalar(
        select(Payment).where(Payment.order_id == order.id,
                              Payment.status == PaymentStatus.APPROVED)
        .order_by(Payment.id).limit(1).with_for_update()
    )


def refund_order(order_id: int, *, reason: str, actor: Actor) -> Payment:
    """Refund ``order_id`` in full and return the refunded payment.

    Raises NotFound, AlreadyRefunded, NotRefundable (another status, or no settled
    payment) or PaymentProviderError (the provider refused or did not answer), changing
    nothing. One use case.
    """
    with use_case() as uow:
        order = locked_order(order_id)
        payment = _refundable_payment(order)
        result = _refund_at_provider(payment)
        _record_refund(order, payment, result, reason=reason, actor=actor)
        try:
            uow.commit()
        except Exception:  # noqa: BLE001 - money went back: say so loudly, then fail
            log.exception("order %s was refunded at %s (%s) but the store did not record it",
                          order.number, payment.provider, result.provider_reference)
            raise
    return payment


def _refundable_payment(order: Order) -> Payment:
    if order.status == OrderStatus.REFUNDED:
        raise AlreadyRefunded(_l("Order %(number)s was already refunded.", number=order.number))
    if order.status not in REFUNDABLE:
        raise NotRefundable(_l(
            "Only fulfilled orders and orders that need attention can be refunded."))
    payment = settled_payment(order)
    if payment is None:
        raise NotRefundable(_l(
            "This order has no settled payment to refund; settle it with the payment "
            "provider and mark the order resolved."))
    return payment


def _refund_at_provider(payment: Payment) -> RefundResult:
    """Ask the provider for the whole charge back. Raises PaymentProviderError."""
    provider = get_provider(payment.provider)
    return provider.refund(
        ProviderPayment(payment.reference, payment.provider_reference, payment.amount),
        payment.amount,
    )


def _record_refund(order: Order, payment: Payment, result: RefundResult, *, reason: str,
                   actor: Actor) -> None:
    before_order = values_of(order, "status")
    before_payment = values_of(payment, "status", "refund_reference")
    for licence in _active_licences(order):
        licensing.revoke(licence, reason=reason, actor=actor, status=LicenceStatus.REFUNDED)
    payment.status = PaymentStatus.REFUNDED
    payment.refund_reference = (result.provider_reference or "")[:255] or None
    payment.refunded_at = utcnow()
    transition(order, OrderStatus.REFUNDED, reason)
    queue(ORDER_REFUNDED, order.email, locale=order.locale, order_id=order.id)
    record_change(actor=actor, action="order.refund", subject=order, before=before_order,
                  after=values_of(order, "status"), reason=reason)
    record_change(actor=actor, action="payment.refund", subject=payment, before=before_payment,
                  after=values_of(payment, "status", "refund_reference"), reason=reason)
    db.session.flush()


def _active_licences(order: Order) -> list[Licence]:
    """The order's licences still working (older generations of reissued keys are not)."""
    return list(db.session.scalars(
        select(Licence).join(OrderLine, Licence.order_line_id == OrderLine.id)
        .where(OrderLine.order_id == order.id, Licence.status == LicenceStatus.ACTIVE,
               Licence.replaced_by_id.is_(None))
        .order_by(Licence.id)
    ))
