"""A customer pays by card (Stripe) and with EnZona in a real browser (issue 11).

The store's real provider clients talk to the local fakes (tests/fakes); each fake also
serves a small page standing in for the provider's hosted payment page, where the browser
is sent and the customer presses "Pagar". Back at the store the order page shows the key,
issued exactly once however many times the payment is confirmed again (Stripe's signed
webhook, a second visit to the return address). JavaScript off, on a 375 px phone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from store.extensions import db
from store.licensing.models import Licence
from store.mail.models import OutboxMessage
from store.orders.emails import ORDER_DELIVERY
from store.orders.models import Order, OrderLine, OrderStatus
from store.payments.models import Payment, PaymentStatus
from tests.e2e.conftest import overflowing_elements
from tests.fakes.enzona_server import CONSUMER_KEY, CONSUMER_SECRET, FakeEnZona
from tests.fakes.stripe_server import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

pytestmark = pytest.mark.e2e

KEY = re.compile(r"^(?:[0-9A-Y]{4}-){7}[0-9A-Y]{4}$")
NOTIFY = "/api/pagos/notificacion/stripe"
PHONE = {"width": 375, "height": 812}
# The demo plan's recommended plan: 2 años · 1 PC, 90.00 CUP; at 120 CUP per USD, 0.75 USD.
PRODUCT = "/productos/almiqui-antivirus-hogar/"


@pytest.fixture
def stripe_api(httpserver) -> Iterator[FakeStripe]:
    """The fake Stripe, whose sessions' url is its own small payment page."""
    fake = FakeStripe(httpserver, hosted_page=True)
    yield fake
    assert fake.problems == [], "the fake Stripe refused what the client sent"


@pytest.fixture
def enzona_api() -> Iterator[FakeEnZona]:
    """The fake EnZona, whose "confirm" link is its own small confirmation page."""
    with FakeEnZona(hosted_page=True) as fake:
        yield fake
        assert fake.problems == [], "the fake EnZona refused what the client sent"


@pytest.fixture
def app(make_app, mail_transport, stripe_api, enzona_api):
    """The demo store (as in conftest.py) with Stripe and EnZona aimed at their fakes."""
    from store.catalogue.demo import seed_demo_catalogue

    app = make_app(
        STORE_MAIL_TRANSPORT=mail_transport,
        STORE_PAYMENT_PROVIDERS="sandbox,stripe,enzona",
        STORE_STRIPE_SECRET_KEY=SECRET_KEY, STORE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STORE_STRIPE_CURRENCY="usd", STORE_STRIPE_API_BASE=stripe_api.api_base,
        STORE_STRIPE_TIMEOUT="5", STORE_EXCHANGE_RATES="USD:120.00",
        STORE_ENZONA_API_BASE=enzona_api.api_base,
        STORE_ENZONA_CONSUMER_KEY=CONSUMER_KEY, STORE_ENZONA_CONSUMER_SECRET=CONSUMER_SECRET,
    )
    with app.app_context():
        seed_demo_catalogue()
    return app


def the_order(app) -> dict:
    """The one order: its number, status, payments, licences and delivery emails."""
    with app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        payments = db.session.scalars(sa.select(Payment)).all()

        def rows(model, *where) -> int:
            return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

        return {
            "number": order.number, "status": order.status,
            "payments": [(p.provider, p.status, p.amount.minor, p.amount.currency)
                         for p in payments],
            "units": sum(line.quantity for line in order.lines),
            "licences": rows(Licence, Licence.order_line_id.in_(
                sa.select(OrderLine.id).where(OrderLine.order_id == order.id))),
            "emails": rows(OutboxMessage, OutboxMessage.kind == ORDER_DELIVERY,
                           OutboxMessage.order_id == order.id),
        }


def check_out(page, live_server, screenshots, method: str, amount: str) -> None:
    """Add the demo plan to the cart, fill in the checkout and choose ``method``, shown
    with ``amount``; place the order (the browser goes to the provider's page)."""
    page.goto(live_server + PRODUCT)
    expect(page.locator(".plan-recommended")).to_contain_text("90.00 CUP")
    page.get_by_role("button", name="Añadir al carrito").click()
    expect(page).to_have_url(re.compile(r"/carrito/$"))
    page.get_by_role("link", name="Pagar", exact=True).click()
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Nombre y apellidos").fill("Ana Pérez")
    # Every enabled provider is listed with what it will charge.
    methods = page.get_by_role("group", name="Forma de pago")
    expect(methods).to_contain_text("Tarjeta internacional (Stripe): 0.75 USD")
    expect(methods).to_contain_text("EnZona: 90.00 CUP")
    page.get_by_label(f"{method}: {amount}").check()
    page.get_by_label("Acepto las condiciones de venta").check()
    assert overflowing_elements(page) == []
    screenshots(page, "checkout")
    page.get_by_role("button", name="Hacer el pedido y pagar", exact=True).click()


def pay_on_provider_page(page, screenshots, address: str, amount: str) -> None:
    """On the fake provider's page (its own server, not the store): check the amount, pay."""
    expect(page).to_have_url(re.compile("^" + re.escape(address)))
    assert page.locator(".amount").inner_text() == amount
    assert overflowing_elements(page) == []
    screenshots(page, "provider-page")
    page.get_by_role("button", name="Pagar").click()


