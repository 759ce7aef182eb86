"""The order page while payment is pending, after expiry, and around the sandbox gateway."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState
from store.orders.models import Order, OrderStatus
from store.orders.services import expire_orders
from store.payments.models import Payment
from store.payments.registry import enabled_providers
from tests.conftest import Shopper


def overdue(app) -> None:
    with app.app_context():
        db.session.scalar(sa.select(Order)).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def test_a_pending_order_says_so_and_paying_again_resumes_the_same_payment(
    shopper, plans, count
):
    number, gateway = shopper.place_unpaid(plans["generated"])

    html = shopper.page(f"/pedido/{number}/")
    again = shopper.client.post(f"/pedido/{number}/pagar", data={"method": "sandbox"})

    assert "Esperando tu pago" in html and "Pagar 50.00 CUP ahora" in html
    assert again.headers["Location"] == gateway
    assert count(Payment) == 1


def test_an_overdue_order_reads_as_expired_and_the_sweep_frees_its_keys(
    app, shopper, plans, count
):
    number, _gateway = shopper.place_unpaid(plans["pool"])
    overdue(app)

    html = shopper.page(f"/pedido/{number}/")
    with app.app_context():
        status_after_viewing = db.session.scalar(sa.select(Order.status))
        expired = expire_orders()

    assert "El plazo para pagar terminó sin recibir el pago" in html
    # The buyer may take it up again: pay again, or put the plans back in the cart.
    assert "Volver a pagar 150.00 CUP" in html and "Cambiar el pedido en mi carrito" in html
    assert "Pedido por pagar" not in html  # the header no longer points at it
    # Opening the page writes nothing: the scheduled sweep expires the order.
    assert status_after_viewing == OrderStatus.PENDING_PAYMENT
    assert expired == 1
    with app.app_context():
        assert db.session.scalar(sa.select(Order.status)) == OrderStatus.EXPIRED
    assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 2


def test_a_paid_notification_over_http_after_expiry_still_delivers_the_keys(
    app, client, shopper, plans
):
    number, gateway = shopper.place_unpaid(plans["pool"])
    overdue(app)
    with app.app_context():
        expire_orders()  # releases the reserved key
        payment = db.session.scalar(sa.select(Payment))
        body, headers = enabled_providers()["sandbox"].notification(
            event_id="evt-late", reference=payment.reference, outcome="approved",
            amount=payment.amount,
        )

    response = client.post("/api/pagos/notificacion/sandbox", data=body, headers=headers,
                           content_type="application/json")

    assert response.status_code == 200 and response.json == {"status": "fulfilled"}
    assert len(Shopper.keys_in(client.get(f"/pedido/{number}/").get_data(as_text=True))) == 1


def test_someone_else_answering_the_gateway_is_sent_to_a_page_they_cannot_open(
    shopper, stranger, plans
):
    number, gateway = shopper.place_unpaid(plans["generated"])
    shopper.answer_gateway(gateway)

    replay = stranger.answer_gateway(gateway)

    assert replay.headers["Location"] == f"/pedido/{number}/"
    assert stranger.client.get(replay.headers["Location"]).status_code == 404


def test_a_checkout_form_from_another_cart_places_nothing(shopper, plans, count):
    shopper.add(plans["generated"])
    shopper.client.get("/caja/")

    response = shopper.check_out(checkout_token="x" * 32)

    assert response.headers["Location"] == "/caja/"
    assert count(Order) == 0
    assert "Tu carrito cambió mientras pagabas" in shopper.page("/caja/")


def test_a_nul_byte_in_the_checkout_form_is_refused_with_a_400(shopper, plans, count):
    shopper.add(plans["generated"])
    response = shopper.check_out(full_name="Ana\x00Pérez")
    assert response.status_code == 400
    assert count(Order) == 0


def test_by_default_development_writes_emails_as_files_under_instance_mail(make_app, tmp_path):
    app = make_app()
    with app.app_context():
        from store.mail.services import get_transport

        assert get_transport().folder == tmp_path / "instance" / "mail"
