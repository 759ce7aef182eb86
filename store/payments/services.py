"""Start payments, and act on provider notifications exactly once.

``confirm_payment`` is the heart of the store's promise: a verified, first-seen
notification for the right amount moves the order to paid, issues its licences and queues
the delivery email, all in one transaction. Anything that stops fulfilment after money
arrived leaves the order in ``needs_attention`` with staff alerted, never silent.

Use cases: ``pay_order`` (pay an unpaid order again), ``confirm_payment`` (a notification)
and ``confirm_event`` (an answer the store asked for, see store/payments/checking.py). For
checkout: ``quote`` (what a provider charges), ``new_payment``, a step inside its
transaction, and ``hand_over``, the provider call after its commit.
"""

from __future__ import annotations

import enum
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.audit.models import Actor
from store.dbtypes import utcnow
from store.errors import NotFound
from store.extensions import db
from store.licensing import renewals
from store.licensing import services as licensing
from store.licensing.services import OutOfStock
from store.mail.models import queue
from store.money import Money
from store.orders.emails import ORDER_DELIVERY, STAFF_ALERT
from store.orders.models import Order, OrderStatus
from store.orders.caps import PoolCaps
from store.orders.services import OrderNotPayable, order_page_url, reopen
from store.orders.states import can_transition, note, transition
from store.payments import refunds
from store.payments.gateway import (
    PaymentEvent,
    PaymentOutcome,
    PaymentProvider,
    PaymentProviderError,
    PaymentRequest,
    RefundResult,
)
from store.payments.lines import charged_lines
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.rates import current_rate
from store.payments.registry import get_provider, method_label
from store.unit_of_work import use_case
from store.urls import public_url

log = logging.getLogger(__name__)
UNPAID = (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED, OrderStatus.FAILED,
          OrderStatus.CANCELLED)
MAX_RAW_NOTIFICATION = 20_000


class Confirmation(enum.StrEnum):
    """What the store did with a provider notification (kept on the processed event)."""

    FULFILLED = "fulfilled"  # paid, keys issued, delivery email queued
    DUPLICATE = "duplicate"  # this event was acted on before
    ALREADY_PAID = "already_paid"  # another event already confirmed this payment
    DECLINED = "declined"  # the payment failed (and the order, unless paid another way)
    IGNORED = "ignored"  # news of a settled payment: a late decline, the store's own refund
    AMOUNT_MISMATCH = "amount_mismatch"  # another amount or currency: needs attention
    OUT_OF_STOCK = "out_of_stock"  # paid after expiry with the pool sold out
    ISSUE_FAILED = "issue_failed"  # paid, but issuing failed unexpectedly
    NOT_RENEWABLE = "not_renewable"  # a paid renewal whose licence was revoked meanwhile
    PAID_TWICE = "paid_twice"  # money for an order another payment already paid
    REFUNDED = "refunded"  # refunded in full at the provider: the sale undone, staff told
    PARTLY_REFUNDED = "partly_refunded"  # part refunded at the provider: staff alerted
    REFUND_UNEXPECTED = "refund_unexpected"  # a refund of money the store never settled
    ACKNOWLEDGED = "acknowledged"  # a genuine notification that asks nothing of the store


def quote(total: Money, provider: PaymentProvider) -> tuple[Money, Decimal | None]:
    """What ``provider`` charges for ``total``, and the exchange rate used (None when none).

    A provider that settles in another currency charges ``total`` converted at the newest
    rate an admin set for it, or else the one in STORE_EXCHANGE_RATES (rounded up, see
    Money.convert). Raises PaymentProviderError when that currency has no rate.
    """
    if provider.currency == total.currency:
        return total, None
    rate = current_rate(provider.currency, current_app.config["STORE_EXCHANGE_RATES"])
    if rate is None:
        log.error("provider %s charges %s and no exchange rate was ever set for it",
                  provider.name, provider.currency)
        raise PaymentProviderError(_l("This payment method is not available right now."))
    return total.convert(provider.currency, rate), rate