def key_on_order_page(page, live_server, screenshots, number: str) -> str:
    expect(page).to_have_url(f"{live_server}/pedido/{number}/")
    expect(page.get_by_role("status").filter(has_text="Pagado.")).to_be_visible()
    keys = page.locator("code.licence-key").all_inner_texts()
    assert len(keys) == 1 and KEY.match(keys[0]), keys
    assert overflowing_elements(page) == []
    screenshots(page, "order")
    return keys[0]


def test_a_card_payment_on_the_fake_stripe_page_issues_the_key_once_even_with_the_webhook(
    app, browser, live_server, screenshots, stripe_api
):
    context = browser.new_context(java_script_enabled=False, locale="es-CU", viewport=PHONE)
    page = context.new_page()

    check_out(page, live_server, screenshots, "Tarjeta internacional (Stripe)", "0.75 USD")
    (session,) = stripe_api.sessions.values()
    assert session["url"].startswith(stripe_api.api_base + "/c/pay/")
    pay_on_provider_page(page, screenshots, session["url"], "0.75 USD")

    # Back through the success_url: the store asked Stripe, which says paid.
    number = session["client_reference_id"]
    key = key_on_order_page(page, live_server, screenshots, number)
    assert the_order(app) == {
        "number": number, "status": OrderStatus.FULFILLED,
        "payments": [("stripe", PaymentStatus.APPROVED, 75, "USD")],
        "units": 1, "licences": 1, "emails": 1,
    }

    # Stripe's signed webhook for the same payment arrives afterwards: nothing more is issued.
    body, headers = stripe_api.event("checkout.session.completed", session)
    response = app.test_client().post(NOTIFY, data=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {"status": "already_paid"}
    assert the_order(app)["licences"] == 1 and the_order(app)["emails"] == 1
    assert the_order(app)["status"] == OrderStatus.FULFILLED

    page.reload()
    assert page.locator("code.licence-key").all_inner_texts() == [key]
    context.close()
    assert [p.name for p in screenshots.taken] == [
        "01-checkout.png", "02-provider-page.png", "03-order.png"]
    assert all(p.stat().st_size > 0 for p in screenshots.taken)


def test_an_enzona_payment_on_the_fake_confirm_page_issues_the_key_once(
    app, browser, live_server, screenshots, enzona_api
):
    context = browser.new_context(java_script_enabled=False, locale="es-CU", viewport=PHONE)
    page = context.new_page()

    check_out(page, live_server, screenshots, "EnZona", "90.00 CUP")
    (payment,) = enzona_api.payments.values()
    confirm_page = enzona_api.server.url_for(f"/checkout/{payment.uuid}")
    pay_on_provider_page(page, screenshots, confirm_page, "90.00 CUP")

    # Back through the return_url: the store completed the payment at EnZona and read it.
    number = payment.merchant_op_id
    return_address = enzona_api.return_urls[payment.uuid]
    assert return_address == f"{live_server}/pedido/{number}/volver/enzona"
    key = key_on_order_page(page, live_server, screenshots, number)
    assert enzona_api.calls("complete") == 1
    assert the_order(app) == {
        "number": number, "status": OrderStatus.FULFILLED,
        "payments": [("enzona", PaymentStatus.APPROVED, 9000, "CUP")],
        "units": 1, "licences": 1, "emails": 1,
    }

    # The return address visited again (a reload, the back button) adds nothing.
    page.goto(return_address)
    expect(page).to_have_url(f"{live_server}/pedido/{number}/")
    assert page.locator("code.licence-key").all_inner_texts() == [key]
    assert the_order(app)["licences"] == 1 and the_order(app)["emails"] == 1
    context.close()
    assert [p.name for p in screenshots.taken] == [
        "01-checkout.png", "02-provider-page.png", "03-order.png"]
    assert all(p.stat().st_size > 0 for p in screenshots.taken)


def test_an_enzona_payer_back_in_another_browser_reads_where_the_keys_go(
    app, browser, live_server, screenshots, enzona_api
):
    ordering = browser.new_context(java_script_enabled=False, locale="es-CU", viewport=PHONE)
    page = ordering.new_page()
    check_out(page, live_server, screenshots, "EnZona", "90.00 CUP")
    (payment,) = enzona_api.payments.values()
    number = payment.merchant_op_id

    # The payer confirms in EnZona's app, which opens the return address in the phone's
    # default browser: a small phone that never saw the order.
    enzona_api.payer_confirms(payment.uuid)
    other = browser.new_context(java_script_enabled=False, locale="es-CU",
                                viewport={"width": 320, "height": 640})
    elsewhere = other.new_page()
    elsewhere.goto(enzona_api.return_urls[payment.uuid])
    expect(elsewhere.get_by_role("heading", name="Gracias")).to_be_visible()
    expect(elsewhere.get_by_role("status")).to_have_text("Estamos confirmando tu pago.")
    expect(elsewhere.locator("main")).not_to_contain_text(number)
    assert overflowing_elements(elsewhere) == []
    screenshots(elsewhere, "returned-elsewhere")
    other.close()

    assert the_order(app)["status"] == OrderStatus.FULFILLED
    assert the_order(app)["licences"] == 1 and the_order(app)["emails"] == 1
    # The browser that ordered shows the key on the order page.
    page.goto(f"{live_server}/pedido/{number}/")
    key_on_order_page(page, live_server, screenshots, number)
    ordering.close()
