"""Stripe Checkout through the official SDK.

A payment is a Checkout Session in mode "payment", in the settlement currency
(STORE_STRIPE_CURRENCY): the store converts the CUP total at the back office's rate,
rounded up to the cent, before it gets here. Webhooks are verified by the SDK
(``stripe.Webhook.construct_event``, 300 s tolerance); the session events say whether
the money arrived, other events are acknowledged and change nothing. Every call to Stripe
carries a timeout, and the calls that create something an idempotency key, so asking twice
never charges or refunds twice. Any failure of Stripe (timeout, outage, an answer we cannot
read) is a PaymentProviderError: the order is unchanged and can be paid again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import stripe
from flask_babel import lazy_gettext as _l

from store.money import Money
from store.payments.gateway import (
    InvalidNotification,
    PaymentEvent,
    PaymentOutcome,
    PaymentProviderError,
    PaymentRequest,
    PaymentStart,
    ProviderPayment,
    RefundResult,
)

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Stripe-Signature"
# Stripe refuses charges below 0.50 in USD and EUR (its "minimum charge amount").
MINIMUM_CHARGE = 50
MAX_ID = 255
MAX_REFERENCE = 64
# What each session event says of the payment; completed says it only once paid (a bank
# transfer completes the session unpaid, and async_payment_succeeded follows).
OUTCOMES = {
    "checkout.session.completed": PaymentOutcome.APPROVED,
    "checkout.session.async_payment_succeeded": PaymentOutcome.APPROVED,
    "checkout.session.async_payment_failed": PaymentOutcome.DECLINED,
    "checkout.session.expired": PaymentOutcome.DECLINED,
}


def _unavailable(error: Exception, doing: str) -> PaymentProviderError:
    # The SDK's messages never contain the secret key; the request id helps Stripe support.
    log.warning("Stripe failed while %s: %s: %s", doing, type(error).__name__, error)
    return PaymentProviderError(_l(
        "The card payment service did not answer. Try again in a few minutes."
    ))


def _text(value: Any, max_length: int = MAX_ID) -> str:
    """An identifier from Stripe: printable ASCII, not empty. Raises ValueError."""
    if (not isinstance(value, str) or not value or len(value) > max_length
            or not value.isascii() or not value.isprintable()):
        raise ValueError(f"not an identifier: {value!r}")
    return value


def _amount(session: Mapping[str, Any]) -> Money:
    """The session's total as Money. Raises ValueError on anything but whole minor units."""
    total = session.get("amount_total")
    if type(total) is not int:
        raise ValueError(f"amount_total is {total!r}")
    return Money(total, _text(session.get("currency"), 3).upper())


