"""The payment provider seam: one Protocol, frozen dataclasses, errors, and parsing helpers.

A provider starts a payment (returning where to send the customer), verifies a
notification (returning a verified event, or raising), completes a payment after the
customer returns (gateways that capture, such as EnZona), tells what became of a payment
(for reconciling), cancels an unfinished one, and refunds. Providers live in
``store/payments/providers/`` and are listed in its registry; this module imports none.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l

from store.errors import InvalidInput, StoreError
from store.money import Money


class PaymentOutcome(enum.StrEnum):
    """What a provider says of a payment."""

    APPROVED = "approved"
    DECLINED = "declined"
    REFUNDED = "refunded"  # money given back at the provider (its amount: refunded so far)


@dataclass(frozen=True)
class PaymentLine:
    """One order line as a provider lists it: its name, quantity and total, in the
    currency the provider charges (the lines of a request add up to its amount)."""

    name: str
    quantity: int
    amount: Money


@dataclass(frozen=True)
class PaymentRequest:
    reference: str  # ours; the provider echoes it in notifications
    order_number: str
    amount: Money  # what the provider charges, in the currency it settles in
    order_amount: Money  # the order total (CUP) that charge stands for
    description: str
    email: str
    return_url: str  # where the customer comes back after paying
    cancel_url: str  # where the customer comes back after giving up
    notify_url: str  # where the provider sends its signed notifications
    lines: tuple[PaymentLine, ...] = ()  # for providers that list what is bought


@dataclass(frozen=True)
class PaymentStart:
    redirect_url: str
    provider_reference: str | None = None


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider knows it: our reference, its reference, the charge."""

    reference: str
    provider_reference: str | None
    amount: Money


@dataclass(frozen=True)
class PaymentEvent:
    """A verified statement from the provider about one payment."""

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
    currency: str  # the currency it charges in
    # True when starting the same payment again resumes it (an idempotency key, our
    # reference); False when each start opens a new transaction at the provider.
    resumes_payments: bool

    def start_payment(self, request: PaymentRequest) -> PaymentStart:
        """Open the payment at the provider. Raises PaymentProviderError."""

    def verify_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PaymentEvent | None:
        """Check a notification's signature and shape. Raises InvalidNotification.

        Returns None for a genuine notification that asks nothing of the store (an event
        type it does not act on): the endpoint acknowledges it and changes nothing.
        """

    def complete_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        """After the customer returns: capture or complete the payment where the provider
        needs it; return the event to act on, or None while it is still pending."""

    def query_payment(self, payment: ProviderPayment) -> PaymentEvent | None:
        """Ask what became of a payment (reconciling); None while it is still pending."""

    def cancel_payment(self, payment: ProviderPayment) -> None:
        """Stop a payment that was started and never finished."""

    def refund(self, payment: ProviderPayment, amount: Money) -> RefundResult:
        """Give back ``amount`` of a settled payment. Raises PaymentProviderError."""


# How the registry builds a provider from the app's configuration.
ProviderFactory = Callable[[Mapping[str, Any]], PaymentProvider]


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Decode a notification body that must be a JSON object. Raises InvalidNotification.

    Any body that fails to parse is refused the same way: not UTF-8, not JSON, nested
    too deep for the parser, or not an object.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise InvalidNotification(_l("Malformed notification.")) from error
    if not isinstance(data, dict):
        raise InvalidNotification(_l("Malformed notification."))
    return data


def plain_text(data: Mapping[str, Any], name: str, max_length: int) -> str:
    """A required string field of printable ASCII, at most ``max_length`` long.

    Identifiers from providers are ASCII; anything else (a lone surrogate, a NUL, a number
    where text belongs) is refused before it reaches the database.
    """
    value = data.get(name)
    if (
        not isinstance(value, str) or not value or len(value) > max_length
        or not value.isascii() or not value.isprintable()
    ):
        raise InvalidNotification(_l("Malformed notification."))
    return value
