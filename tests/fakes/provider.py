"""A payment provider whose answers a test scripts, plugged into the registry by the test.

It stands for any real gateway (Stripe, EnZona) at the seam: the store asks it to complete
or query a payment, and it answers what the test queued, one answer per call, recording
every question. It has no notifications of its own; tests that need a webhook use the
sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from store.payments.providers import PROVIDER_TYPES


class ScriptedProvider:
    """Answers "approved", "declined", "pending", "timeout", "error" (both raise
    PaymentProviderError, as a provider reports a timeout or a 5xx) or "stranger" (an
    event about another payment), as queued in ``answers``; "pending" once they run out.

    The event id of an answer is stable per payment and outcome, as a gateway's own id of
    a payment's state is, so asking twice brings the same event twice. ``charged``
    replaces the amount an approval reports (a wrong amount or currency).
    """

    name = "scripted"
    label = "Tarjeta internacional (Scripted)"
    resumes_payments = True

    def __init__(self, currency: str = "CUP") -> None:
        self.currency = currency
        self.answers: list[str] = []
        self.asked: list[tuple[str, ProviderPayment]] = []
        self.started: list[PaymentRequest] = []
        self.charged: Money | None = None

    @classmethod
    def plug_in(cls, monkeypatch, currency: str = "CUP") -> None:
        """Register it for the test as STORE_PAYMENT_PROVIDERS="scripted" will build it."""

        def build(_config: Mapping[str, Any]) -> ScriptedProvider:
            return cls(currency)

        monkeypatch.setitem(PROVIDER_TYPES, cls.name, build)

    def start_payment(self, request: PaymentRequest) -> PaymentStart:
        self.started.append(request)
        return PaymentStart(f"https://pay.example/{request.reference}",
                            provider_reference=f"fake_{request.reference}")

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        raise InvalidNotification("the scripted provider sends no notifications")

    def complete_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        return self._answer("complete", payment)

    def query_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        return self._answer("query", payment)

    def cancel_payment(self, payment: ProviderPayment) -> None:
        self.asked.append(("cancel", payment))

    def refund(self, payment: ProviderPayment, amount: Money) -> RefundResult:
        return RefundResult(refunded=amount, provider_reference=f"re_{payment.reference}")

    def _answer(self, question: str, payment: ProviderPayment) -> PaymentEvent | None:
        self.asked.append((question, payment))
        answer = self.answers.pop(0) if self.answers else "pending"
        if answer == "pending":
            return None
        if answer in ("timeout", "error"):
            raise PaymentProviderError(f"scripted {answer}")
        if answer == "stranger":  # an answer about some other payment
            return PaymentEvent("evt_stranger", "not-this-payment", PaymentOutcome.APPROVED,
                                payment.amount)
        amount = self.charged if answer == "approved" and self.charged else payment.amount
        return PaymentEvent(f"evt_{payment.reference}_{answer}", payment.reference,
                            PaymentOutcome(answer), amount)
