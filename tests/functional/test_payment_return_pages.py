"""Coming back from a provider, checking the payment from the order page, the amounts each
provider charges at checkout, and the reconcile command, through the test client."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from store.extensions import db
from store.licensing.models import Licence
from store.orders.models import Order, OrderStatus
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.registry import enabled_providers
from tests.fakes.provider import ScriptedProvider

CONFIRMING = "Estamos confirmando tu pago."
CHECK_BUTTON = "Comprobar el pago"


@pytest.fixture
def app(make_app, monkeypatch):
    ScriptedProvider.plug_in(monkeypatch, currency="USD")
    return make_app(STORE_PAYMENT_PROVIDERS="sandbox,scripted",
                    STORE_EXCHANGE_RATES="USD:120.00")


@pytest.fixture
def scripted(app) -> ScriptedProvider:
    with app.app_context():
        return enabled_providers()["scripted"]


@pytest.fixture
def placed(shopper, plans, scripted) -> str:
    """A guest placed an order of the 50.00 CUP plan paying with the scripted provider;
    returns the address the provider sends the buyer back to."""
    shopper.add(plans["generated"])
    response = shopper.check_out(payment_method="scripted")
    assert response.headers["Location"].startswith("https://pay.example/")
    return scripted.started[0].return_url


def _local(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:5000")


def _order(app, number: str) -> tuple[OrderStatus, list[PaymentStatus], int]:
    with app.app_context():
        order = db.session.scalar(sa.select(Order).where(Order.number == number))
        payments = db.session.scalars(
            sa.select(Payment.status).where(Payment.order_id == order.id)
        ).all()
        return order.status, list(payments), db.session.scalar(
            sa.select(sa.func.count()).select_from(Licence)
        )


def test_the_checkout_page_shows_what_each_provider_charges_in_its_currency(
    shopper, plans
):
    shopper.add(plans["generated"])

    html = unescape(shopper.page("/caja/"))

    # 50.00 CUP at 120 CUP per USD is 0.41666… USD, rounded up to the cent.
    assert "Tarjeta internacional (Scripted): 0.42 USD" in html
    assert "Pago de prueba (sandbox): 50.00 CUP" in html
    # The button cannot say one amount: the card charges another.
    assert ">Hacer el pedido y pagar</button>" in html
    assert "muestra su importe al lado, convertido al cambio actual" in html


def shopper_with_a_plan_in_the_cart(app, shopper_for):
    """A new shopper of ``app`` with a 50.00 CUP plan in the cart."""
    from tests.factories import make_product

    with app.app_context():
        product = make_product(plans=[{"name": "1 año", "price_minor": 5000}])
        db.session.commit()
        plan_id = product.plans[0].id
    shopper = shopper_for(app)
    shopper.add(plan_id)
    return shopper


def test_with_every_method_charging_cup_the_buttons_say_the_amount(make_app, shopper_for):
    shopper = shopper_with_a_plan_in_the_cart(make_app(STORE_PAYMENT_PROVIDERS="sandbox"),
                                              shopper_for)

    checkout = unescape(shopper.page("/caja/"))
    shopper.check_out()
    order_page = unescape(shopper.page(f"/pedido/{shopper.last_order()}/"))

    assert ">Hacer el pedido y pagar 50.00 CUP</button>" in checkout
    assert "convertido al cambio actual" not in checkout
    assert ">Pagar 50.00 CUP ahora</button>" in order_page


def test_a_provider_without_an_exchange_rate_is_listed_as_not_available(
    make_app, monkeypatch, shopper_for
):
    ScriptedProvider.plug_in(monkeypatch, currency="EUR")
    app = make_app(STORE_PAYMENT_PROVIDERS="sandbox,scripted", STORE_EXCHANGE_RATES="")
    shopper = shopper_with_a_plan_in_the_cart(app, shopper_for)

    assert "Tarjeta internacional (Scripted) (no disponible ahora)" in unescape(
        shopper.page("/caja/")
    )


def test_a_buyer_back_while_the_provider_confirms_sees_it_and_gets_the_keys_on_checking(
    app, client, placed, scripted, shopper
):
    number = shopper.last_order()
    scripted.answers = ["pending"]

    back = client.get(_local(placed))
    page = unescape(shopper.page(back.headers["Location"]))

    assert back.headers["Location"] == f"/pedido/{number}/"
    assert CONFIRMING in page and CHECK_BUTTON in page
    assert _order(app, number) == (OrderStatus.PENDING_PAYMENT, [PaymentStatus.PENDING], 0)

    scripted.answers = ["approved"]
    checked = client.post(f"/pedido/{number}/volver/scripted")
    page = unescape(shopper.page(checked.headers["Location"]))

    assert CONFIRMING not in page and CHECK_BUTTON not in page
    assert len(shopper.keys_in(page)) == 1
    assert _order(app, number) == (OrderStatus.FULFILLED, [PaymentStatus.APPROVED], 1)
    assert [question for question, _payment in scripted.asked] == ["complete", "complete"]


def test_reloading_the_order_page_never_asks_the_provider(app, client, placed, scripted,
                                                          shopper):
    number = shopper.last_order()
    client.get(_local(placed))

    for _ in range(3):
        assert CONFIRMING in unescape(shopper.page(f"/pedido/{number}/"))

    assert len(scripted.asked) == 1  # the return only; a GET of the page writes nothing


@pytest.mark.parametrize("failure", ["timeout", "error"])
def test_a_provider_failing_on_return_shows_a_spanish_message_and_the_order_stays_payable(
    app, client, placed, scripted, shopper, failure
):
    number = shopper.last_order()
    scripted.answers = [failure]

    page = unescape(shopper.page(client.get(_local(placed)).headers["Location"]))

    assert shopper.flashes_in(page) == [
        "No pudimos comprobar tu pago con Tarjeta internacional (Scripted) ahora mismo. "
        "Inténtalo de nuevo en unos minutos; si no llegaste a pagar, puedes pagar aquí abajo."
    ]
    assert CHECK_BUTTON in page
    # One method charges USD: the button names no amount, each method says its own.
    assert ">Pagar ahora</button>" in page
    assert "Tarjeta internacional (Scripted): 0.42 USD" in page
    assert _order(app, number) == (OrderStatus.PENDING_PAYMENT, [PaymentStatus.PENDING], 0)


def test_a_declined_answer_on_return_shows_the_failed_order_with_its_pay_again_form(
    app, client, placed, scripted, shopper
):
    number = shopper.last_order()
    scripted.answers = ["declined"]

    page = unescape(shopper.page(client.get(_local(placed)).headers["Location"]))

    assert CONFIRMING not in page
    assert ">Volver a pagar</button>" in page
    assert _order(app, number) == (OrderStatus.FAILED, [PaymentStatus.DECLINED], 0)


def test_coming_back_twice_after_the_approval_issues_the_keys_once(
    app, client, placed, scripted, shopper, count
):
    number = shopper.last_order()
    scripted.answers = ["approved", "approved"]

    client.get(_local(placed))
    client.get(_local(placed))

    assert _order(app, number) == (OrderStatus.FULFILLED, [PaymentStatus.APPROVED], 1)
    assert count(ProcessedEvent) == 1
    assert len(scripted.asked) == 1  # nothing was pending the second time


def _main(html: str) -> str:
    return html[html.index("<main"):html.index("</main>")]


def test_a_buyer_back_in_another_browser_gets_the_keys_by_email_and_sees_nothing_of_the_order(
    app, placed, scripted, shopper, count
):
    from store.mail.models import OutboxMessage

    number = shopper.last_order()
    scripted.answers = ["approved"]
    other_browser = app.test_client()  # no session: it never saw the order

    back = other_browser.get(_local(placed))
    unknown = other_browser.get("/pedido/SV-0000000/volver/scripted")

    assert back.status_code == unknown.status_code == 200
    page = unescape(back.get_data(as_text=True))
    assert CONFIRMING in page and "abre el enlace de ese correo" in page
    assert number not in _main(page) and "50.00" not in page  # nothing of the order shows
    assert _main(page) == _main(unescape(unknown.get_data(as_text=True)))
    assert _order(app, number) == (OrderStatus.FULFILLED, [PaymentStatus.APPROVED], 1)
    assert count(OutboxMessage, OutboxMessage.kind == "order_delivery") == 1


def test_a_provider_failing_for_a_buyer_back_in_another_browser_changes_nothing(
    app, placed, scripted, shopper
):
    number = shopper.last_order()
    scripted.answers = ["timeout"]

    back = app.test_client().get(_local(placed))

    assert back.status_code == 200 and CONFIRMING in unescape(back.get_data(as_text=True))
    assert _order(app, number) == (OrderStatus.PENDING_PAYMENT, [PaymentStatus.PENDING], 0)


def test_coming_back_from_a_provider_that_is_not_enabled_is_not_found(app, placed, shopper):
    number = shopper.last_order()

    assert app.test_client().get(f"/pedido/{number}/volver/nope").status_code == 404
    assert shopper.client.get(f"/pedido/{number}/volver/nope").status_code == 404


def test_checking_the_payment_needs_a_csrf_token(csrf_app, shopper_for, till_for, count):
    order_id, _reference = till_for(csrf_app).check_out_generated()
    with csrf_app.app_context():
        number = db.session.get(Order, order_id).number
    shopper = shopper_for(csrf_app)
    with shopper.client.session_transaction() as session:
        session["orders"] = [number]  # the buyer's session

    refused = shopper.client.post(f"/pedido/{number}/volver/sandbox")
    page = shopper.page(f"/pedido/{number}/")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    checked = shopper.client.post(f"/pedido/{number}/volver/sandbox", data={"csrf_token": token})

    assert refused.status_code == 400
    assert checked.status_code == 302 and checked.headers["Location"] == f"/pedido/{number}/"


def test_the_reconcile_command_settles_stale_payments_and_reports_them(
    app, placed, scripted, shopper
):
    number = shopper.last_order()
    scripted.answers = ["approved"]

    result = app.test_cli_runner().invoke(
        args=["store", "reconcile-payments", "--older-than", "0s"]
    )

    assert result.exit_code == 0, result.output
    assert "Pagos consultados: 1; resueltos: 1; aún pendientes: 0" in result.output
    assert _order(app, number) == (OrderStatus.FULFILLED, [PaymentStatus.APPROVED], 1)


def test_the_reconcile_command_fails_when_a_provider_did_not_answer(app, placed, scripted):
    scripted.answers = ["timeout"]

    result = app.test_cli_runner().invoke(
        args=["store", "reconcile-payments", "--older-than", "0s"]
    )

    assert result.exit_code == 1
    assert "No se pudieron comprobar 1 pagos" in result.output


@pytest.mark.parametrize("junk", [
    "15", "m", "15 minutes", "-5m", "1.5h", "١٥m", "9999999s", "99999d",  # too long ago
])
def test_the_reconcile_command_refuses_a_duration_it_cannot_read(app, junk):
    result = app.test_cli_runner().invoke(
        args=["store", "reconcile-payments", "--older-than", junk]
    )

    assert result.exit_code == 2
    assert "no es una duración: escribe un número y una unidad" in result.output


@pytest.mark.parametrize("written", ["30s", "15m", "2h", "1d", " 15M "])
def test_the_reconcile_command_reads_durations_in_seconds_minutes_hours_and_days(app, written):
    result = app.test_cli_runner().invoke(
        args=["store", "reconcile-payments", "--older-than", written]
    )

    assert result.exit_code == 0, result.output
    assert "Pagos consultados: 0" in result.output
