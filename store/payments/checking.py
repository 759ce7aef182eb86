"""Asking a provider what became of a payment: when the buyer comes back, and reconciling.

Both ask with no transaction open (a provider may take seconds to answer) and act on the
answer through ``confirm_event``, the path notifications take, so an event acts once
whichever of the webhook, the buyer's return or the reconcile command brings it first.
A provider that says "still pending" changes nothing: the order waits, payable.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from store.dbtypes import utcnow
from store.extensions import db
from store.orders.models import Order
from store.payments.gateway import PaymentEvent, PaymentProviderError, ProviderPayment
from store.payments.models import Payment, PaymentStatus
from store.payments.registry import enabled_providers, get_provider
from store.payments.services import UNPAID, confirm_event

log = logging.getLogger(__name__)

# Reconciling asks about payments at most this old: one nobody answered for a week was
# abandoned (its order expired long ago), and asking again every run helps no one.
RECONCILE_MAX_AGE = timedelta(days=7)
RECONCILE_BATCH = 500


class PaymentCheck(enum.StrEnum):
    """What asking the provider came to."""

    SETTLED = "settled"  # the provider answered and the answer was acted on (once)
    PENDING = "pending"  # the provider has no answer yet; nothing changed
    NOTHING_TO_CHECK = "nothing_to_check"  # no payment of the order waits at that provider


def _as_provider_payment(payment: Payment) -> ProviderPayment:
    return ProviderPayment(payment.reference, payment.provider_reference, payment.amount)


def _raw(event: PaymentEvent, source: str) -> str:
    """What is kept of an answer the store asked for (there is no body to keep)."""
    return json.dumps({
        "source": source, "event_id": event.event_id, "reference": event.reference,
        "outcome": event.outcome.value, "amount_minor": event.amount.minor,
        "currency": event.amount.currency,
    }, sort_keys=True)


def _act_on(provider_name: str, asked: ProviderPayment, event: PaymentEvent | None,
            source: str) -> PaymentCheck:
    if event is None:
        return PaymentCheck.PENDING
    if event.reference != asked.reference:
        log.error("provider %s answered about payment %s when asked about %s",
                  provider_name, event.reference, asked.reference)
        raise PaymentProviderError(_l("The payment service gave an answer we cannot use."))
    confirm_event(provider_name, event, _raw(event, source))
    return PaymentCheck.SETTLED


def check_payment(order_id: int, provider_name: str) -> PaymentCheck:
    """The buyer came back from ``provider_name``: complete the order's newest pending
    payment there and act on the answer.

    Reads, ends the read, asks the provider, then confirms in a use case of its own.
    Raises NotFound (a provider not enabled) or PaymentProviderError (the provider failed;
    the order is unchanged and still payable).
    """
    provider = get_provider(provider_name)
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.provider == provider.name,
               Payment.status == PaymentStatus.PENDING)
        .order_by(Payment.id.desc()).limit(1)
    )
    asked = None if payment is None else _as_provider_payment(payment)
    db.session.rollback()  # no connection waits in a transaction on the provider
    if asked is None:
        return PaymentCheck.NOTHING_TO_CHECK
    return _act_on(provider.name, asked, provider.complete_payment(asked), "complete")


@dataclass
class ReconcileReport:
    asked: int = 0
    settled: int = 0
    pending: int = 0
    failed: int = 0  # the provider did not answer; the next run asks again


def _stale_payments(older_than: timedelta, now: datetime) -> list[tuple[str, ProviderPayment]]:
    """Pending payments of orders still unpaid, newest first: a buyer who paid a moment
    ago is reached before old abandoned payments, and an order paid another way is never
    charged again by completing its other payment."""
    payments = db.session.scalars(
        select(Payment).join(Order, Payment.order_id == Order.id)
        .where(Payment.status == PaymentStatus.PENDING,
               Payment.provider.in_(list(enabled_providers())),
               Payment.created_at <= now - older_than,
               Payment.created_at > now - RECONCILE_MAX_AGE,
               Order.status.in_(UNPAID))
        .order_by(Payment.created_at.desc(), Payment.id.desc()).limit(RECONCILE_BATCH)
    ).all()
    found = [(payment.provider, _as_provider_payment(payment)) for payment in payments]
    db.session.rollback()
    return found


def reconcile_payments(older_than: timedelta, *, now: datetime | None = None) -> ReconcileReport:
    """Ask each provider about its payments still pending after ``older_than`` and act on
    the answers through ``confirm_event``.

    Safe to run at any frequency and from several hosts at once: an answer acts once by its
    event id, under the order's lock. A provider that fails is logged and counted; the
    payment stays pending for the next run. Opens no transaction while a provider answers.
    """
    report = ReconcileReport()
    providers = enabled_providers()
    for provider_name, asked in _stale_payments(older_than, now or utcnow()):
        report.asked += 1
        try:
            event = providers[provider_name].query_payment(asked)
            checked = _act_on(provider_name, asked, event, "query")
        except PaymentProviderError as error:
            log.warning("reconciling payment %s at %s failed: %s", asked.reference,
                        provider_name, error.detail or error.title)
            report.failed += 1
            continue
        if checked == PaymentCheck.SETTLED:
            report.settled += 1
        else:
            report.pending += 1
    return report