def new_payment(order: Order, provider: PaymentProvider, *, now: datetime) -> Payment:
    """Record a payment for a pending order, or resume the one waiting at this provider.

    A step: the caller holds the order's row lock. Raises OrderNotPayable when the order
    is not waiting for payment, PaymentProviderError when the provider cannot charge it.
    """
    if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at <= now:
        raise OrderNotPayable(_l("The payment window of this order has closed."))
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.provider == provider.name,
               Payment.status == PaymentStatus.PENDING)
        .order_by(Payment.id.desc())
    )
    if payment is not None and payment.provider_reference and not provider.resumes_payments:
        # This provider opens a new transaction each time (EnZona): a new row keeps the
        # one the payer may already have confirmed, so reconciling still asks about it.
        payment = None
    if payment is None:
        charge, rate = quote(order.total, provider)
        payment = Payment(
            order_id=order.id, provider=provider.name, reference=secrets.token_urlsafe(18),
            amount_minor=charge.minor, currency=charge.currency,
            order_amount_minor=order.total_minor, order_currency=order.currency,
            exchange_rate=None if rate is None else str(rate),
        )
        db.session.add(payment)
        note(order, "payment_started", provider.name)
        db.session.flush()
    return payment


def hand_over(payment_id: int) -> str:
    """Open a recorded payment at its provider and return where to send the buyer.

    Runs after the use case that recorded the payment committed, with no transaction open
    while the provider answers; then records the provider's reference in a use case of its
    own. Raises PaymentProviderError: the payment stays pending and can be resumed.
    """
    payment = db.session.get(Payment, payment_id)
    order = payment.order
    provider = get_provider(payment.provider)
    order_page = order_page_url(order)
    request = PaymentRequest(
        reference=payment.reference, order_number=order.number, amount=payment.amount,
        order_amount=payment.order_amount,
        description=str(_l("Order %(number)s", number=order.number)), email=order.email,
        # Coming back asks the provider what became of the payment (payments.come_back).
        return_url=public_url("payments.come_back", number=order.number,
                              provider=provider.name),
        cancel_url=order_page,
        notify_url=public_url("payments.notify", provider=provider.name),
        lines=charged_lines(order.lines, payment.amount),
    )
    known_reference = payment.provider_reference
    db.session.rollback()  # end the read: no connection waits in a transaction on the provider
    start = provider.start_payment(request)
    if start.provider_reference and start.provider_reference != known_reference:
        with use_case() as uow:
            db.session.get(Payment, payment_id).provider_reference = start.provider_reference
            uow.commit()
    return start.redirect_url


def payment_method_of(order: Order) -> str:
    """The method the order was paid with, else the one last tried ("" when none)."""
    payment = db.session.scalar(
        select(Payment).where(Payment.order_id == order.id)
        .order_by((Payment.status == PaymentStatus.APPROVED).desc(), Payment.id.desc())
        .limit(1)
    )
    return method_label(payment.provider) if payment is not None else ""


def pay_order(
    order_id: int, provider_name: str, *, payment_window: timedelta,
    keys_held_by_address: int = 0,
) -> str:
    """Pay an unpaid order (again), resuming its payment at the same provider.

    A declined or expired order, or one past its window, is reopened first: its keys are
    reserved again (within the caps on held keys, counting ``keys_held_by_address``) and it
    gets ``payment_window`` more. Returns where to send the buyer. Raises OrderNotPayable
    (paid or closed, or a plan changed since), HoldingLimitReached, OutOfStock or NotFound
    (unknown provider), changing nothing; or PaymentProviderError, either before anything
    is written (the provider cannot charge this order) or after the new payment was
    recorded (the provider did not answer; paying again resumes it).
    """
    provider = get_provider(provider_name)
    now = utcnow()
    with use_case() as uow:
        order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at <= now:
            reopen(order, now=now, until=now + payment_window,
                   caps=PoolCaps.from_config(current_app.config),
                   held_by_address=keys_held_by_address)
        payment_id = new_payment(order, provider, now=now).id
        uow.commit()
    return hand_over(payment_id)


