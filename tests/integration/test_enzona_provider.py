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
from store.payments.services import Confirmation, confirm_event
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


def order_status(app, order_id: int) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order_id).status


def test_settings_build_an_enzona_client_aimed_at_the_configured_api(make_app, fake_enzona):
    app = make_app(**enzona_settings(fake_enzona), STORE_ENZONA_TIMEOUT="7")
    with app.app_context():
        client = enabled_providers()["enzona"].client
    assert client.token_url == fake_enzona.server.url_for("/token")
    assert client._http.timeout.read == 7
    assert str(client._http.base_url) == fake_enzona.api_base + "/"


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
    assert body["return_url"] == body["cancel_url"] == order_page
    assert order_page.startswith("http://127.0.0.1:5000/")  # STORE_BASE_URL, not a request
    assert fake_enzona.received == [("token", "POST"), ("create", "POST")]
    assert fake_enzona.problems == []
