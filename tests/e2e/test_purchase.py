"""A customer buys a licence in a real browser, with JavaScript switched off (issue 4, §6)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from store.extensions import db
from store.mail.services import send_pending
from store.orders.models import Order, OrderStatus
from store.payments.models import Payment, PaymentStatus
from tests.e2e.conftest import overflowing_elements

pytestmark = pytest.mark.e2e

KEY = re.compile(r"^(?:[0-9A-Y]{4}-){7}[0-9A-Y]{4}$")


def test_a_customer_buys_a_plan_and_gets_the_same_key_on_screen_and_by_email(
    app, browser, live_server, screenshots
):
    context = browser.new_context(java_script_enabled=False, locale="es-CU")
    page = context.new_page()

    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "Licencias de antivirus, pagadas en pesos cubanos"
    screenshots(page, "home")

    page.get_by_role("searchbox", name="Buscar productos").fill("hogar")
    page.get_by_role("button", name="Buscar", exact=True).click()
    page.get_by_role("link", name="Almiquí Antivirus Hogar").click()
    assert page.title() == "Almiquí Antivirus Hogar · Tienda Almiquí"
    screenshots(page, "product")

    new = page.get_by_role("group", name="Licencia nueva")
    one_year = new.locator("label").filter(
        has=page.get_by_role("radio", name="1 año · 1 dispositivo")
    )
    assert "50.00 CUP" in one_year.inner_text()
    one_year.get_by_role("radio").check()
    page.get_by_role("button", name="Añadir al carrito").click()
    expect(page).to_have_url(re.compile(r"/carrito/$"))
    expect(page.get_by_text("Añadido a tu carrito.")).to_be_visible()
    assert page.locator(".cart-count").inner_text() == "1"
    assert "50.00 CUP" in page.locator("tfoot").inner_text()
    screenshots(page, "cart")

    # On a phone the line, its subtotal, the total and the pay button fit the screen.
    page.set_viewport_size({"width": 320, "height": 640})
    assert overflowing_elements(page) == []
    expect(page.locator(".checkout-bar")).to_contain_text("Total: 50.00 CUP")
    expect(page.locator(".checkout-bar")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Actualizar")).to_be_in_viewport()
    screenshots(page, "cart-320")
    page.set_viewport_size({"width": 1280, "height": 720})

    page.get_by_role("link", name="Pagar", exact=True).click()
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Nombre y apellidos").fill("Ana Pérez")
    assert page.get_by_label("Pago de prueba (sandbox)").is_checked()
    page.get_by_label("Acepto las condiciones de venta").check()
    screenshots(page, "checkout")

    page.get_by_role("button", name="Hacer el pedido y pagar 50.00 CUP").click()
    expect(page.get_by_role("heading", name="Pasarela de pago de prueba")).to_be_visible()
    number = re.search(r"Pedido (A-[0-9A-Z-]+)", page.content())[1]

    # The buyer leaves the gateway and comes back to pay from the order page, on a phone.
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"{live_server}/pedido/{number}/")
    expect(page.get_by_role("status").filter(has_text="Esperando tu pago")).to_be_visible()
    assert page.get_by_label("Pago de prueba (sandbox)").is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    screenshots(page, "order-pending-320")
    page.get_by_role("button", name="Pagar 50.00 CUP ahora").click()
    expect(page.get_by_role("heading", name="Pasarela de pago de prueba")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 720})
    assert page.locator(".amount").inner_text() == "50.00 CUP"
    screenshots(page, "sandbox-gateway")

    page.get_by_role("button", name="Aprobar el pago").click()
    expect(page).to_have_url(re.compile(r"/pedido/A-[0-9A-Z-]+/$"))
    expect(page.get_by_role("status").filter(has_text="Pagado.")).to_be_visible()
    keys = page.locator("code.licence-key").all_inner_texts()
    screenshots(page, "order")
    context.close()

    with app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        status, payments = order.status, db.session.scalar(
            sa.select(sa.func.count()).select_from(Payment)
        )
        send_pending()
    emails = app.extensions["store_mail_transport"].sent

    assert status == OrderStatus.FULFILLED and f"/pedido/{number}/" in page.url
    assert payments == 1  # paying again from the order page resumed the same payment
    assert len(keys) == 1 and KEY.match(keys[0])
    assert len(emails) == 1 and emails[0]["To"] == "ana@example.com"
    text = emails[0].get_body(preferencelist=("plain",)).get_content()
    html = emails[0].get_body(preferencelist=("html",)).get_content()
    assert keys[0] in text and keys[0] in html
    # The order page's link (the email also links each licence's signed file).
    link = re.search(r"http://\S+/pedido/[^/\s]+/\?t=\S+", text)[0]
    assert f"/pedido/{number}/?t=" in link and link in html
    assert re.search(rf"/pedido/{number}/licencias/\d+\.json\?t=", text)

    # The emailed link opens the order page in another browser, without the buyer's session.
    elsewhere = browser.new_context(java_script_enabled=False, locale="es-CU").new_page()
    elsewhere.goto(link)  # built from STORE_BASE_URL, which is this live server
    expect(elsewhere.locator("code.licence-key")).to_have_text(keys[0])
    # The token moved into that browser's session; the address bar no longer shows it.
    assert elsewhere.url == f"{live_server}/pedido/{number}/"
    elsewhere.context.close()
    assert [p.name for p in screenshots.taken] == [
        "01-home.png", "02-product.png", "03-cart.png", "04-cart-320.png", "05-checkout.png",
        "06-order-pending-320.png", "07-sandbox-gateway.png", "08-order.png",
    ]
    assert all(p.stat().st_size > 0 for p in screenshots.taken)


PHONES = {"320x640": (320, 640), "375x812": (375, 812)}


@pytest.mark.parametrize("phone", PHONES)
def test_on_a_phone_a_declined_payment_is_paid_again_from_the_order_page(
    app, browser, live_server, screenshots, phone
):
    width, height = PHONES[phone]
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": width, "height": height})
    page = context.new_page()

    def fits(step: str) -> None:
        assert overflowing_elements(page) == [], step
        screenshots(page, f"{step}-{phone}")

    page.goto(live_server + "/productos/almiqui-antivirus-hogar/")
    recommended = page.locator(".plan-recommended")
    expect(recommended).to_contain_text("Recomendado")
    expect(recommended.get_by_role("radio")).to_be_checked()
    fits("product")
    page.get_by_role("button", name="Añadir al carrito").click()

    # The total and the pay button stay on screen, even scrolled to the top of the cart.
    bar = page.locator(".checkout-bar")
    expect(bar).to_contain_text("Total: 90.00 CUP")
    expect(bar).to_be_in_viewport()
    expect(bar.get_by_role("link", name="Pagar", exact=True)).to_be_in_viewport()
    fits("cart")

    bar.get_by_role("link", name="Pagar", exact=True).click()
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Nombre y apellidos").fill("Ana Pérez")
    page.get_by_label("Acepto las condiciones de venta").check()
    fits("checkout")
    page.get_by_role("button", name="Hacer el pedido y pagar 90.00 CUP").click()
    fits("gateway")
    page.get_by_role("button", name="Rechazar el pago").click()

    expect(page.get_by_role("status").filter(has_text="El pago fue rechazado")).to_be_visible()
    fits("order-declined")
    page.get_by_role("button", name="Volver a pagar 90.00 CUP").click()
    expect(page.get_by_role("heading", name="Pasarela de pago de prueba")).to_be_visible()
    page.get_by_role("button", name="Aprobar el pago").click()

    expect(page.get_by_role("status").filter(has_text="Pagado.")).to_be_visible()
    key = page.locator("code.licence-key").inner_text()
    # What to do next: the product's download link, its platform's steps, whom to ask.
    guide = page.get_by_role("region", name="Instalar y activar")
    expect(guide.get_by_role("link", name="Descargar Almiquí Antivirus Hogar")).to_have_attribute(
        "href", "https://descargas.almiqui.example/almiqui-antivirus-hogar/")
    expect(guide.locator("ol.steps li")).to_have_text([
        "Descarga el programa para Windows e instálalo.", "Abre el programa.",
        "Elige “Activar licencia”.", "Pega tu clave de licencia y confirma."])
    expect(guide.get_by_role("link", name="ayuda@tienda-almiqui.example")).to_be_visible()
    fits("order-paid")
    context.close()
    with app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        payments = db.session.scalars(sa.select(Payment.status).order_by(Payment.id)).all()
        timeline = [event.kind for event in order.events]
        assert order.status == OrderStatus.FULFILLED
    assert payments == [PaymentStatus.DECLINED, PaymentStatus.APPROVED]
    assert timeline.count("failed") == 1 and timeline.count("fulfilled") == 1
    assert KEY.match(key)
