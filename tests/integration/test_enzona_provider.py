"""EnZona: the real HTTPX client against a local fake of EnZona's API (tests/fakes).

The fake checks the token request's basic auth, every API call's bearer token, that a
payment is in CUP with items adding up to its total; the tests check what it received,
and the rows, states and outbox the store wrote.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.audit.models import Actor
from store.checkout.services import PaymentNotStarted
from store.config import ConfigurationError, load_config
from store.extensions import db
from store.licensing.models import Licence
from store.mail.models import OutboxMessage
from store.orders.emails import ORDER_DELIVERY, STAFF_ALERT
from store.orders.models import Order, OrderStatus
from store.orders.services import order_page_url
from store.payments.gateway import (
    InvalidNotification,
    PaymentOutcome,
    PaymentProviderError,
    ProviderPayment,
)
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.providers import PROVIDER_TYPES
from store.payments.providers.enzona import EnZonaProvider
from store.payments.providers.enzona_client import EnZonaClient
from store.payments.refunds import refund_order
from store.payments.registry import enabled_providers
from store.payments.services import Confirmation, confirm_event, pay_order
from tests.conftest import Till
from tests.fakes.enzona_server import (
    CANCELLED,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    REFUNDED,
)
from tests.factories import make_plan, make_product

ADMIN = Actor("admin@example.com", 1)


class Clock:
    """The token cache's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def enzona_settings(fake) -> dict[str, str]:
    return {
        "STORE_PAYMENT_PROVIDERS": "sandbox,enzona",
        "STORE_ENZONA_API_BASE": fake.api_base,
        "STORE_ENZONA_CONSUMER_KEY": CONSUMER_KEY,
        "STORE_ENZONA_CONSUMER_SECRET": CONSUMER_SECRET,
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(make_app, fake_enzona, clock, monkeypatch):
    """The store with EnZona enabled: short timeouts, no pause between retries."""

    def build(config) -> EnZonaProvider:
        return EnZonaProvider(EnZonaClient(
            config["STORE_ENZONA_API_BASE"], config["STORE_ENZONA_CONSUMER_KEY"],
            config["STORE_ENZONA_CONSUMER_SECRET"], timeout=0.3, clock=clock, retry_pause=0,
        ))

    monkeypatch.setitem(PROVIDER_TYPES, "enzona", build)
    return make_app(**enzona_settings(fake_enzona))


@pytest.fixture
def placed(till, fake_enzona):
    """An order of one 50.00 CUP licence whose payment was opened at EnZona:
    (order id, our payment reference, EnZona's transaction uuid)."""
    order_id, reference = till.check_out_generated(provider="enzona")
    with till.app.app_context():
        transaction_uuid = db.session.scalar(
            sa.select(Payment.provider_reference).where(Payment.reference == reference)
        )
    assert transaction_uuid in fake_enzona.payments
    return order_id, reference, transaction_uuid


def come_back(app, reference: str) -> Confirmation | None:
    """The payer is back at the store: complete at EnZona, act on what it says once."""
    with app.app_context():
        provider, payment = _enzona_and_payment(reference)
        event = provider.complete_payment(payment)
        return None if event is None else confirm_event("enzona", event)


def reconcile(app, reference: str) -> Confirmation | None:
    with app.app_context():
        provider, payment = _enzona_and_payment(reference)
        event = provider.query_payment(payment)
        return None if event is None else confirm_event("enzona", event)


def _enzona_and_payment(reference: str) -> tuple[EnZonaProvider, ProviderPayment]:
    row = db.session.scalar(sa.select(Payment).where(Payment.reference == reference))
    payment = ProviderPayment(row.reference, row.provider_reference, row.amount)
    db.session.rollback()  # no transaction waits on the gateway
    return enabled_providers()["enzona"], payment


def pay_again(app, order_id: int) -> str:
    with app.app_context():
        return pay_order(order_id, "enzona", payment_window=Till.WINDOW)


def order_status(app, order_id: int) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order_id).status


def test_the_settings_aim_the_enzona_client_at_the_configured_api(
    make_app, fake_enzona, till_for
):
    app = make_app(**enzona_settings(fake_enzona), STORE_ENZONA_TIMEOUT="7")

    till_for(app).check_out_generated(provider="enzona")

    assert fake_enzona.received == [("token", "POST"), ("create", "POST")]
    assert len(fake_enzona.payments) == 1
    assert fake_enzona.problems == []


