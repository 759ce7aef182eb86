"""EnZona, the Cuban payment gateway: payments in CUP through its REST API.

The store creates a payment (merchant_op_id = the order number) and sends the payer to the
"confirm" link EnZona answers with. When the payer comes back, the store completes the
payment through the API, then reads it and reports what EnZona says was charged: the
confirmation path compares that amount and currency with the order. EnZona sends no signed
notifications to this store, so ``verify_notification`` refuses everything; a payment is
confirmed on the payer's return, or by reconciling (``query_payment``).

EnZona states a payment's status as a number (status_code, with status_denom in words).
``OUTCOMES`` below is the one place that reads them; check it against the merchant
documentation EnZona gives with the store's API access.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

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
from store.payments.providers.enzona_client import (
    UNAVAILABLE,
    EnZonaClient,
    EnZonaRefused,
    EnZonaUnavailable,
)

log = logging.getLogger(__name__)

CONFIRMED, PENDING, ACCEPTED, FAILED, REFUNDED, CANCELLED = 1111, 1112, 1113, 1114, 1115, 1116
# What each status says of the payment; None: not settled yet. A refunded payment was
# paid, so it reads as approved (the confirmation path keeps a refunded payment refunded).
OUTCOMES: dict[int, PaymentOutcome | None] = {
    CONFIRMED: PaymentOutcome.APPROVED,
    PENDING: None,
    ACCEPTED: None,  # the payer confirmed; the merchant has yet to complete it
    FAILED: PaymentOutcome.DECLINED,
    REFUNDED: PaymentOutcome.APPROVED,
    CANCELLED: PaymentOutcome.DECLINED,
}
MAX_DESCRIPTION = 200
ZERO = "0.00"


class EnZonaProvider:
    name = "enzona"
    label = _l("EnZona")
    resumes_payments = False
    currency = "CUP"

    def __init__(self, client: EnZonaClient) -> None:
        self.client = client

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EnZonaProvider:
        """Build the provider; store.config has checked the credentials and the address."""
        return cls(EnZonaClient(
            config["STORE_ENZONA_API_BASE"], config["STORE_ENZONA_CONSUMER_KEY"],
            config["STORE_ENZONA_CONSUMER_SECRET"], timeout=config["STORE_ENZONA_TIMEOUT"],
        ))

    def start_payment(self, request: PaymentRequest) -> PaymentStart:
        if request.amount.currency != self.currency:
            log.error("EnZona charges CUP; asked to charge %s", request.amount)
            raise EnZonaUnavailable(UNAVAILABLE)
        total = _decimal_text(request.amount)
        description = request.description[:MAX_DESCRIPTION]
        data = self.client.create_payment({
            "merchant_op_id": request.order_number,
            "description": description,
            "currency": self.currency,
            "amount": {"total": total, "details": {
                "shipping": ZERO, "tax": ZERO, "discount": ZERO, "tip": ZERO,
            }},
            "items": [{"name": description, "description": description, "quantity": 1,
                       "price": total, "tax": ZERO}],
            "return_url": request.return_url,
            "cancel_url": request.cancel_url,
        })
        return PaymentStart(_confirm_link(data), provider_reference=_uuid(data))

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        # EnZona does not notify this store: nothing arriving here can be trusted.
        raise InvalidNotification(_l(
            "EnZona payments are confirmed when the buyer returns to the store, "
            "not by notification."
        ))

    def complete_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        """Complete the payment the payer confirmed, then read what EnZona charged.

        A refusal to complete (not confirmed yet, or completed before) is not an error:
        the status read afterwards tells. Raises PaymentProviderError.
        """
        if payment.provider_reference is None:
            return None  # never opened at EnZona
        try:
            self.client.complete_payment(payment.provider_reference)
        except EnZonaRefused as error:
            log.info("EnZona did not complete payment %s (HTTP %s); reading its status",
                     payment.reference, error.status_code)
        return self._event(payment, self.client.payment(payment.provider_reference))

    def query_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        """What became of a payment; one the payer confirmed and nobody completed (the
        payer never came back) is completed now. Raises PaymentProviderError."""
        if payment.provider_reference is None:
            return None
        data = self.client.payment(payment.provider_reference)
        if _status(data) == ACCEPTED:
            return self.complete_payment(payment)
        return self._event(payment, data)

    def cancel_payment(self, payment: ProviderPayment) -> None:
        if payment.provider_reference is not None:
            self.client.cancel_payment(payment.provider_reference)

    def refund(self, payment: ProviderPayment, amount: Money) -> RefundResult:
        """Give ``amount`` back. Raises PaymentProviderError unless EnZona refunded it,
        now or on an earlier ask whose answer was lost."""
        if payment.provider_reference is None or amount.currency != self.currency:
            log.error("cannot refund %s of payment %s at EnZona", amount, payment.reference)
            raise EnZonaUnavailable(UNAVAILABLE)
        try:
            data = self.client.refund(payment.provider_reference, {
                "amount": _decimal_text(amount),
                "commerce_refund_id": f"{payment.reference}-refund",
                "description": f"Refund {payment.reference}",
            })
        except PaymentProviderError:
            # A refund is sent once (never retried). If its answer was lost, EnZona may
            # have refunded all the same, and refuses the next ask: its status tells.
            if _status(self.client.payment(payment.provider_reference)) != REFUNDED:
                raise
            log.warning("EnZona had refunded payment %s already", payment.reference)
            return RefundResult(refunded=amount)
        refund_id = data.get("transaction_uuid")
        return RefundResult(
            refunded=amount,
            provider_reference=refund_id if isinstance(refund_id, str) and refund_id else None,
        )

    def _event(self, payment: ProviderPayment, data: dict[str, Any]) -> PaymentEvent | None:
        """The event EnZona's answer ``data`` states of ``payment``; None while pending."""
        if _uuid(data) != payment.provider_reference:
            log.error("EnZona answered for another payment than %s", payment.reference)
            raise EnZonaUnavailable(UNAVAILABLE)
        outcome = OUTCOMES[_status(data)]
        if outcome is None:
            return None
        return PaymentEvent(
            # The same statement read twice is one event, so it is acted on once.
            event_id=f"enzona:{payment.provider_reference}:{outcome.value}",
            reference=payment.reference, outcome=outcome, amount=_charged(data),
        )


