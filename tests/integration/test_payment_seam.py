"""The payment seam: providers plug into the registry, payments record what was charged,
the sandbox answers the steps real gateways have, and every outcome is named."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment
from store.extensions import db
from store.licensing import services as licensing
from store.licensing.models import Licence, PoolKey, PoolKeyState
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
from store.payments.services import Confirmation, confirm_payment, pay_order
from tests.conftest import Till
from tests.factories import make_plan, make_pool, make_product

WINDOW = Till.WINDOW


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
    return make_app(STORE_PAYMENT_PROVIDERS="sandbox,dollars", STORE_EXCHANGE_RATES="USD:120.00")


def test_a_provider_listed_in_the_registry_is_offered_in_the_configured_order(app):
    with app.app_context():
        assert [name for name, _label in provider_choices()] == ["sandbox", "dollars"]
        assert isinstance(enabled_providers()["dollars"], DollarGateway)


def test_a_provider_that_settles_in_usd_charges_the_converted_total_and_records_the_rate(
    app, till
):
    order_id, _reference = till.check_out_generated()

    with app.app_context():
        redirect_to = pay_order(order_id, "dollars", payment_window=WINDOW)
        dollars = enabled_providers()["dollars"]
        payment = db.session.scalar(sa.select(Payment).where(Payment.provider == "dollars"))
        asked = dollars.requests[0]

    # 50.00 CUP at 120 CUP per USD is 0.41666... USD, rounded up to the cent.
    assert redirect_to == "https://pay.example/checkout/1"
    assert (asked.amount, asked.order_amount) == (Money(42, "USD"), Money(5000, "CUP"))
    assert (payment.amount, payment.order_amount) == (Money(42, "USD"), Money(5000, "CUP"))
    assert payment.exchange_rate == "120.00"


def test_a_payment_settled_in_usd_fulfils_the_order_when_the_provider_confirms_its_charge(
    app, till, count
):
    order_id, _reference = till.check_out_generated()
    with app.app_context():
        pay_order(order_id, "dollars", payment_window=WINDOW)
        reference = db.session.scalar(
            sa.select(Payment.reference).where(Payment.provider == "dollars")
        )
        body, headers = enabled_providers()["dollars"].notification(
            event_id="evt-usd", reference=reference, outcome="approved", amount=Money(42, "USD")
        )

        outcome = confirm_payment("dollars", body, headers)

        assert outcome == Confirmation.FULFILLED
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
    assert count(OutboxMessage, OutboxMessage.kind == "staff_alert") == 0


def test_a_provider_in_a_currency_without_a_rate_is_refused_and_nothing_is_written(
    app, till, count, monkeypatch
):
    monkeypatch.setattr(DollarGateway, "currency", "EUR")
    order_id, _reference = till.check_out_generated()

    with app.app_context(), pytest.raises(PaymentProviderError):
        pay_order(order_id, "dollars", payment_window=WINDOW)

    assert count(Payment) == 1  # only the sandbox payment of the checkout
    with app.app_context():
        assert enabled_providers()["dollars"].requests == []


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


def test_an_unexpected_failure_while_issuing_keys_needs_attention_and_keeps_no_key(
    app, till, count, monkeypatch
):
    with app.app_context():
        product = make_product(plans=[{}, {}])
        db.session.commit()
        cart = {str(plan.id): {"q": 1, "p": plan.price_minor} for plan in product.plans}
    order_id, reference = till.check_out(cart)
    real_issue, calls = licensing.issue, []

    def issue_then_fail(line, **kwargs):
        calls.append(line.id)
        if len(calls) == 2:  # the first line's licence is already written
            raise OSError("vault unreachable")
        return real_issue(line, **kwargs)

    monkeypatch.setattr(licensing, "issue", issue_then_fail)
    outcome = till.notify(reference)

    assert outcome == Confirmation.ISSUE_FAILED and len(calls) == 2
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.NEEDS_ATTENTION
        assert "OSError" in order.events[-1].note
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.APPROVED
    assert count(Licence) == 0  # the savepoint took back the first line's licence too
    assert count(OutboxMessage, OutboxMessage.kind == "staff_alert") == 1
    assert count(OutboxMessage, OutboxMessage.kind == "order_delivery") == 0


def test_a_decline_while_the_buyer_pays_another_way_leaves_the_order_payable(
    app, till, count, monkeypatch
):
    monkeypatch.setattr(DollarGateway, "currency", "CUP")  # as EnZona will
    with app.app_context():
        plan = make_plan(make_product(plans=[]), fulfilment=Fulfilment.POOL)
        db.session.commit()
        make_pool(plan, 1)
        db.session.commit()
        cart = {str(plan.id): {"q": 1, "p": plan.price_minor}}
    order_id, sandbox_reference = till.check_out(cart)
    with app.app_context():
        pay_order(order_id, "dollars", payment_window=WINDOW)  # the buyer switched to the other method

    outcome = till.notify(sandbox_reference, outcome="declined")

    assert outcome == Confirmation.DECLINED
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING_PAYMENT
        assert order.events[-1].kind == "payment_declined"
        statuses = dict(db.session.execute(sa.select(Payment.provider, Payment.status)).all())
        assert statuses == {"sandbox": PaymentStatus.DECLINED, "dollars": PaymentStatus.PENDING}
    assert count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 1  # still held for it


def test_staff_alerts_are_written_in_the_staff_language(make_app, till_for):
    app = make_app(STORE_STAFF_LOCALE="en")
    till = till_for(app)
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
        redirect_to = pay_order(order_id, "dollars", payment_window=WINDOW)
        request = enabled_providers()["dollars"].requests[0]
        payment = db.session.scalar(sa.select(Payment).where(Payment.provider == "dollars"))
        number = db.session.get(Order, order_id).number

    assert redirect_to == "https://pay.example/checkout/1"
    assert payment.provider_reference == "pi_1" and payment.amount == Money(5000, "CUP")
    assert request.notify_url == "http://127.0.0.1:5000/api/pagos/notificacion/dollars"
    # Coming back asks the provider; giving up goes straight to the order page. The
    # buyer's session opens both, never a token in the address.
    assert request.return_url == f"http://127.0.0.1:5000/pedido/{number}/volver/dollars"
    assert request.cancel_url == f"http://127.0.0.1:5000/pedido/{number}/"
    assert count(Payment) == 2


def set_rate(app, currency: str, rate: str, when=None):
    from store.audit.models import Actor
    from store.dbtypes import utcnow
    from store.payments.rates import set_exchange_rate

    with app.app_context():
        return set_exchange_rate(currency, Decimal(rate), actor=Actor("admin@example.com", 1),
                                 now=when or utcnow(), fallback=app.config["STORE_EXCHANGE_RATES"],
                                 confirmed=True).id


def dollar_payment(app, order_id) -> Payment:
    with app.app_context():
        return db.session.scalar(sa.select(Payment).where(
            Payment.provider == "dollars", Payment.order_id == order_id))


def test_a_new_payment_uses_the_newest_rate_an_admin_set_rather_than_the_setting(app, till):
    set_rate(app, "USD", "200")
    set_rate(app, "USD", "250.5")
    order_id, _reference = till.check_out_generated()

    with app.app_context():
        pay_order(order_id, "dollars", payment_window=WINDOW)

    payment = dollar_payment(app, order_id)
    # 50.00 CUP at 250.5 CUP per USD is 0.1996... USD, rounded up to the cent.
    assert (payment.amount, payment.exchange_rate) == (Money(20, "USD"), "250.5")


def test_a_payment_keeps_the_rate_it_used_when_a_new_rate_is_set(app, till):
    first_order, _reference = till.check_out_generated()
    with app.app_context():
        pay_order(first_order, "dollars", payment_window=WINDOW)

    set_rate(app, "USD", "100")
    second_order, _reference = till.check_out_generated()
    with app.app_context():
        pay_order(second_order, "dollars", payment_window=WINDOW)

    old, new = dollar_payment(app, first_order), dollar_payment(app, second_order)
    assert (old.amount, old.exchange_rate) == (Money(42, "USD"), "120.00")
    assert (new.amount, new.exchange_rate) == (Money(50, "USD"), "100")


def test_a_currency_missing_from_the_setting_can_be_charged_once_an_admin_sets_its_rate(
    app, till, monkeypatch
):
    monkeypatch.setattr(DollarGateway, "currency", "EUR")
    set_rate(app, "EUR", "125")
    order_id, _reference = till.check_out_generated()

    with app.app_context():
        pay_order(order_id, "dollars", payment_window=WINDOW)

    assert dollar_payment(app, order_id).amount == Money(40, "EUR")


def test_a_new_rate_is_audited_with_the_rate_it_replaces(app):
    from store.audit.models import AuditEvent
    from store.payments.models import ExchangeRate

    set_rate(app, "USD", "200")
    rate_id = set_rate(app, "USD", "210.25")

    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExchangeRate)) == 2
    assert (event.action, event.actor, event.subject_type, event.subject_id) == (
        "exchange_rate.set", "admin@example.com", "exchange_rate", rate_id)
    assert event.details["changes"]["cup_per_unit"] == ["200", "210.25"]


@pytest.mark.parametrize("rate", ["0", "-1", "1000000.01", "1.1234567", "NaN", "Infinity"])
def test_a_rate_out_of_range_is_refused_and_nothing_is_written(app, count, rate):
    from store.errors import InvalidInput
    from store.payments.models import ExchangeRate

    with pytest.raises(InvalidInput):
        set_rate(app, "USD", rate)
    assert count(ExchangeRate) == 0