class StripeProvider:
    name = "stripe"
    label = _l("International card (Stripe)")
    resumes_payments = True

    def __init__(self, *, secret_key: str, webhook_secret: str, currency: str,
                 api_base: str, timeout: int) -> None:
        self.currency = currency.upper()
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base.rstrip("/")}, max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StripeProvider:
        # store.config checked every value when it loaded them.
        return cls(
            secret_key=config["STORE_STRIPE_SECRET_KEY"].strip(),
            webhook_secret=config["STORE_STRIPE_WEBHOOK_SECRET"].strip(),
            currency=config["STORE_STRIPE_CURRENCY"],
            api_base=config["STORE_STRIPE_API_BASE"].strip(),
            timeout=config["STORE_STRIPE_TIMEOUT"],
        )

    def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Open a Checkout Session. Raises PaymentProviderError."""
        if request.amount.minor < MINIMUM_CHARGE:
            raise PaymentProviderError(_l(
                "Card payments start at 0.50 %(currency)s. Choose another payment method "
                "for this order.", currency=self.currency))
        try:
            session = self._client.v1.checkout.sessions.create(
                self._session_params(request),
                # One key per attempt: the payment reference is new for each payment.
                {"idempotency_key": f"checkout-{request.order_number}-{request.reference}"},
            ).to_dict()
            return PaymentStart(redirect_url=_text(session.get("url"), 2000),
                                provider_reference=_text(session.get("id")))
        except (stripe.StripeError, ValueError) as error:
            raise _unavailable(error, "opening a Checkout Session") from error

    def _session_params(self, request: PaymentRequest) -> dict[str, Any]:
        if request.amount.currency != self.currency:
            raise ValueError(f"asked to charge {request.amount}, Stripe charges {self.currency}")
        items = [(line.name if line.quantity == 1 else f"{line.name} × {line.quantity}",
                  line.amount) for line in request.lines]
        if not items:  # a request without its lines: the order as one item
            items = [(request.description, request.amount)]
        metadata = {"order": request.order_number, "payment": request.reference}
        return {
            "mode": "payment",
            # Each order line is one item of quantity 1 priced at its share of the charge,
            # so the items add up to exactly the amount converted (see payments/lines.py).
            "line_items": [
                {"quantity": 1, "price_data": {
                    "currency": self.currency.lower(), "unit_amount": amount.minor,
                    "product_data": {"name": name[:250]},
                }} for name, amount in items
            ],
            "client_reference_id": request.order_number,
            "customer_email": request.email,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": request.return_url,
            "cancel_url": request.cancel_url,
        }

    def verify_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PaymentEvent | None:
        """A verified session event, or None for an event the store does not act on.

        Raises InvalidNotification for a bad or missing signature, an event older than
        the SDK's tolerance (a replay), or a body that is not a Stripe event; and
        PaymentProviderError when Stripe must be asked whose refunded charge it was and
        does not answer (the event is not acknowledged, so Stripe sends it again).
        """
        try:
            event = stripe.Webhook.construct_event(
                body, headers.get(SIGNATURE_HEADER), self._webhook_secret
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidNotification(_l("Bad signature.")) from error
        except (ValueError, TypeError, AttributeError) as error:  # not UTF-8, JSON, an event
            raise InvalidNotification(_l("Malformed notification.")) from error
        try:
            return self._event(event.to_dict())
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise InvalidNotification(_l("Malformed notification.")) from error

    def _event(self, event: Mapping[str, Any]) -> PaymentEvent | None:
        kind = _text(event.get("type"))
        if kind == "charge.refunded":
            return self._refund_event(event)
        outcome = OUTCOMES.get(kind)
        if outcome is None:
            log.info("Stripe event %s of type %s acknowledged", event.get("id"), kind)
            return None
        session = event["data"]["object"]
        reference = (session.get("metadata") or {}).get("payment")
        if reference is None:
            return None  # a session another application opened on the same account
        if event["type"] == "checkout.session.completed" and session.get(
            "payment_status"
        ) != "paid":
            return None  # paid later by a delayed method: async_payment_* will say
        return PaymentEvent(event_id=_text(event.get("id")),
                            reference=_text(reference, MAX_REFERENCE),
                            outcome=outcome, amount=_amount(session))

    def _refund_event(self, event: Mapping[str, Any]) -> PaymentEvent | None:
        """charge.refunded: money given back, by the store's refund (the store recorded it
        already) or in the Dashboard (the store must undo the sale). The charge carries the
        metadata of its PaymentIntent; without it, the session that made the intent says
        whose payment it was."""
        charge = event["data"]["object"]
        reference = (charge.get("metadata") or {}).get("payment")
        if reference is None:
            reference = self._reference_of_intent(_text(charge.get("payment_intent")))
        if reference is None:
            return None  # a charge another application made on the same account
        refunded = charge.get("amount_refunded")
        if type(refunded) is not int:
            raise ValueError(f"amount_refunded is {refunded!r}")
        return PaymentEvent(event_id=_text(event.get("id")),
                            reference=_text(reference, MAX_REFERENCE),
                            outcome=PaymentOutcome.REFUNDED,
                            amount=Money(refunded, _text(charge.get("currency"), 3).upper()))

    def _reference_of_intent(self, intent: str) -> str | None:
        try:
            sessions = self._client.v1.checkout.sessions.list(
                {"payment_intent": intent, "limit": 1}
            ).to_dict().get("data") or []
        except stripe.StripeError as error:
            # Not acknowledged: Stripe sends the event again later.
            raise _unavailable(error, "finding the session of a refunded charge") from error
        return (sessions[0].get("metadata") or {}).get("payment") if sessions else None

    def _session(self, payment: ProviderPayment) -> Mapping[str, Any]:
        if not payment.provider_reference:
            raise PaymentProviderError(_l("This payment never reached the card service."))
        try:
            return self._client.v1.checkout.sessions.retrieve(
                payment.provider_reference
            ).to_dict()
        except stripe.StripeError as error:
            raise _unavailable(error, "reading a Checkout Session") from error

    def query_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        """What the Checkout Session says now: paid, expired, or None while open.

        Raises PaymentProviderError. The event id is derived from the session and its
        state, so asking twice acts once. A payment that never reached Stripe (its session
        was never made) has nothing to ask about: None.
        """
        if not payment.provider_reference:
            return None
        session = self._session(payment)
        try:
            status, paid = session.get("status"), session.get("payment_status")
            if status == "complete" and paid == "paid":
                outcome = PaymentOutcome.APPROVED
            elif status == "expired":
                outcome = PaymentOutcome.DECLINED
            else:
                return None
            return PaymentEvent(f"{_text(session.get('id'))}:{outcome.value}",
                                payment.reference, outcome, _amount(session))
        except ValueError as error:
            raise _unavailable(error, "reading a Checkout Session") from error

    def complete_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        # Checkout captures by itself: completing is asking.
        return self.query_payment(payment)

    def cancel_payment(self, payment: ProviderPayment) -> None:
        """Expire the session if it is still open. Raises PaymentProviderError."""
        if not payment.provider_reference or self._session(payment).get("status") != "open":
            return
        try:
            self._client.v1.checkout.sessions.expire(payment.provider_reference)
        except stripe.StripeError as error:
            raise _unavailable(error, "expiring a Checkout Session") from error

    def refund(self, payment: ProviderPayment, amount: Money) -> RefundResult:
        """Refund ``amount`` of the session's payment. Raises PaymentProviderError."""
        intent = self._session(payment).get("payment_intent")
        try:
            refund = self._client.v1.refunds.create(
                {"payment_intent": _text(intent), "amount": amount.minor},
                # Asked again within a day (an answer lost on the way), the key gives back
                # the same refund; later, Stripe says the charge was refunded already.
                {"idempotency_key": f"refund-{payment.reference}-{amount.minor}"},
            ).to_dict()
            if refund.get("status") in ("failed", "canceled"):
                raise ValueError(f"refund {refund.get('id')} is {refund.get('status')}")
            return RefundResult(refunded=amount, provider_reference=_text(refund.get("id")))
        except stripe.InvalidRequestError as error:
            if error.code == "charge_already_refunded":
                log.warning("Stripe had refunded payment %s already", payment.reference)
                return RefundResult(refunded=amount)
            raise _unavailable(error, "refunding") from error
        except (stripe.StripeError, ValueError) as error:
            raise _unavailable(error, "refunding") from error