def _status(data: dict[str, Any]) -> int:
    code = data.get("status_code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if type(code) is not int or code not in OUTCOMES:
        log.error("EnZona answered an unknown payment status %r", code)
        raise EnZonaUnavailable(UNAVAILABLE)
    return code


def _uuid(data: dict[str, Any]) -> str:
    value = data.get("transaction_uuid")
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
        log.error("EnZona answered without a transaction_uuid")
        raise EnZonaUnavailable(UNAVAILABLE)
    return value


def _confirm_link(data: dict[str, Any]) -> str:
    """Where the payer confirms: the link with rel "confirm". Raises EnZonaUnavailable."""
    for link in data.get("links") or ():
        if isinstance(link, dict) and str(link.get("rel", "")).lower() == "confirm":
            href = link.get("href")
            if isinstance(href, str) and href.startswith(("https://", "http://")):
                return href
    log.error("EnZona created a payment without a confirm link")
    raise EnZonaUnavailable(UNAVAILABLE)


def _charged(data: dict[str, Any]) -> Money:
    """The amount and currency EnZona states, exactly (no float on the way)."""
    amount, currency = data.get("amount"), data.get("currency")
    total = amount.get("total") if isinstance(amount, dict) else amount
    try:
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
            raise InvalidOperation  # no currency stated: malformed, not another currency
        if isinstance(total, bool) or not isinstance(total, int | str | Decimal):
            raise InvalidOperation
        cents = Decimal(total).scaleb(2)
        if not cents.is_finite() or cents < 0 or cents != cents.to_integral_value():
            raise InvalidOperation
        return Money(int(cents), str(currency).upper())
    except (InvalidOperation, ValueError):
        log.error("EnZona answered an amount that is no amount: %r %r", total, currency)
        raise EnZonaUnavailable(UNAVAILABLE) from None


def _decimal_text(amount: Money) -> str:
    return f"{amount.to_decimal():.2f}"