@pytest.mark.parametrize("missing", ["STORE_ENZONA_CONSUMER_KEY", "STORE_ENZONA_CONSUMER_SECRET"])
def test_enzona_enabled_without_its_credentials_refuses_to_start(tmp_path, missing):
    environ = {"STORE_PAYMENT_PROVIDERS": "enzona", "STORE_ENZONA_CONSUMER_KEY": "k",
               "STORE_ENZONA_CONSUMER_SECRET": "s"}
    del environ[missing]
    with pytest.raises(ConfigurationError, match=f"{missing} is not set"):
        load_config(environ, tmp_path)


def test_production_refuses_an_enzona_api_address_without_https(tmp_path):
    environ = {
        "STORE_ENV": "production", "STORE_SECRET_KEY": "x" * 40,
        "STORE_DATABASE_URL": "postgresql+psycopg://db/store", "STORE_STAFF_EMAIL": "s@x.cu",
        "STORE_BASE_URL": "https://tienda.example.cu", "STORE_REDIS_URL": "redis://r:6379/0",
        "STORE_PAYMENT_PROVIDERS": "enzona", "STORE_ENZONA_CONSUMER_KEY": "k",
        "STORE_ENZONA_CONSUMER_SECRET": "s", "STORE_ENZONA_API_BASE": "http://api.enzona.net",
    }
    with pytest.raises(ConfigurationError, match="STORE_ENZONA_API_BASE must start with https"):
        load_config(environ, tmp_path)


def test_checkout_creates_the_payment_in_cup_and_sends_the_buyer_to_its_confirm_link(
    app, till, fake_enzona
):
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        db.session.commit()
        placed = till.place({str(plan.id): {"q": 2, "p": 5000}}, provider="enzona")
        payment = db.session.scalar(sa.select(Payment).where(Payment.order_id == placed.order.id))
        order_page = order_page_url(placed.order)
        number = placed.order.number
    (body,) = fake_enzona.bodies["create"]
    assert placed.pay_at == f"https://www.enzona.net/checkout/{payment.provider_reference}"
    assert body["merchant_op_id"] == number
    assert body["currency"] == "CUP"
    assert body["amount"]["total"] == "100.00"
    assert body["items"] == [{"name": body["description"], "description": body["description"],
                              "quantity": 1, "price": "100.00", "tax": "0.00"}]
    assert body["cancel_url"] == order_page
    assert body["return_url"] == order_page + "volver/enzona"  # the return flow checks it
    assert order_page.startswith("http://127.0.0.1:5000/")  # STORE_BASE_URL, not a request
    assert fake_enzona.received == [("token", "POST"), ("create", "POST")]
    assert fake_enzona.problems == []


def test_a_purchase_paid_through_enzona_is_fulfilled_once_however_often_the_buyer_returns(
    app, placed, fake_enzona, count
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)

    assert come_back(app, reference) == Confirmation.FULFILLED
    assert come_back(app, reference) == Confirmation.DUPLICATE
    assert reconcile(app, reference) == Confirmation.DUPLICATE

    assert order_status(app, order_id) == OrderStatus.FULFILLED
    with app.app_context():
        assert count(Licence) == 1
        assert count(OutboxMessage, OutboxMessage.kind == ORDER_DELIVERY) == 1
        assert db.session.scalar(sa.select(ProcessedEvent.event_id)) == (
            f"enzona:{transaction_uuid}:approved"
        )
    assert fake_enzona.calls("complete") == 2  # the second is refused: completed already
    assert fake_enzona.tokens_issued == 1  # one token for every call
    assert fake_enzona.problems == []


def test_a_buyer_back_before_confirming_at_enzona_leaves_the_order_waiting(
    app, placed, fake_enzona, count
):
    order_id, reference, _uuid = placed

    assert come_back(app, reference) is None

    assert order_status(app, order_id) == OrderStatus.PENDING_PAYMENT
    with app.app_context():
        assert count(ProcessedEvent) == 0
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.PENDING


