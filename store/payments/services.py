"""Start payments, and act on provider notifications exactly once.

``confirm_payment`` is the heart of the store's promise: a verified, first-seen
notification for the right amount moves the order to paid, issues its licences and queues
the delivery email, all in one transaction. Anything that stops fulfilment after money
arrived leaves the order in ``needs_attention`` with staff alerted, never silent.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.dbtypes import utcnow
from store.errors import NotFound, StoreError
from store.extensions import begin_write, db, write_transaction
from store.licensing import services as licensing
from store.licensing.services import OutOfStock
from store.mail.models import queue
from store.orders.models import Order, OrderStatus
from store.orders.services import order_link
from store.orders.states import can_transition, note, transition
from store.payments.gateway import PaymentEvent, PaymentOutcome, PaymentRequest, get_provider
from store.payments.models import Payment, PaymentStatus, ProcessedEvent

log = logging.getLogger(__name__)
UNPAID = (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED, OrderStatus.FAILED,
          OrderStatus.CANCELLED)


class OrderNotPayable(StoreError):
    status = 409
    title = _l("This order cannot be paid now")


def begin_payment(order: Order, provider_name: str) -> str:
    """Record a new payment for a pending order and return where to send the buyer.

    The provider is called after the commit. Raises OrderNotPayable when the order is not
    waiting for payment, PaymentProviderError when the provider fails (order unchanged).
    """
    provider = get_provider(provider_name)
    begin_write()
    order = db.session.scalar(select(Order).where(Order.id == order.id).with_for_update())
    if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at <= utcnow():
        db.session.rollback()
        raise OrderNotPayable(_l("The payment window of this order has closed."))
    payment = _pending_payment(order, provider.name)
    if payment is None:
        payment = Payment(
            order_id=order.id, provider=provider.name, reference=secrets.token_urlsafe(18),
            amount_minor=order.total_minor, currency=order.currency,
        )
        db.session.add(payment)
        note(order, "payment_started", provider.name)
    db.session.commit()
    request = PaymentRequest(
        reference=payment.reference, order_number=order.number, amount=order.total,
        description=str(_l("Order %(number)s", number=order.number)), email=order.email,
        return_url=order_link(order, external=True),
        notify_url=url_for("payments.notify", provider=provider.name, _external=True),
    )
    start = provider.start_payment(request)
    if start.provider_reference:
        begin_write()
        db.session.get(Payment, payment.id).provider_reference = start.provider_reference
        db.session.commit()
    return start.redirect_url


def _pending_payment(order: Order, provider_name: str) -> Payment | None:
    """The payment already waiting at this provider: paying again resumes it, not a new charge."""
    return db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.provider == provider_name,
               Payment.status == PaymentStatus.PENDING)
        .order_by(Payment.id.desc())
    )


def receive_notification(provider_name: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify a provider notification and act on it once; return what happened.

    Raises InvalidNotification (bad signature or shape) or NotFound (unknown payment),
    changing nothing. Commits once.
    """
    provider = get_provider(provider_name)
    event = provider.verify_notification(body, headers)
    try:
        begin_write()
        outcome = confirm_payment(provider.name, event, body.decode("utf-8", "replace"))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if _already_processed(provider.name, event.event_id):
            return "duplicate"  # the same event committed first in a concurrent request
        raise  # anything else is a real failure: the provider will send it again
    except BaseException:
        db.session.rollback()
        raise
    return outcome


def confirm_payment(provider_name: str, event: PaymentEvent, raw: str) -> str:
    """Act on a verified event inside the caller's transaction (see module docstring)."""
    write_transaction()
    of_event = (Payment.provider == provider_name, Payment.reference == event.reference)
    order_id = db.session.scalar(select(Payment.order_id).where(*of_event))
    if order_id is None:
        raise NotFound(_l("Unknown payment."))
    order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    # The payment is read only under the order's lock, so a request that waited sees what
    # the one before it wrote (approved, declined), never the state from before the wait.
    payment = db.session.scalar(
        select(Payment).where(*of_event).with_for_update()
        .execution_options(populate_existing=True)
    )
    if _already_processed(provider_name, event.event_id):
        return "duplicate"
    outcome = _act(order, payment, event)
    db.session.add(ProcessedEvent(
        provider=provider_name, event_id=event.event_id, payment_id=payment.id,
        outcome=outcome, payload=raw[:20_000],
    ))
    db.session.flush()
    return outcome


def _already_processed(provider_name: str, event_id: str) -> bool:
    return db.session.scalar(
        select(ProcessedEvent.id).where(
            ProcessedEvent.provider == provider_name, ProcessedEvent.event_id == event_id
        )
    ) is not None


def _act(order: Order, payment: Payment, event: PaymentEvent) -> str:
    if event.outcome == PaymentOutcome.DECLINED:
        return _declined(order, payment)
    if payment.status == PaymentStatus.APPROVED:
        return "already_paid"  # a second notification of the same payment
    if event.amount != payment.amount or payment.amount != order.total:
        payment.status = PaymentStatus.MISMATCH
        return _needs_attention(
            order, f"provider confirmed {event.amount}, order asked for {order.total}",
            "amount_mismatch",
        )
    payment.status = PaymentStatus.APPROVED
    if order.status not in UNPAID:
        # Money for an order that was already paid by another payment: refund by hand.
        return _needs_attention(order, f"second payment {payment.reference}", "paid_twice")
    order.paid_at = utcnow()
    transition(order, OrderStatus.PAID, f"{payment.provider} {payment.reference}")
    return _fulfil(order)


def _declined(order: Order, payment: Payment) -> str:
    if payment.status != PaymentStatus.PENDING:
        return "ignored"
    payment.status = PaymentStatus.DECLINED
    if order.status == OrderStatus.PENDING_PAYMENT:
        transition(order, OrderStatus.FAILED, "payment declined")
        licensing.release(order)
    return "declined"


def _fulfil(order: Order) -> str:
    """Issue every line's licences and queue the delivery email, or go to needs_attention."""
    savepoint = db.session.begin_nested()
    try:
        for line in order.lines:
            licensing.issue(line)
    except OutOfStock as error:
        savepoint.rollback()
        return _needs_attention(order, f"cannot issue keys: {error.detail}", "out_of_stock")
    except Exception as error:  # noqa: BLE001 - money arrived: report, never fail silently
        savepoint.rollback()
        log.exception("issuing licences for order %s failed", order.number)
        return _needs_attention(order, f"cannot issue keys: {type(error).__name__}", "issue_failed")
    savepoint.commit()
    transition(order, OrderStatus.FULFILLED, "licences issued")
    queue("order_delivery", order.email, locale=order.locale, order_id=order.id)
    return "fulfilled"


def _needs_attention(order: Order, reason: str, outcome: str) -> str:
    if can_transition(order, OrderStatus.NEEDS_ATTENTION):
        transition(order, OrderStatus.NEEDS_ATTENTION, reason)
    else:  # already needs attention, or fulfilled and paid a second time
        note(order, outcome, reason)
    queue("staff_alert", current_app.config["STORE_STAFF_EMAIL"], locale="es",
          order_id=order.id, reason=reason)
    log.warning("order %s needs attention: %s", order.number, reason)
    return outcome

