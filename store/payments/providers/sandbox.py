"""The sandbox provider: a local test gateway page with Approve and Decline buttons.

Its notifications are JSON signed with HMAC-SHA256 and go through the same verification
and confirmation path as a real provider's. It keeps the answers given on its page in
memory (``answers``), as a real gateway keeps its own records, so completing, querying and
cancelling behave like a provider's; that memory belongs to one process and is lost on
restart, which is enough for trying the store. Production refuses the sandbox unless
STORE_ALLOW_SANDBOX_IN_PRODUCTION is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from store.config import ConfigurationError
from store.money import Money
from store.payments.gateway import (
    InvalidNotification,
    PaymentEvent,
    PaymentOutcome,
    PaymentRequest,
    PaymentStart,
    ProviderPayment,
    RefundResult,
    parse_json_object,
    plain_text,
)
from store.urls import public_url

SIGNATURE_HEADER = "X-Sandbox-Signature"
MAX_EVENT_ID = 255
MAX_REFERENCE = 64


class SandboxProvider:
    name = "sandbox"
    label = _l("Test payment (sandbox)")
    resumes_payments = True
    currency = "CUP"

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._answers: dict[str, PaymentEvent] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SandboxProvider:
        if config["STORE_ENV"] == "production" and not config["STORE_ALLOW_SANDBOX_IN_PRODUCTION"]:
            raise ConfigurationError(
                "The sandbox payment provider approves payments without money. Production "
                "refuses it; remove it from STORE_PAYMENT_PROVIDERS, or set "
                "STORE_ALLOW_SANDBOX_IN_PRODUCTION=1 for a demo store."
            )
        secret = config.get("STORE_SANDBOX_SECRET") or hmac.new(
            str(config["SECRET_KEY"]).encode(), b"sandbox-notifications", hashlib.sha256
        ).hexdigest()
        return cls(secret.encode())

    def start_payment(self, request: PaymentRequest) -> PaymentStart:
        return PaymentStart(public_url("payments.sandbox_gateway", reference=request.reference))

    def sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def notification(
        self, *, event_id: str, reference: str, outcome: str, amount: Money
    ) -> tuple[bytes, dict[str, str]]:
        """Build a signed notification as the test gateway sends it: (body, headers)."""
        body = json.dumps(
            {
                "event_id": event_id,
                "reference": reference,
                "outcome": outcome,
                "amount_minor": amount.minor,
                "currency": amount.currency,
            },
            sort_keys=True,
        ).encode()
        return body, {SIGNATURE_HEADER: self.sign(body)}

    def answer(
        self, reference: str, outcome: PaymentOutcome, amount: Money
    ) -> tuple[bytes, dict[str, str]]:
        """The customer pressed a button on the test gateway: remember it, notify the store.

        Raises InvalidNotification when the payment was cancelled meanwhile.
        """
        with self._lock:
            if reference in self._cancelled:
                raise InvalidNotification(_l("This payment was cancelled."))
            event = PaymentEvent(f"sbx_{uuid.uuid4().hex}", reference, outcome, amount)
            self._answers[reference] = event
        return self.notification(
            event_id=event.event_id, reference=reference, outcome=outcome.value, amount=amount
        )

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        signature = headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(signature.encode(), self.sign(body).encode()):
            raise InvalidNotification(_l("Bad signature."))
        data = parse_json_object(body)
        amount_minor = data.get("amount_minor")
        if type(amount_minor) is not int:  # never a float, a bool or a string
            raise InvalidNotification(_l("Malformed notification."))
        try:
            return PaymentEvent(
                event_id=plain_text(data, "event_id", MAX_EVENT_ID),
                reference=plain_text(data, "reference", MAX_REFERENCE),
                outcome=PaymentOutcome(data.get("outcome")),
                amount=Money(amount_minor, plain_text(data, "currency", 3)),
            )
        except ValueError as error:  # an unknown outcome or currency
            raise InvalidNotification(_l("Malformed notification.")) from error

    def complete_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        # Nothing to capture: the answer given on the gateway page is final.
        return self.query_payment(payment)

    def query_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        with self._lock:
            return self._answers.get(payment.reference)

    def cancel_payment(self, payment: ProviderPayment) -> None:
        with self._lock:
            if payment.reference not in self._answers:
                self._cancelled.add(payment.reference)

    def refund(self, payment: ProviderPayment, amount: Money) -> RefundResult:
        return RefundResult(
            refunded=amount, provider_reference=f"sandbox-refund-{payment.reference}"
        )
