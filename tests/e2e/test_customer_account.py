"""A customer registers, confirms the email from the .eml file, buys, and finds the licence
under "Mis licencias", in a real browser on a phone with JavaScript off."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from store.mail.services import send_pending
from tests.conftest import Shopper
from tests.e2e.conftest import overflowing_elements

pytestmark = pytest.mark.e2e


@pytest.fixture
def mail_transport() -> str:
    """Emails are written as .eml files under instance/mail/, as with `make run`."""
    return "file"


def newest_link(app, path: str) -> str:
    """Send the outbox, then read the newest .eml file for a link to ``path``."""
    with app.app_context():
        send_pending()
    files = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    message = email.message_from_bytes(files[-1].read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"http://\S+{re.escape(path)}\S+", text)[0]


def test_a_customer_registers_confirms_buys_and_finds_the_licence(
    app, browser, live_server, screenshots
):
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": 375, "height": 812})
    page = context.new_page()

    page.goto(live_server + "/")
    page.get_by_role("link", name="Entrar").click()
    page.get_by_role("link", name="Crear una cuenta").click()
    page.get_by_label("Nombre y apellidos").fill("Ana Pérez")
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Contraseña").fill(Shopper.PASSWORD)
    assert overflowing_elements(page) == []
    screenshots(page, "register-375")
    page.get_by_role("button", name="Crear mi cuenta").click()
    expect(page.get_by_text("¡Bienvenido! Enviamos un enlace a ana@example.com")).to_be_visible()

    page.goto(newest_link(app, "/cuenta/verificar/"))
    page.get_by_role("button", name="Confirmar mi correo").click()
    expect(page.get_by_text("Gracias: ana@example.com está confirmado.")).to_be_visible()
    screenshots(page, "confirmed-375")

    page.goto(live_server + "/productos/almiqui-antivirus-hogar/")
    page.get_by_role("button", name="Añadir al carrito").click()
    page.locator(".checkout-bar").get_by_role("link", name="Pagar", exact=True).click()
    expect(page.get_by_label("Correo electrónico")).to_have_value("ana@example.com")
    expect(page.get_by_label("Nombre y apellidos")).to_have_value("Ana Pérez")
    page.get_by_label("Acepto las condiciones de venta").check()
    page.get_by_role("button", name=re.compile("Hacer el pedido y pagar")).click()
    page.get_by_role("button", name="Aprobar el pago").click()
    key = page.locator("code.licence-key").inner_text()

    page.get_by_role("link", name="Mis pedidos").first.click()
    page.get_by_role("link", name="Mis licencias").click()
    masked = page.locator("code.masked-key").inner_text()
    assert masked.endswith(key[-4:]) and key not in page.content()
    assert overflowing_elements(page) == []
    screenshots(page, "licences-375")
    page.get_by_role("button", name="Mostrar la clave").click()
    expect(page.locator("code.licence-key")).to_have_text(key)
    screenshots(page, "licence-shown-375")
    context.close()
