"""Checkout, the sandbox gateway and the order page through the test client."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from html import unescape

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment
from store.extensions import db
from store.licensing.models import Licence, PoolKey, PoolKeyState
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.money import Money
from store.orders.models import Order, OrderStatus
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from tests.conftest import GATEWAY, Shopper
from tests.factories import make_product



def delivered(app) -> list:
    with app.app_context():
        send_pending()
    return app.extensions["store_mail_transport"].sent


def plain_text(email) -> str:
    return email.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "ana@", "Escribe un correo válido, como ana@example.com."),
        ("email", "ana example.com", "Escribe un correo válido, como ana@example.com."),
        ("email", None, "Escribe tu correo electrónico."),
        ("full_name", None, "Escribe tu nombre."),
        ("full_name", "   ", "Escribe tu nombre."),
        ("phone", "llámame", "Usa solo cifras, espacios y + ( ) -."),
        ("accept_terms", None, "Acepta las condiciones de venta para continuar."),
        ("payment_method", "paypal", "Opción inválida."),
        ("payment_method", None, "Elige cómo pagar."),
    ],
)
def test_an_incomplete_checkout_form_is_shown_again_with_the_error_and_places_no_order(
    app, client, plans, field, value, message, shopper, count
):
    shopper.add(plans["generated"])

    response = shopper.check_out(**{field: value})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="field-error">{message}</p>' in unescape(html)
    # A summary on top links to the field, which names its error for screen readers.
    anchor = f"{field}-0" if field == "payment_method" else field
    assert f'<a href="#{anchor}">' in html and "<title>Error: Caja" in html
    assert re.search(rf'aria-describedby="[^"]*\b{field}-error"', html)
    assert "Hacer el pedido y pagar 50.00 CUP" in html
    assert count(Order) == 0
    with client.session_transaction() as session:
        assert session["cart"] == {str(plans["generated"]): {"q": 1, "p": 5000}}


def test_a_guest_pays_on_the_sandbox_and_gets_the_keys_on_screen_and_by_email(
    app, client, plans, shopper
):
    shopper.add(plans["generated"], 2)
    gateway = shopper.check_out().headers["Location"]
    gateway_html = client.get(gateway).get_data(as_text=True)
    approved = client.post(gateway, data={"decision": "approved"})
    order_html = client.get(approved.headers["Location"]).get_data(as_text=True)

    with app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        number, status, total = order.number, order.status, order.total_minor
        queued = db.session.scalars(sa.select(OutboxMessage.kind)).all()
    keys = Shopper.keys_in(order_html)
    emails = delivered(app)

    assert gateway.startswith(GATEWAY)
    assert "PASARELA DE PAGO DE PRUEBA" in gateway_html and f"Pedido {number}" in gateway_html
    assert '<p class="amount"><span class="price">100.00 CUP</span></p>' in gateway_html
    # The gateway sends the buyer back without the access token: their session opens the page.
    assert approved.headers["Location"] == f"/pedido/{number}/"
    assert status == OrderStatus.FULFILLED and total == 10000
    assert "Pagado. Tus claves de licencia están abajo; también las enviamos a ana@example.com." \
        in order_html
    assert len(keys) == 2 and len(set(keys)) == 2
    assert queued == ["order_delivery"]
    assert len(emails) == 1 and emails[0]["To"] == "ana@example.com"
    assert emails[0]["Subject"] == f"Tus licencias – pedido {number}"
    assert all(key in plain_text(emails[0]) for key in keys)
    assert "Total pagado: 100.00 CUP" in plain_text(emails[0])
    assert "Forma de pago: Pago de prueba (sandbox)" in plain_text(emails[0])
    with client.session_transaction() as session:
        assert session["cart"] == {}


def test_a_declined_payment_fails_the_order_and_returns_its_pool_keys(
    app, client, plans, shopper, count
):
    shopper.add(plans["pool"])
    gateway = shopper.check_out().headers["Location"]
    with app.app_context():
        states = db.session.scalars(sa.select(PoolKey.state).order_by(PoolKey.id)).all()
    assert states == [PoolKeyState.RESERVED, PoolKeyState.AVAILABLE]

    page = client.get(client.post(gateway, data={"decision": "declined"}).headers["Location"])

    html = page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(Order.status)).one() == OrderStatus.FAILED
        assert db.session.scalars(sa.select(Payment.status)).one() == PaymentStatus.DECLINED
        keys = db.session.scalars(sa.select(PoolKey)).all()
        assert all(k.state == PoolKeyState.AVAILABLE and k.order_line_id is None for k in keys)
    assert "El pago fue rechazado. No se cobró nada." in html and Shopper.keys_in(html) == []
    assert count(Licence) == 0 and count(OutboxMessage) == 0


def test_submitting_the_same_checkout_twice_places_one_order(app, client, plans, shopper, count):
    shopper.add(plans["generated"])
    data = {**shopper.BUYER, "checkout_token": shopper.checkout_token()}

    first = client.post("/caja/", data=data)
    second = client.post("/caja/", data=data)

    assert first.headers["Location"].startswith(GATEWAY)
    assert second.status_code == 302
    assert count(Order) == 1 and count(Payment) == 1


def test_a_repeated_checkout_submission_leads_to_the_order_it_placed(app, client, plans, shopper):
    shopper.add(plans["generated"])
    data = {**shopper.BUYER, "checkout_token": shopper.checkout_token()}
    client.post("/caja/", data=data)

    second = client.post("/caja/", data=data)

    with app.app_context():
        number = db.session.scalars(sa.select(Order.number)).one()
    assert second.headers["Location"].startswith(f"/pedido/{number}/")


@pytest.fixture
def paid_order(app, client, plans, shopper) -> dict:
    """A fulfilled order of the ``client`` session, its keys and the link from its email."""
    page = shopper.buy(plans["generated"])
    number = re.search(r"/pedido/([^/]+)/", page)[1]
    # The order page's link (the email also links each licence file under the order).
    link = re.search(r"http://127\.0\.0\.1:5000(/pedido/[^/\s]+/\?t=\S+)",
                     plain_text(delivered(app)[0]))[1]
    other_token = secrets.token_hex(20)  # well formed, but no order's token
    keys = Shopper.keys_in(client.get(page).get_data(as_text=True))
    assert len(keys) == 1
    return {"number": number, "link": link, "keys": keys, "other_token": other_token}


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("buyer", "/pedido/{number}/", 200),
        ("buyer", "/pedido/{number}/?t=an-old-token", 200),
        ("stranger", "{link}", 200),
        ("stranger", "/pedido/{number}/", 404),
        ("stranger", "/pedido/{number}/?t=", 404),
        ("stranger", "/pedido/{number}/?t=wrong-token", 404),
        ("stranger", "/pedido/{number}/?t={other_token}", 404),
        ("stranger", "/pedido/A-0000-0000/?t={other_token}", 404),
        ("stranger", "/pedido/{number}/?t=%C3%B1", 404),
    ],
    ids=["buyer-session", "buyer-with-an-old-link", "emailed-link", "no-token", "empty-token",
         "wrong-token", "foreign-token", "unknown-number", "non-ascii-token"],
)
def test_the_order_page_opens_only_for_its_buyer_or_the_emailed_link(
    app, client, paid_order, who, path, status
):
    visitor = client if who == "buyer" else app.test_client()

    response = visitor.get(path.format(**paid_order), follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert (paid_order["keys"][0] in Shopper.keys_in(html)) is (status == 200)
    if status == 404:
        assert "Página no encontrada" in html and f"Pedido {paid_order['number']}" not in html


@pytest.mark.parametrize("token", ["", "wrong-token", "ñ"])
def test_a_stranger_cannot_start_a_payment_for_someone_elses_order(
    paid_order, token, count, stranger
):
    response = stranger.client.post(
        f"/pedido/{paid_order['number']}/pagar", data={"token": token, "method": "sandbox"}
    )
    assert response.status_code == 404
    assert count(Payment) == 1


def test_the_order_page_is_never_stored_by_caches(client, paid_order):
    link = client.get(paid_order["link"])
    response = client.get(link.headers["Location"])

    assert link.status_code == 302 and link.headers["Cache-Control"] == "no-store"
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_emailed_link_opens_the_order_once_then_the_session_keeps_it(
    app, paid_order, stranger, shopper_for
):
    clean = f"/pedido/{paid_order['number']}/"

    opened = stranger.client.get(paid_order["link"])
    again = stranger.client.get(clean)
    elsewhere = shopper_for(app).client.get(paid_order["link"])

    # The token is in one request only: the browser moves on to the address without it.
    assert paid_order["link"].startswith(clean + "?t=")
    assert opened.status_code == 302 and opened.headers["Location"] == clean
    assert again.status_code == 200 and paid_order["keys"][0] in Shopper.keys_in(again.get_data(as_text=True))
    assert paid_order["number"] in stranger.session()["orders"]
    # The link keeps working from any browser until the token is replaced.
    assert elsewhere.status_code == 302 and elsewhere.headers["Location"] == clean


def test_posted_prices_and_totals_are_ignored_at_checkout(app, client, plans, shopper):
    shopper.add(plans["generated"], 3)

    response = shopper.check_out(price_minor="1", unit_price_minor="1", total="0.01",
                     total_minor="1", amount_minor="1", currency="USD")

    gateway_html = client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        assert (order.total_minor, order.currency) == (15000, "CUP")
        assert [(l.quantity, l.unit_price_minor) for l in order.lines] == [(3, 5000)]
        assert db.session.scalars(sa.select(Payment.amount_minor)).one() == 15000
    assert "150.00 CUP" in gateway_html


def test_checkout_of_a_sold_out_pool_plan_names_it_and_places_nothing(app, client, shopper, count):
    with app.app_context():
        product = make_product(plans=[{"name": "Servidor agotado", "fulfilment": Fulfilment.POOL}])
        db.session.commit()
        plan_id = product.plans[0].id
    shopper.add(plan_id)

    response = shopper.check_out()

    assert response.status_code == 302 and response.headers["Location"] == "/carrito/"
    assert shopper.flashes() == ["Solo quedan 0 licencias de «Servidor agotado»; pediste 1."]
    assert count(Order) == 0 and count(Payment) == 0
    with client.session_transaction() as session:
        assert session["cart"] == {str(plan_id): {"q": 1, "p": 5000}}


def test_a_correctly_signed_notification_fulfils_the_order_once(app, client, plans, shopper, count):
    shopper.add(plans["generated"])
    reference = shopper.check_out().headers["Location"].rsplit("/", 1)[1]
    sandbox = app.extensions["store_payment_providers"]["sandbox"]
    body, headers = sandbox.notification(
        event_id="evt-1", reference=reference, outcome="approved", amount=Money(5000, "CUP")
    )

    first = client.post("/api/pagos/notificacion/sandbox", data=body, headers=headers)
    again = client.post("/api/pagos/notificacion/sandbox", data=body, headers=headers)

    assert first.get_json() == {"status": "fulfilled"}
    assert again.get_json() == {"status": "duplicate"}
    with app.app_context():
        assert db.session.scalars(sa.select(Order.status)).one() == OrderStatus.FULFILLED
    assert count(Licence) == 1 and count(ProcessedEvent) == 1
    assert len(delivered(app)) == 1


def _wrong_secret(body: bytes) -> tuple[bytes, dict]:
    return body, {"X-Sandbox-Signature": hmac.new(b"guess", body, hashlib.sha256).hexdigest()}


def _amount_changed(body: bytes, headers: dict) -> tuple[bytes, dict]:
    return body.replace(b'"amount_minor": 5000', b'"amount_minor": 1'), headers


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers: (body, {}),
        lambda body, headers: (body, {"X-Sandbox-Signature": "0" * 64}),
        lambda body, headers: _wrong_secret(body),
        _amount_changed,
    ],
    ids=["no-signature", "junk-signature", "wrong-secret", "body-changed-after-signing"],
)
def test_a_notification_with_a_bad_signature_is_refused_and_changes_nothing(
    app, client, plans, tamper, shopper, count
):
    shopper.add(plans["generated"])
    reference = shopper.check_out().headers["Location"].rsplit("/", 1)[1]
    sandbox = app.extensions["store_payment_providers"]["sandbox"]
    body, headers = tamper(*sandbox.notification(
        event_id="evt-1", reference=reference, outcome="approved", amount=Money(5000, "CUP")
    ))

    response = client.post("/api/pagos/notificacion/sandbox", data=body, headers=headers)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {
        "type": "about:blank", "status": 400, "code": "BAD_REQUEST",
        "title": "Se rechazó la notificación de pago", "detail": "Firma incorrecta.",
    }
    with app.app_context():
        assert db.session.scalars(sa.select(Order.status)).one() == OrderStatus.PENDING_PAYMENT
        assert db.session.scalars(sa.select(Payment.status)).one() == PaymentStatus.PENDING
    assert count(ProcessedEvent) == 0 and count(Licence) == 0
    assert count(OutboxMessage) == 0


def test_placing_an_order_needs_a_csrf_token(csrf_app, count, shopper_for):
    with csrf_app.app_context():
        product = make_product()
        db.session.commit()
        plan_id = product.plans[0].id
    shopper = shopper_for(csrf_app)
    with shopper.client.session_transaction() as session:
        session["cart"] = {str(plan_id): {"q": 1, "p": 5000}}

    response = shopper.client.post("/caja/", data={**shopper.BUYER, "checkout_token": "t" * 32})

    assert response.status_code == 400
    assert count(Order) == 0


def attributes(html: str, element_id: str) -> dict[str, str]:
    """The attributes of the element with ``id=element_id`` on the page."""
    tag = re.search(rf'<(?:input|fieldset)\b[^>]*\bid="{element_id}"[^>]*>', html)[0]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def test_each_error_is_tied_to_its_field_for_screen_readers(shopper, plans):
    shopper.add(plans["generated"])

    html = shopper.check_out(email="ana@", payment_method=None, accept_terms=None,
                             full_name="Ana").get_data(as_text=True)

    email, terms = attributes(html, "email"), attributes(html, "accept_terms")
    assert email["aria-describedby"] == "email-help email-error"
    assert email["aria-invalid"] == "true"
    assert terms["aria-describedby"] == "accept_terms-help accept_terms-error"
    assert 'aria-describedby="payment_method-error"' in html
    for field in ("email", "payment_method", "accept_terms"):
        assert f'<div class="field-errors" id="{field}-error">' in html
    assert "aria-invalid" not in attributes(html, "full_name")


def test_an_error_message_is_announced_as_an_alert_and_good_news_as_a_status(shopper, plans):
    shopper.add(plans["generated"])
    added = shopper.page("/carrito/")
    shopper.add(plans["generated"], 0)
    refused = shopper.page("/carrito/")

    assert '<p class="flash flash-success" role="status">Añadido a tu carrito.</p>' in added
    assert '<p class="flash flash-error" role="alert">' in refused


def test_a_line_title_is_escaped_on_pages_and_left_plain_in_the_text_email(app, shopper):
    with app.app_context():
        product = make_product(name="Hogar & Oficina <Plus>", plans=[{"name": "1 año"}])
        db.session.commit()
        plan_id = product.plans[0].id

    order_page = shopper.page(shopper.buy(plan_id, 2))
    email = delivered(app)[0]

    assert "2 × Hogar &amp; Oficina &lt;Plus&gt; — 1 año" in order_page
    assert "2 × Hogar & Oficina <Plus> — 1 año" in plain_text(email)
    assert "2 × Hogar &amp; Oficina &lt;Plus&gt; — 1 año" in email.get_body(("html",)).get_content()


def test_the_delivery_email_names_the_store_the_date_the_method_and_each_key_in_bold(
    app, plans, shopper
):
    order_page = shopper.buy(plans["generated"], 2)
    keys = Shopper.keys_in(shopper.page(order_page))

    email = delivered(app)[0]

    html = email.get_body(preferencelist=("html",)).get_content()
    text = plain_text(email)
    for part in (html, text):
        assert "Tienda Almiquí" in part and "ayuda@tienda-almiqui.example" in part
        assert "+53 7 555 0100" in part and "Forma de pago" in part and "Fecha" in part
    assert all(f'<strong style="font-family: monospace; font-size: 1.15em">{key}</strong>'
               in html for key in keys)
    assert all(f"\n    {key}\n" in text for key in keys)  # each key on its own line
    assert "La página de tu pedido, con tus claves y un recibo para imprimir, sigue en:" in text
    assert re.search(r"/pedido/A-[0-9A-Z-]+/claves\.txt\?t=[0-9a-f]{40}", text)


def test_the_spanish_delivery_email_has_no_english_sentence(app, plans, shopper):
    shopper.buy(plans["generated"])

    text = plain_text(delivered(app)[0])

    english = ["Your order", "Thank you", "Keep your keys", "Download", "Payment method",
               "valid until", "Total paid", "Date"]
    assert [phrase for phrase in english if phrase in text] == []
