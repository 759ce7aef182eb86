"""No dead end after a payment: paying again, the cart and header pointing at unpaid
orders, and what a paid order's page offers (keys to copy and download, a receipt)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState
from store.orders.models import Order, OrderStatus
from store.payments.models import Payment
from tests.conftest import GATEWAY, Shopper



def declined_order(shopper, plan_id, quantity=1) -> str:
    """Buy and decline on the gateway; return the order number."""
    shopper.buy(plan_id, quantity, decision="declined")
    return shopper.last_order()


def test_a_declined_order_offers_to_pay_again_and_paying_reopens_it(
    app, shopper, plans, count
):
    number = declined_order(shopper, plans["pool"])
    html = shopper.page(f"/pedido/{number}/")

    again = shopper.client.post(f"/pedido/{number}/pagar", data={"method": "sandbox"})

    assert "El pago fue rechazado" in html and "Volver a pagar 150.00 CUP" in html
    assert again.headers["Location"].startswith(GATEWAY)
    with app.app_context():
        assert db.session.scalar(sa.select(Order.status)) == OrderStatus.PENDING_PAYMENT
    assert count(Payment) == 2
    assert count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 1
    approved = shopper.answer_gateway(again.headers["Location"])
    assert len(Shopper.keys_in(shopper.page(approved.headers["Location"]))) == 1


def test_paying_again_when_the_price_changed_says_so_and_changes_nothing(
    app, shopper, plans, count
):
    number = declined_order(shopper, plans["generated"])
    with app.app_context():
        db.session.execute(sa.text("UPDATE plan SET price_minor = 6000"))
        db.session.commit()

    response = shopper.client.post(f"/pedido/{number}/pagar", data={"method": "sandbox"})

    assert response.headers["Location"] == f"/pedido/{number}/"
    assert shopper.flashes(path=f"/pedido/{number}/") == [
        "Un plan de este pedido cambió o ya no está a la venta. Vuelve a poner el pedido en "
        "el carrito para ver los precios de hoy."
    ]
    with app.app_context():
        assert db.session.scalar(sa.select(Order.status)) == OrderStatus.FAILED
    assert count(Payment) == 1


def test_a_declined_order_goes_back_to_the_cart_at_todays_prices_and_is_cancelled(
    app, shopper, plans, count
):
    number = declined_order(shopper, plans["generated"], 3)
    with app.app_context():
        db.session.execute(sa.text("UPDATE plan SET price_minor = 6000"))
        db.session.commit()

    response = shopper.client.post(f"/carrito/desde-pedido/{number}")

    assert response.headers["Location"] == "/carrito/"
    assert shopper.session()["cart"] == {str(plans["generated"]): {"q": 3, "p": 6000}}
    assert shopper.flashes("success") == [
        f"Cancelamos el pedido {number}: cambia aquí sus planes y vuelve a pagar.",
        f"Los planes del pedido {number} están en tu carrito, con los precios de hoy.",
    ]
    with app.app_context():
        assert db.session.scalar(sa.select(Order.status)) == OrderStatus.CANCELLED
    # It cannot be paid beside the new order its plans went into.
    again = shopper.client.post(f"/pedido/{number}/pagar", data={"method": "sandbox"})
    assert again.headers["Location"] == f"/pedido/{number}/" and count(Payment) == 1


def test_a_pending_order_changed_in_the_cart_frees_its_keys_and_leaves_the_header(
    app, shopper, plans, count
):
    number, _gateway = shopper.place_unpaid(plans["pool"])
    assert "Cambiar el pedido en mi carrito" in shopper.page(f"/pedido/{number}/")

    shopper.client.post(f"/carrito/desde-pedido/{number}")

    assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 2
    assert shopper.session()["cart"] == {str(plans["pool"]): {"q": 1, "p": 15000}}
    assert "pending-link" not in shopper.page("/carrito/")


def test_a_paid_order_put_back_in_the_cart_stays_paid(app, shopper, plans):
    shopper.buy(plans["generated"])
    number = shopper.last_order()

    shopper.client.post(f"/carrito/desde-pedido/{number}")

    with app.app_context():
        assert db.session.scalar(sa.select(Order.status)) == OrderStatus.FULFILLED
    assert shopper.session()["cart"] == {str(plans["generated"]): {"q": 1, "p": 5000}}


def test_a_quantity_past_the_cart_limit_is_cut_and_the_buyer_is_told(app, shopper, plans):
    number = declined_order(shopper, plans["generated"], 30)
    shopper.add(plans["generated"], 30)

    shopper.client.post(f"/carrito/desde-pedido/{number}")

    assert shopper.session()["cart"] == {str(plans["generated"]): {"q": 50, "p": 5000}}
    assert shopper.flashes() == ["Almiquí Hogar — 1 año · 1 PC: tu carrito admite como máximo 50."]


def test_a_plan_no_longer_on_sale_stays_out_of_the_cart_and_the_buyer_is_told(
    app, shopper, plans
):
    number = declined_order(shopper, plans["generated"])
    with app.app_context():
        db.session.execute(sa.text("UPDATE plan SET is_active = false"))
        db.session.commit()

    shopper.client.post(f"/carrito/desde-pedido/{number}")

    assert shopper.session()["cart"] == {}
    assert shopper.flashes() == [
        "No se pudo añadir Almiquí Hogar — 1 año · 1 PC: ya no está a la venta o tu "
        "carrito está lleno."
    ]


def test_another_session_cannot_put_an_order_in_its_cart(app, shopper, stranger, plans):
    number = declined_order(shopper, plans["generated"])

    response = stranger.client.post(f"/carrito/desde-pedido/{number}")

    assert response.status_code == 404 and stranger.session().get("cart", {}) == {}


def test_back_from_the_gateway_the_cart_and_the_header_point_at_the_pending_order(
    shopper, plans
):
    shopper.add(plans["generated"])
    shopper.check_out()  # the buyer leaves the gateway with Back
    number = shopper.last_order()

    html = shopper.page("/carrito/")

    assert "Tu carrito está vacío." in html
    assert f'<a href="/pedido/{number}/">Pedido {number}</a>' in html
    assert "esperando tu pago" in html
    assert f'<a class="pending-link" href="/pedido/{number}/">Pedido por pagar</a>' in html


def test_the_header_stops_pointing_at_an_order_once_it_is_paid(shopper, plans):
    order_page = shopper.buy(plans["generated"])

    html = shopper.page(order_page)

    assert "pending-link" not in html
    assert "Pedidos que te esperan" not in shopper.page("/carrito/")


def test_a_paid_order_page_has_copy_buttons_a_download_and_a_receipt(shopper, plans):
    order_page = shopper.buy(plans["generated"], 2)

    html = shopper.page(order_page)

    keys = Shopper.keys_in(html)
    assert len(keys) == 2
    # Each group is unbreakable, the whole key is selected with one tap, and the copy
    # buttons stay hidden until the store's script shows them.
    first_groups = "-<wbr>".join(f"<span>{group}</span>" for group in keys[0].split("-"))
    assert first_groups in html
    assert html.count('class="secondary copy-key"') == 2
    assert f'data-copied="¡Copiada!" aria-describedby="key-1-' in html and '" hidden>Copiar' in html
    assert "Toca una clave una vez para seleccionarla entera" in html
    assert re.search(r'<script src="/static/js/store\.js[^"]*" defer></script>', html)
    assert f'href="{order_page}claves.txt" download' in html
    assert "Imprimir el recibo" in html
    assert "Pago de prueba (sandbox)" in html and "ana@example.com" in html
    assert "Calle 23 n.º 1000, Vedado, La Habana" in html  # the store's details


def test_the_keys_download_is_a_private_text_file_for_the_buyer_only(
    shopper, stranger, plans
):
    order_page = shopper.buy(plans["generated"], 2)
    keys = Shopper.keys_in(shopper.page(order_page))
    number = shopper.last_order()

    response = shopper.client.get(f"/pedido/{number}/claves.txt")
    theirs = stranger.client.get(f"/pedido/{number}/claves.txt")

    text = response.get_data(as_text=True)
    assert response.mimetype == "text/plain" and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=claves-{number}.txt"
    )
    assert all(key in text.splitlines() or f"{key}  (" in text for key in keys)
    assert f"Pedido {number}" in text and "Almiquí Hogar — 1 año · 1 PC" in text
    assert theirs.status_code == 404


def test_the_emailed_keys_link_opens_for_its_token_then_drops_it(app, shopper_for, shopper, plans):
    shopper.buy(plans["generated"])
    number = shopper.last_order()
    with app.app_context():
        from store.orders.services import keys_file_link

        link = keys_file_link(db.session.scalar(sa.select(Order)))
    elsewhere = shopper_for(app)

    first = elsewhere.client.get(link.removeprefix("http://127.0.0.1:5000"))

    assert first.headers["Location"] == f"/pedido/{number}/claves.txt"
    assert elsewhere.client.get(first.headers["Location"]).status_code == 200


def test_the_header_hides_the_pending_order_rather_than_the_page_when_the_database_fails(
    shopper, plans, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from store.orders import views

    shopper.place_unpaid(plans["generated"])

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(views, "unpaid_orders", unreachable)
    response = shopper.client.get("/terminos")

    assert response.status_code == 200 and "pending-link" not in response.get_data(as_text=True)


def test_the_pending_order_page_says_until_when_in_words(shopper, plans):
    shopper.add(plans["generated"])
    shopper.check_out()

    html = shopper.page(f"/pedido/{shopper.last_order()}/")

    assert re.search(
        r"Guardamos el pedido hasta las? \d{1,2}:\d\d del \d{1,2} de [a-z]+ de \d{4}\.", html
    )


def test_the_hour_takes_its_spanish_article(app, shopper, plans):
    from datetime import datetime, timezone

    number, _gateway = shopper.place_unpaid(plans["generated"])
    pages = {}
    for utc_hour in (6, 19):  # 1:05 and 14:05 in Havana (UTC-5 in January)
        with app.app_context():
            order = db.session.scalar(sa.select(Order))
            order.expires_at = datetime(2030, 1, 15, utc_hour, 5, tzinfo=timezone.utc)
            db.session.commit()
        pages[utc_hour] = shopper.page(f"/pedido/{number}/")

    assert "Guardamos el pedido hasta la 1:05 del 15 de enero de 2030." in pages[6]
    assert "Guardamos el pedido hasta las 14:05 del 15 de enero de 2030." in pages[19]