def test_a_payment_the_payer_cancelled_at_enzona_fails_the_order(app, placed, fake_enzona):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_cancels(transaction_uuid)

    assert come_back(app, reference) == Confirmation.DECLINED

    assert order_status(app, order_id) == OrderStatus.FAILED


@pytest.mark.parametrize(("total", "currency"), [
    ("49.99", "CUP"), (49.99, "CUP"), ("50.00", "USD"), ("5000", "CUP"),
])
def test_a_completed_payment_of_another_amount_or_currency_needs_attention(
    app, placed, fake_enzona, count, total, currency
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.charge(transaction_uuid, total, currency)

    assert come_back(app, reference) == Confirmation.AMOUNT_MISMATCH

    assert order_status(app, order_id) == OrderStatus.NEEDS_ATTENTION
    with app.app_context():
        assert count(Licence) == 0
        assert count(OutboxMessage, OutboxMessage.kind == STAFF_ALERT) == 1
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.MISMATCH


@pytest.mark.parametrize("total", ["fifty", "50.001", "-50.00", None, True, {"x": 1}])
def test_an_amount_that_is_no_amount_is_a_provider_error_and_changes_nothing(
    app, placed, fake_enzona, total
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.charge(transaction_uuid, total)

    with pytest.raises(PaymentProviderError):
        come_back(app, reference)

    assert order_status(app, order_id) == OrderStatus.PENDING_PAYMENT


def test_a_token_refused_mid_flow_is_renewed_once_and_the_call_sent_again(
    app, placed, fake_enzona
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.expire_tokens()

    assert come_back(app, reference) == Confirmation.FULFILLED

    assert fake_enzona.tokens_issued == 2
    assert fake_enzona.received[2:] == [
        ("complete", "POST"), ("token", "POST"), ("complete", "POST"), ("status", "GET"),
    ]


def test_a_second_401_in_a_row_is_a_provider_error(app, placed, fake_enzona):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.fail("status", "401", "401")

    with pytest.raises(PaymentProviderError):
        come_back(app, reference)

    assert fake_enzona.calls("status") == 2
    assert fake_enzona.tokens_issued == 2
    assert order_status(app, order_id) == OrderStatus.PENDING_PAYMENT


def test_a_token_near_its_expiry_is_renewed_before_it_is_used(app, placed, fake_enzona, clock):
    _order_id, reference, _uuid = placed
    clock.now += fake_enzona.token_lifetime - 59  # within the last minute of its life

    assert reconcile(app, reference) is None

    assert fake_enzona.tokens_issued == 2
    assert ("status", "GET") in fake_enzona.received
    assert all(name != "complete" for name, _method in fake_enzona.received)


def test_wrong_consumer_credentials_are_a_provider_error(make_app, fake_enzona, till_for):
    app = make_app(**{**enzona_settings(fake_enzona), "STORE_ENZONA_CONSUMER_SECRET": "wrong"})

    with pytest.raises(PaymentNotStarted):
        till_for(app).check_out_generated(provider="enzona")

    assert fake_enzona.received == [("token", "POST")]  # a 4xx is not retried
    assert fake_enzona.problems == ["token asked without the consumer key and secret"]


@pytest.mark.parametrize("faults", [("timeout",), ("500",), ("timeout", "500")])
def test_reading_a_payment_is_tried_again_after_a_timeout_or_a_5xx(
    app, placed, fake_enzona, faults
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.fail("status", *faults)

    assert come_back(app, reference) == Confirmation.FULFILLED

    assert fake_enzona.calls("status") == len(faults) + 1
    assert order_status(app, order_id) == OrderStatus.FULFILLED


def test_reading_a_payment_gives_up_after_three_attempts(app, placed, fake_enzona):
    order_id, reference, _uuid = placed
    fake_enzona.fail("status", "500", "timeout", "500", "500")

    with pytest.raises(PaymentProviderError):
        reconcile(app, reference)

    assert fake_enzona.calls("status") == 3
    assert order_status(app, order_id) == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize("route", ["status", "complete"])
def test_malformed_json_is_a_provider_error_and_changes_nothing(
    app, placed, fake_enzona, route
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.fail(route, "malformed")

    with pytest.raises(PaymentProviderError):
        come_back(app, reference)

    assert fake_enzona.calls(route) == 1  # garbage is not asked for twice
    assert order_status(app, order_id) == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize("fault", ["timeout", "500"])
def test_creating_a_payment_is_sent_once_and_the_order_can_be_paid_again(
    app, till, fake_enzona, fault
):
    fake_enzona.fail("create", fault)

    with pytest.raises(PaymentNotStarted) as raised:
        till.check_out_generated(provider="enzona")

    assert "EnZona" in str(raised.value.detail)
    assert fake_enzona.calls("create") == 1
    with app.app_context():
        order = db.session.scalar(sa.select(Order))
        assert order.status == OrderStatus.PENDING_PAYMENT
        payment = db.session.scalar(sa.select(Payment))
        assert payment.status == PaymentStatus.PENDING
        assert payment.provider_reference is None
        order_id = order.id
    pay_at = pay_again(app, order_id)
    with app.app_context():
        payment = db.session.scalar(sa.select(Payment))  # the same payment, resumed
        assert pay_at.endswith(payment.provider_reference)


def test_a_completion_that_failed_is_completed_when_reconciling(app, placed, fake_enzona):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.fail("complete", "500")

    with pytest.raises(PaymentProviderError):
        come_back(app, reference)
    assert fake_enzona.calls("complete") == 1  # never sent twice
    assert order_status(app, order_id) == OrderStatus.PENDING_PAYMENT

    assert reconcile(app, reference) == Confirmation.FULFILLED

    assert fake_enzona.calls("complete") == 2
    assert order_status(app, order_id) == OrderStatus.FULFILLED


def test_a_completion_whose_answer_was_lost_is_confirmed_by_reading_the_payment(
    app, placed, fake_enzona
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    fake_enzona.fail("complete", "timeout")  # EnZona completes it; its answer comes too late

    with pytest.raises(PaymentProviderError):
        come_back(app, reference)
    fake_enzona.wait_until_idle()

    assert reconcile(app, reference) == Confirmation.FULFILLED
    assert fake_enzona.calls("complete") == 1


def test_enzona_notifications_are_refused_and_change_nothing(app, client, placed, count):
    order_id, _reference, transaction_uuid = placed
    body = {"transaction_uuid": transaction_uuid, "status_code": 1111}

    response = client.post("/api/pagos/notificacion/enzona", json=body)

    assert response.status_code == 400
    assert order_status(app, order_id) == OrderStatus.PENDING_PAYMENT
    with app.app_context():
        assert count(ProcessedEvent) == 0
        with pytest.raises(InvalidNotification):
            enabled_providers()["enzona"].verify_notification(b"{}", {})


def test_cancelling_an_unfinished_payment_cancels_it_at_enzona(app, placed, fake_enzona):
    _order_id, reference, transaction_uuid = placed

    with app.app_context():
        provider, payment = _enzona_and_payment(reference)
        provider.cancel_payment(payment)
        assert provider.query_payment(payment).outcome == PaymentOutcome.DECLINED

    assert fake_enzona.payments[transaction_uuid].status == CANCELLED
    assert fake_enzona.bodies["cancel"] == [{}]


def test_the_back_office_refund_gives_the_whole_charge_back_through_enzona(
    app, placed, fake_enzona
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    assert come_back(app, reference) == Confirmation.FULFILLED

    with app.app_context():
        (payment,) = refund_order(order_id, reason="customer asked", actor=ADMIN)
        refund_reference = payment.refund_reference

    (body,) = fake_enzona.bodies["refund"]
    assert body["amount"] == "50.00"
    assert body["commerce_refund_id"] == f"{reference}-refund"
    assert fake_enzona.payments[transaction_uuid].status == REFUNDED
    assert refund_reference == fake_enzona.payments[transaction_uuid].refunds[0]["transaction_uuid"]
    assert order_status(app, order_id) == OrderStatus.REFUNDED
    assert reconcile(app, reference) == Confirmation.DUPLICATE  # refunded stays refunded


def test_a_refund_enzona_refuses_changes_nothing(app, placed, fake_enzona):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    assert come_back(app, reference) == Confirmation.FULFILLED
    fake_enzona.fail("refund", "500")

    with app.app_context(), pytest.raises(PaymentProviderError):
        refund_order(order_id, reason="customer asked", actor=ADMIN)

    assert fake_enzona.calls("refund") == 1  # money is never asked back twice
    assert order_status(app, order_id) == OrderStatus.FULFILLED


def test_a_refund_whose_answer_was_lost_is_recorded_when_asked_again_and_refunded_once(
    app, placed, fake_enzona
):
    order_id, reference, transaction_uuid = placed
    fake_enzona.payer_confirms(transaction_uuid)
    assert come_back(app, reference) == Confirmation.FULFILLED
    fake_enzona.fail("refund", "timeout")  # EnZona refunds, but answers too late

    with app.app_context(), pytest.raises(PaymentProviderError):
        refund_order(order_id, reason="customer asked", actor=ADMIN)
    fake_enzona.wait_until_idle()
    assert order_status(app, order_id) == OrderStatus.FULFILLED

    with app.app_context():  # the admin presses "Refund" again: EnZona refuses, it refunded
        (payment,) = refund_order(order_id, reason="customer asked", actor=ADMIN)
        assert payment.status == PaymentStatus.REFUNDED

    assert order_status(app, order_id) == OrderStatus.REFUNDED
    assert fake_enzona.calls("refund") == 2
    assert len(fake_enzona.payments[transaction_uuid].refunds) == 1  # money back once


def test_a_buyer_whose_enzona_payment_could_not_start_reads_why_in_spanish_and_can_retry(
    app, shopper, fake_enzona
):
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        db.session.commit()
        plan_id = plan.id
    shopper.add(plan_id)
    fake_enzona.fail("create", "500")

    response = shopper.check_out(payment_method="enzona")

    order_page = response.headers["Location"]
    html = shopper.page(order_page)
    assert "EnZona no respondió. Tu pedido está guardado" in html
    with app.app_context():
        number = db.session.scalar(sa.select(Order.number))
    assert f'action="/pedido/{number}/pagar"' in html

    again = shopper.client.post(f"/pedido/{number}/pagar", data={"method": "enzona"})

    (transaction_uuid,) = fake_enzona.payments
    assert again.headers["Location"] == f"https://www.enzona.net/checkout/{transaction_uuid}"


def test_a_buyer_pays_at_enzona_and_comes_back_through_the_store_pages_to_their_key(
    app, shopper, fake_enzona, count
):
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        db.session.commit()
        plan_id = plan.id
    shopper.add(plan_id)

    sent = shopper.check_out(payment_method="enzona")
    transaction_uuid = sent.headers["Location"].rsplit("/", 1)[1]
    fake_enzona.payer_confirms(transaction_uuid)
    number = shopper.session()["orders"][-1]
    back = shopper.client.get(f"/pedido/{number}/volver/enzona")
    again = shopper.client.get(f"/pedido/{number}/volver/enzona")
    page = shopper.page(f"/pedido/{number}/")

    assert sent.headers["Location"] == f"https://www.enzona.net/checkout/{transaction_uuid}"
    assert back.headers["Location"] == again.headers["Location"] == f"/pedido/{number}/"
    assert len(shopper.keys_in(page)) == 1
    with app.app_context():
        assert count(Licence) == 1
        assert count(OutboxMessage, OutboxMessage.kind == ORDER_DELIVERY) == 1
    assert fake_enzona.problems == []


def test_paying_again_keeps_the_transaction_the_payer_already_confirmed_and_reconciles_it(
    app, placed, fake_enzona, count
):
    order_id, reference, first_uuid = placed
    fake_enzona.payer_confirms(first_uuid)  # then the buyer presses "pay again" anyway

    pay_again(app, order_id)
    with app.app_context():
        rows = db.session.scalars(sa.select(Payment).where(Payment.order_id == order_id)
                                  .order_by(Payment.id)).all()
        references = [(p.reference, p.provider_reference) for p in rows]
    outcome = reconcile(app, reference)

    assert len(references) == 2 and references[0] == (reference, first_uuid)
    assert references[1][1] != first_uuid  # a new transaction, in a row of its own
    assert outcome == Confirmation.FULFILLED
    assert order_status(app, order_id) == OrderStatus.FULFILLED
    with app.app_context():
        assert count(Licence) == 1
