"""Full refunds: give the buyer's money back through the provider and undo the sale.

``refund_order`` reads like ``confirm_payment``: the order's row is locked first and its
status re-read under the lock, so two admins pressing "Refund" at once make one refund
and the second is told the order was already refunded. Every check and write comes first
(licences revoked, keys freed, the order refunded, the buyer's email queued, audit
events); the provider is asked last, while the lock is held (a refund must never be asked
twice), and the payment records its answer; if it fails, nothing is written.
"""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from store.audit.models import Actor, record_change, values_of
from store.dbtypes import utcnow
from store.errors import NotFound, StoreError
from store.extensions import db
from store.licensing import renewals
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
    payments = settled_payments(order)
    return payments[0] if payments else None


def settled_payments(order: Order) -> list[Payment]:
    """Every approved payment of ``order``, oldest first, their rows locked."""
    return list(db.session.scalars(
        select(Payment).where(Payment.order_id == order.id,
                              Payment.status == PaymentStatus.APPROVED)
        .order_by(Payment.id).with_for_update()
    ))


def refund_order(order_id: int, *, reason: str, actor: Actor) -> list[Payment]:
    """Refund ``order_id`` in full and return the refunded payments (an order paid twice
    gets both payments back).

    Every check and every write comes first; the providers are asked last, just before
    the commit, so a refusal anywhere before them asks no provider for anything. Raises
    NotFound, AlreadyRefunded, NotRefundable (another status, or no settled payment) or
    PaymentProviderError (a provider refused or did not answer), changing nothing. One
    use case.
    """
    with use_case() as uow:
        order = locked_order(order_id)
        payments = _refundable_payments(order)
        undo_sale(order, reason=reason, actor=actor)
        refunded = []
        try:
            for payment in payments:
                result = _refund_at_provider(payment)
                refunded.append(payment)
                record_refund(payment, result, reason=reason, actor=actor)
            uow.commit()
        except Exception:  # noqa: BLE001 - money may have gone back: say so loudly, then fail
            if refunded:
                log.exception(
                    "order %s: %d payment(s) refunded at the provider but the store did not "
                    "record it; the refund can be asked again (providers refund once per "
                    "payment)", order.number, len(refunded))
            raise
    return payments


def _refundable_payments(order: Order) -> list[Payment]:
    if order.status == OrderStatus.REFUNDED:
        raise AlreadyRefunded(_l("Order %(number)s was already refunded.", number=order.number))
    if order.status not in REFUNDABLE:
        raise NotRefundable(_l(
            "Only fulfilled orders and orders that need attention can be refunded."))
    payments = settled_payments(order)
    if not payments:
        raise NotRefundable(_l(
            "This order has no settled payment to refund; settle it with the payment "
            "provider and mark the order resolved."))
    return payments


def _refund_at_provider(payment: Payment) -> RefundResult:
    """Ask the provider for the whole charge back. Raises PaymentProviderError."""
    provider = get_provider(payment.provider)
    return provider.refund(
        ProviderPayment(payment.reference, payment.provider_reference, payment.amount),
        payment.amount,
    )


def undo_sale(order: Order, *, reason: str, actor: Actor) -> None:
    """Revoke the order's licences (take back the time its renewals added), free any key
    still held for it, move it to refunded, queue the buyer's email and audit it."""
    before = values_of(order, "status")
    for licence in _active_licences(order):
        licensing.revoke(licence, reason=reason, actor=actor, status=LicenceStatus.REFUNDED)
    for line in order.lines:
        if line.is_renewal:  # the licence keeps working, without the refunded time
            renewals.undo_renewal(line, reason=reason, actor=actor)
    licensing.release(order)
    transition(order, OrderStatus.REFUNDED, reason)
    queue(ORDER_REFUNDED, order.email, locale=order.locale, order_id=order.id)
    record_change(actor=actor, action="order.refund", subject=order, before=before,
                  after=values_of(order, "status"), reason=reason)
    db.session.flush()


def record_refund(payment: Payment, result: RefundResult, *, reason: str,
                   actor: Actor) -> None:
    before = values_of(payment, "status", "refund_reference")
    payment.status = PaymentStatus.REFUNDED
    payment.refund_reference = (result.provider_reference or "")[:255] or None
    payment.refunded_at = utcnow()
    record_change(actor=actor, action="payment.refund", subject=payment, before=before,
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
