"""The order page while payment is pending, after expiry, and around the sandbox gateway."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState
from store.orders.models import Order, OrderStatus
from store.payments.gateway import enabled_providers
from store.payments.models import Payment
from tests.functional.test_checkout_pages import (  # noqa: F401 - fixtures
    BUYER,
    KEY,
    add,
    app,
    count,
    place,
    plans,
)


def pending_order(client, plan_id: int) -> tuple[str, str]:
    """Check out without answering the gateway; return (order number, gateway address)."""
    add(client, plan_id)
    gateway = place(client).headers["Location"]
    page = client.get(gateway).get_data(as_text=True)
    return re.search(r"Pedido (A-[0-9A-Z-]+)", page)[1], gateway


def test_a_pending_order_says_so_and_paying_again_resumes_the_same_payment(app, client, plans):
    number, gateway = pending_order(client, plans["generated"])

    html = client.get(f"/pedido/{number}/").get_data(as_text=True)
    again = client.post(f"/pedido/{number}/pagar", data={"method": "sandbox"})

    assert "Esperando tu pago" in html and "Pagar 50.00 CUP ahora" in html
    assert again.headers["Location"] == gateway
    assert count(app, Payment) == 1


def test_an_overdue_order_expires_when_its_page_is_opened_and_frees_its_keys(app, client, plans):
    number, _gateway = pending_order(client, plans["pool"])
    with app.app_context():
        db.session.scalar(sa.select(Order)).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()

    html = client.get(f"/pedido/{number}/").get_data(as_text=True)

    assert "El plazo para pagar terminó sin recibir el pago" in html
    assert "Pagar" not in re.sub(r"<header.*?</header>", "", html, flags=re.S)
    with app.app_context():
        assert db.session.scalar(sa.select(Order.status)) == OrderStatus.EXPIRED
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(PoolKey)
            .where(PoolKey.state == PoolKeyState.AVAILABLE)
        ) == 2


def test_a_paid_notification_over_http_after_expiry_still_delivers_the_keys(app, client, plans):
    number, gateway = pending_order(client, plans["pool"])
    with app.app_context():
        db.session.scalar(sa.select(Order)).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    client.get(f"/pedido/{number}/")  # expires it, releasing the reserved key
    with app.test_request_context():
        payment = db.session.scalar(sa.select(Payment))
        body, headers = enabled_providers()["sandbox"].notification(
            event_id="evt-late", reference=payment.reference, outcome="approved",
            amount=payment.amount,
        )

    response = client.post("/api/pagos/notificacion/sandbox", data=body, headers=headers,
                           content_type="application/json")

    assert response.status_code == 200 and response.json == {"status": "fulfilled"}
    assert len(KEY.findall(client.get(f"/pedido/{number}/").get_data(as_text=True))) == 1


def test_someone_else_answering_the_gateway_is_sent_to_a_page_they_cannot_open(
    app, client, plans
):
    number, gateway = pending_order(client, plans["generated"])
    client.post(gateway, data={"decision": "approved"})
    stranger = app.test_client()

    replay = stranger.post(gateway, data={"decision": "approved"})

    assert replay.headers["Location"] == f"/pedido/{number}/"
    assert stranger.get(replay.headers["Location"]).status_code == 404


def test_a_checkout_form_from_another_cart_places_nothing(app, client, plans):
    add(client, plans["generated"])
    client.get("/caja/")

    response = client.post("/caja/", data={**BUYER, "checkout_token": "x" * 32})

    assert response.headers["Location"] == "/caja/"
    assert count(app, Order) == 0
    assert "Tu carrito cambió mientras pagabas" in client.get("/caja/").get_data(as_text=True)


def test_a_nul_byte_in_the_checkout_form_is_refused_with_a_400(app, client, plans):
    add(client, plans["generated"])
    response = place(client, full_name="Ana\x00Pérez")
    assert response.status_code == 400
    assert count(app, Order) == 0


def test_by_default_development_writes_emails_as_files_under_instance_mail(make_app, tmp_path):
    app = make_app()
    with app.app_context():
        from store.mail.services import get_transport

        assert get_transport().folder == tmp_path / "instance" / "mail"