def confirm_payment(
    provider_name: str, body: bytes, headers: Mapping[str, str]
) -> Confirmation:
    """Verify a provider notification and act on it once; return what happened.

    Raises InvalidNotification (bad signature or shape) or NotFound (unknown provider or
    payment), changing nothing. One use case: status, licences, emails and the dedupe
    row commit together. A notification the provider verified but does not act on is
    acknowledged, changing nothing.
    """
    provider = get_provider(provider_name)
    event = provider.verify_notification(body, headers)
    if event is None:
        return Confirmation.ACKNOWLEDGED  # a kind of event the store need not act on
    return confirm_event(provider.name, event, body.decode("utf-8", "replace"))


def confirm_event(provider_name: str, event: PaymentEvent, raw: str = "") -> Confirmation:
    """Act once on an event a provider stated (a verified notification, or what it answered
    when asked); ``raw`` is kept for disputes. Return what happened.

    The one confirmation path: notifications, the buyer's return and reconciling all end
    here, so an event acts once by its id whichever way it arrives first. Raises NotFound
    (unknown payment), changing nothing. One use case.
    """
    try:
        with use_case() as uow:
            outcome = _act_once(provider_name, event, raw[:MAX_RAW_NOTIFICATION])
            uow.commit()
    except IntegrityError:
        if _already_processed(provider_name, event.event_id):
            return Confirmation.DUPLICATE  # the same event committed first elsewhere
        raise  # anything else is a real failure: the provider will send it again
    return outcome


def _act_once(provider_name: str, event: PaymentEvent, raw: str) -> Confirmation:
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
        return Confirmation.DUPLICATE
    outcome = _act(order, payment, event)
    db.session.add(ProcessedEvent(
        provider=provider_name, event_id=event.event_id, payment_id=payment.id,
        outcome=outcome.value, payload=raw,
    ))
    db.session.flush()
    return outcome


def _already_processed(provider_name: str, event_id: str) -> bool:
    return db.session.scalar(
        select(ProcessedEvent.id).where(
            ProcessedEvent.provider == provider_name, ProcessedEvent.event_id == event_id
        )
    ) is not None


def _act(order: Order, payment: Payment, event: PaymentEvent) -> Confirmation:
    if event.outcome == PaymentOutcome.DECLINED:
        return _declined(order, payment)
    if event.outcome == PaymentOutcome.REFUNDED:
        return _refunded_at_provider(order, payment, event)
    if payment.status in (PaymentStatus.APPROVED, PaymentStatus.REFUNDED):
        # A second notification of the same payment; a refunded one stays refunded.
        return Confirmation.ALREADY_PAID
    if payment.status == PaymentStatus.MISMATCH:
        # Staff were alerted by the first statement of the wrong amount: noted, not again.
        note(order, Confirmation.AMOUNT_MISMATCH.value, f"again: {event.amount}")
        return Confirmation.AMOUNT_MISMATCH
    # The provider's charge is checked against what was asked of it (in its currency), and
    # what that charge stands for against the order.
    if event.amount != payment.amount or payment.order_amount != order.total:
        payment.status = PaymentStatus.MISMATCH
        return _needs_attention(
            order, f"provider confirmed {event.amount}, payment asked for {payment.amount} "
            f"for an order of {order.total}", Confirmation.AMOUNT_MISMATCH,
        )
    payment.status = PaymentStatus.APPROVED
    if order.status not in UNPAID:
        # Money for an order that was already paid by another payment: refund by hand.
        return _needs_attention(
            order, f"second payment {payment.reference}", Confirmation.PAID_TWICE
        )
    order.paid_at = utcnow()
    transition(order, OrderStatus.PAID, f"{payment.provider} {payment.reference}")
    return _fulfil(order)


def _declined(order: Order, payment: Payment) -> Confirmation:
    """The payment failed. The order fails too, and gives its keys back, unless the buyer
    is paying it another way meanwhile (another payment still pending)."""
    if payment.status != PaymentStatus.PENDING:
        return Confirmation.IGNORED
    payment.status = PaymentStatus.DECLINED
    other_pending = db.session.scalar(
        select(Payment.id).where(Payment.order_id == order.id, Payment.id != payment.id,
                                 Payment.status == PaymentStatus.PENDING).limit(1)
    )
    if other_pending is not None:
        note(order, "payment_declined", f"{payment.provider} {payment.reference}")
    elif order.status == OrderStatus.PENDING_PAYMENT:
        transition(order, OrderStatus.FAILED, "payment declined")
        licensing.release(order)
    return Confirmation.DECLINED


