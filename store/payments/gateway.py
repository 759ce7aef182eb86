"""The payment provider seam: one Protocol, frozen dataclasses, a registry by name.

A provider starts a payment (returning where to send the customer), verifies a
notification (returning a verified event, or raising), and refunds. Providers are enabled
by STORE_PAYMENT_PROVIDERS; the sandbox is the embedded default.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from store.config import ConfigurationError
from store.errors import InvalidInput, NotFound, StoreError
from store.money import Money


class PaymentOutcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


@dataclass(frozen=True)
class PaymentRequest:
    reference: str  # ours; the provider echoes it in notifications
    order_number: str
    amount: Money
    description: str
    email: str
    return_url: str
    notify_url: str


@dataclass(frozen=True)
class PaymentStart:
    redirect_url: str
    provider_reference: str | None = None


@dataclass(frozen=True)
class PaymentEvent:
    """A notification whose signature checked out."""

    event_id: str
    reference: str
    outcome: PaymentOutcome
    amount: Money


@dataclass(frozen=True)
class RefundResult:
    refunded: Money
    provider_reference: str | None = None


class InvalidNotification(InvalidInput):
    """A notification with a bad signature or a shape we do not understand; changes nothing."""

    title = _l("The payment notification was refused")


class PaymentProviderError(StoreError):
    """The provider failed (timeout, outage); the order is unchanged and can be paid again."""

    status = 502
    title = _l("The payment service did not answer")


class PaymentProvider(Protocol):
    name: str
    label: object  # shown to the customer at checkout

    def start_payment(self, request: PaymentRequest) -> PaymentStart: ...

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent: ...

    def refund(self, reference: str, amount: Money) -> RefundResult: ...


def register_providers(app: Flask) -> None:
    """Build the enabled providers from STORE_PAYMENT_PROVIDERS; raise on unknown names."""
    from store.payments.providers.sandbox import SandboxProvider

    available = {"sandbox": SandboxProvider}
    providers = {}
    for name in app.config["STORE_PAYMENT_PROVIDERS"]:
        if name not in available:
            raise ConfigurationError(
                f"STORE_PAYMENT_PROVIDERS names {name!r}; known providers: {', '.join(available)}"
            )
        providers[name] = available[name].from_config(app.config)
    if not providers:
        raise ConfigurationError("STORE_PAYMENT_PROVIDERS must enable at least one provider")
    app.extensions["store_payment_providers"] = providers


def enabled_providers() -> dict[str, PaymentProvider]:
    return current_app.extensions["store_payment_providers"]


def provider_choices() -> list[tuple[str, object]]:
    """(name, label) of each enabled provider, for a form's payment method field."""
    return [(name, provider.label) for name, provider in enabled_providers().items()]


def get_provider(name: str) -> PaymentProvider:
    """Return an enabled provider. Raises NotFound for any other name."""
    provider = enabled_providers().get(name)
    if provider is None:
        raise NotFound(_l("Unknown payment method."))
    return provider
