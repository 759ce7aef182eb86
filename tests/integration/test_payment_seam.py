"""The payment seam: providers plug into the registry, payments record what was charged,
the sandbox answers the steps real gateways have, and every outcome is named."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from store.licensing import services as licensing
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.mail.transports import MemoryTransport
from store.money import Money
from store.orders.models import Order, OrderStatus
from store.payments.gateway import (
    InvalidNotification,
    PaymentOutcome,
    PaymentProviderError,
    PaymentStart,
    ProviderPayment,
)
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.providers import PROVIDER_TYPES
from store.payments.providers.sandbox import SandboxProvider
from store.payments.registry import enabled_providers, provider_choices
from store.payments.services import Confirmation, OrderNotPayable, pay_order
from store.extensions import db
from tests.conftest import Till


class DollarGateway(SandboxProvider):
    """A provider that settles in USD (as Stripe will), built like any registered one."""

    name = "dollars"
    label = "Dollar gateway"
    currency = "USD"

    def start_payment(self, request):
        self.requests.append(request)
        return PaymentStart("https://pay.example/checkout/1", provider_reference="pi_1")


@pytest.fixture
def app(make_app, monkeypatch):
    def build(config):
        provider = DollarGateway.from_config(config)
        provider.requests = []
        return provider

    monkeypatch.setitem(PROVIDER_TYPES, "dollars", build)
    return make_app(STORE_PAYMENT_PROVIDERS="sandbox,dollars")


def test_a_provider_listed_in_the_registry_is_offered_in_the_configured_order(app):
    with app.app_context():
        assert [name for name, _label in provider_choices()] == ["sandbox", "dollars"]
        assert isinstance(enabled_providers()["dollars"], DollarGateway)


def test_a_provider_that_settles_in_another_currency_is_refused_until_rates_exist(app, till,
                                                                                  count):
    order_id, _reference = till.check_out_generated()

    with app.app_context(), pytest.raises(PaymentProviderError):
        pay_order(order_id, "dollars")

    assert count(Payment) == 1  # only the sandbox payment of the checkout
    with app.app_context():
        assert enabled_providers()["dollars"].requests == []


def test_a_payment_settled_in_usd_is_checked_against_its_own_charge(app, till, count):
    order_id, _reference = till.check_out_generated()
    with app.app_context():
        db.session.add(Payment(
            order_id=order_id, provider="sandbox", reference="usd-payment", amount_minor=42,
            currency="USD", order_amount_minor=5000, order_currency="CUP",
            exchange_rate="120.00",
        ))
        db.session.commit()

    outcome = till.notify("usd-payment", amount=Money(42, "USD"))

    assert outcome == Confirmation.FULFILLED
    with app.app_context():
        payment = db.session.scalar(sa.select(Payment).where(Payment.reference == "usd-payment"))
        assert payment.status == PaymentStatus.APPROVED
        assert (payment.amount, payment.order_amount) == (Money(42, "USD"), Money(5000, "CUP"))
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
    assert count(OutboxMessage, OutboxMessage.kind == "staff_alert") == 0


def test_a_payment_records_the_charge_and_the_order_total_it_stands_for(app, till):
    order_id, reference = till.check_out_generated(quantity=3)
    with app.app_context():
        payment = db.session.scalar(sa.select(Payment).where(Payment.reference == reference))
        assert payment.amount == payment.order_amount == Money(15000, "CUP")
        assert payment.exchange_rate is None


def test_every_outcome_is_a_named_value_kept_on_the_processed_event(app, till):
    _order_id, reference = till.check_out_generated()

    outcomes = [till.notify(reference), till.notify(reference), till.notify(reference, event="e2")]

    assert outcomes == [Confirmation.FULFILLED, Confirmation.DUPLICATE, Confirmation.ALREADY_PAID]
    with app.app_context():
        kept = db.session.scalars(sa.select(ProcessedEvent.outcome).order_by(ProcessedEvent.id))
        assert list(kept) == ["fulfilled", "already_paid"]


def test_an_unexpected_failure_while_issuing_keys_needs_attention_and_alerts_staff(
    app, till, count, monkeypatch
):
    order_id, reference = till.check_out_generated(quantity=2)

    def broken_issue(line, **kwargs):
        raise OSError("vault unreachable")

    monkeypatch.setattr(licensing, "issue", broken_issue)
    outcome = till.notify(reference)

    assert outcome == Confirmation.ISSUE_FAILED
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.NEEDS_ATTENTION
        assert "OSError" in order.events[-1].note
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.APPROVED
    assert count(OutboxMessage, OutboxMessage.kind == "staff_alert") == 1
    assert count(OutboxMessage, OutboxMessage.kind == "order_delivery") == 0


def test_staff_alerts_are_written_in_the_staff_language(make_app):
    app = make_app(STORE_STAFF_LOCALE="en")
    till = Till(app)
    _order_id, reference = till.check_out_generated()
    till.notify(reference, amount=Money(1, "CUP"))
    transport = MemoryTransport()

    with app.app_context():
        send_pending(transport=transport)
        queued = db.session.scalar(sa.select(OutboxMessage.locale))

    assert queued == "en"
    assert transport.sent[0]["Subject"].startswith("Attention needed: order ")
    assert '<html lang="en">' in transport.sent[0].get_body(("html",)).get_content()


def test_the_sandbox_answers_completion_and_status_from_what_its_page_was_told(app, till):
    _order_id, reference = till.check_out_generated()
    with app.app_context():
        sandbox = enabled_providers()["sandbox"]
        payment = ProviderPayment(reference, None, Money(5000, "CUP"))
        assert sandbox.query_payment(payment) is None  # nobody answered the gateway yet

        body, headers = sandbox.answer(reference, PaymentOutcome.APPROVED, Money(5000, "CUP"))
        event = sandbox.verify_notification(body, headers)

        assert sandbox.query_payment(payment) == event
        assert sandbox.complete_payment(payment) == event
        assert event.outcome == PaymentOutcome.APPROVED and event.reference == reference


def test_a_cancelled_sandbox_payment_can_no_longer_be_approved(app, till):
    _order_id, reference = till.check_out_generated()
    with app.app_context():
        sandbox = enabled_providers()["sandbox"]
        payment = ProviderPayment(reference, None, Money(5000, "CUP"))

        sandbox.cancel_payment(payment)

        with pytest.raises(InvalidNotification):
            sandbox.answer(reference, PaymentOutcome.APPROVED, Money(5000, "CUP"))
        assert sandbox.query_payment(payment) is None
        refund = sandbox.refund(replace(payment, provider_reference="x"), Money(5000, "CUP"))
        assert refund.refunded == Money(5000, "CUP")


def test_paying_again_with_another_provider_starts_a_payment_there(app, till, count,
                                                                   monkeypatch):
    monkeypatch.setattr(DollarGateway, "currency", "CUP")  # as EnZona will
    order_id, _reference = till.check_out_generated()

    with app.app_context():
        redirect_to = pay_order(order_id, "dollars")
        request = enabled_providers()["dollars"].requests[0]
        payment = db.session.scalar(sa.select(Payment).where(Payment.provider == "dollars"))

    assert redirect_to == "https://pay.example/checkout/1"
    assert payment.provider_reference == "pi_1" and payment.amount == Money(5000, "CUP")
    assert request.notify_url == "http://127.0.0.1:5000/api/pagos/notificacion/dollars"
    assert request.return_url == request.cancel_url
    assert request.return_url.startswith("http://127.0.0.1:5000/pedido/A-")
    assert "?t=" not in request.return_url  # the buyer's session opens it, not a token
    assert count(Payment) == 2