def _refunded_at_provider(order: Order, payment: Payment, event: PaymentEvent) -> Confirmation:
    """The provider says money of ``payment`` went back. A refund the store made was
    recorded when it was made. One made at the provider (its dashboard) in full undoes the
    sale as the back office's refund does (licences revoked, the buyer told), unless
    another payment paid the order (the refund of a second payment); staff are told either
    way. The refund of a payment of the wrong amount is recorded on it. A partial refund,
    or one of money the store never settled, changes no state and alerts staff."""
    if payment.status == PaymentStatus.REFUNDED:
        return Confirmation.IGNORED
    refunded = f"{payment.provider} refunded {event.amount} of payment {payment.reference}"
    actor = Actor(payment.provider)
    reason = f"refunded at {payment.provider}"
    if payment.status == PaymentStatus.MISMATCH:
        # The wrong amount, given back at the provider as the back office guide says; the
        # order already waits for staff to mark it resolved.
        refunds.record_refund(payment, RefundResult(event.amount), reason=reason, actor=actor)
        note(order, "payment_refunded", refunded)
        return Confirmation.REFUNDED
    if payment.status != PaymentStatus.APPROVED or event.amount.currency != payment.currency:
        return _needs_attention(order, f"{refunded}, which the store never settled",
                                Confirmation.REFUND_UNEXPECTED)
    if event.amount < payment.amount:
        return _needs_attention(order, f"{refunded} (of {payment.amount}); its licences "
                                "still work", Confirmation.PARTLY_REFUNDED)
    refunds.record_refund(payment, RefundResult(event.amount), reason=reason, actor=actor)
    if order.status in refunds.REFUNDABLE and not refunds.settled_payments(order):
        refunds.undo_sale(order, reason=reason, actor=actor)
    _alert_staff(order, f"{refunded} outside the store; the store recorded the refund")
    return Confirmation.REFUNDED


def _fulfil(order: Order) -> Confirmation:
    """Issue every line's licences (extend the licence of a renewal line) and queue the
    delivery email, or go to needs_attention."""
    savepoint = db.session.begin_nested()
    try:
        for line in order.lines:
            renewals.fulfil_line(line)
    except OutOfStock as error:
        savepoint.rollback()
        return _needs_attention(
            order, f"cannot issue keys: {error.detail}", Confirmation.OUT_OF_STOCK
        )
    except renewals.NotRenewable as error:
        savepoint.rollback()
        return _needs_attention(
            order, f"cannot renew: {error.detail}", Confirmation.NOT_RENEWABLE
        )
    except Exception as error:  # noqa: BLE001 - money arrived: report, never fail silently
        savepoint.rollback()
        log.exception("issuing licences for order %s failed", order.number)
        return _needs_attention(
            order, f"cannot issue keys: {type(error).__name__}", Confirmation.ISSUE_FAILED
        )
    savepoint.commit()
    transition(order, OrderStatus.FULFILLED, "licences issued")
    queue(ORDER_DELIVERY, order.email, locale=order.locale, order_id=order.id)
    return Confirmation.FULFILLED


def _needs_attention(order: Order, reason: str, outcome: Confirmation) -> Confirmation:
    if can_transition(order, OrderStatus.NEEDS_ATTENTION):
        transition(order, OrderStatus.NEEDS_ATTENTION, reason)
    else:  # already needs attention, or fulfilled and paid a second time
        note(order, outcome.value, reason)
    _alert_staff(order, reason)
    return outcome


def _alert_staff(order: Order, reason: str) -> None:
    config = current_app.config
    queue(STAFF_ALERT, config["STORE_STAFF_EMAIL"], locale=config["STORE_STAFF_LOCALE"],
          order_id=order.id, reason=reason)
    log.warning("order %s needs attention: %s", order.number, reason)
