"""The sandbox provider: a local test gateway page with Approve and Decline buttons.

Its notifications are JSON signed with HMAC-SHA256 and go through the same verification
and confirmation path as a real provider's. Production refuses it unless
STORE_ALLOW_SANDBOX_IN_PRODUCTION is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from store.config import ConfigurationError
from store.money import Money
from store.payments.gateway import (
    InvalidNotification,
    PaymentEvent,
    PaymentOutcome,
    PaymentRequest,
    PaymentStart,
    RefundResult,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"


class SandboxProvider:
    name = "sandbox"
    label = _l("Test payment (sandbox)")

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

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
        return PaymentStart(url_for("payments.sandbox_gateway", reference=request.reference))

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

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        signature = headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(signature.encode(), self.sign(body).encode()):
            raise InvalidNotification(_l("Bad signature."))
        try:
            data = json.loads(body)
            if type(data["amount_minor"]) is not int:  # never a float, never a string
                raise TypeError("amount_minor must be an integer")
            return PaymentEvent(
                event_id=str(data["event_id"])[:255],
                reference=str(data["reference"])[:64],
                outcome=PaymentOutcome(data["outcome"]),
                amount=Money(int(data["amount_minor"]), str(data["currency"])),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidNotification(_l("Malformed notification.")) from error

    def refund(self, reference: str, amount: Money) -> RefundResult:
        return RefundResult(refunded=amount, provider_reference=f"sandbox-refund-{reference}")
