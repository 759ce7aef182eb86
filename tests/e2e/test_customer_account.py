"""A customer registers, confirms the email from the .eml file, buys, finds the licence
under "Mis licencias" and renews it there, frees a device's seat, and a guest who lost the
delivery email gets fresh order links, in a real browser on a phone with JavaScript off."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from store.accounts.services import NewAccount, register
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence
from store.orders.models import OrderStatus
from store.mail.services import send_pending
from tests.conftest import Shopper
from tests.e2e.conftest import overflowing_elements
from tests.factories import issue_licence

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

    # A year later: she renews it from "Mis licencias", keeping the key.
    page.get_by_role("link", name="Renovar", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Renovar la licencia ••••-"))).to_be_visible()
    assert overflowing_elements(page) == []
    screenshots(page, "renewal-choice-375")
    page.set_viewport_size({"width": 320, "height": 640})
    assert overflowing_elements(page) == []
    screenshots(page, "renewal-choice-320")
    page.set_viewport_size({"width": 375, "height": 812})
    page.get_by_role("button", name="Añadir la renovación al carrito").click()
    expect(page.get_by_text("Renueva la licencia ••••-" + key.replace("-", "")[-4:])).to_be_visible()
    screenshots(page, "renewal-cart-375")
    page.locator(".checkout-bar").get_by_role("link", name="Pagar", exact=True).click()
    page.get_by_label("Acepto las condiciones de venta").check()
    page.get_by_role("button", name=re.compile("Hacer el pedido y pagar")).click()
    page.get_by_role("button", name="Aprobar el pago").click()
    expect(page.get_by_text(re.compile("renovada hasta el"))).to_be_visible()
    assert key not in page.content() and overflowing_elements(page) == []
    screenshots(page, "renewed-375")
    with app.app_context():
        (expires,) = db.session.scalars(sa.select(Licence.expires_at)).all()
    assert expires > utcnow() + timedelta(days=2 * 365)  # two years bought, one renewed
    context.close()


def test_a_customer_sees_the_devices_of_a_licence_and_frees_one_on_a_small_phone(
    app, browser, live_server, screenshots
):
    with app.app_context():
        key, licence_id = issue_licence(seats=3)
        db.session.get(Licence, licence_id).order_line.order.email = "ana@example.com"
        db.session.commit()
        register(NewAccount(email="ana@example.com", name="Ana Pérez",
                            password=Shopper.PASSWORD), verified=True)
    api = app.test_client()
    for fingerprint, label in [("laptop-1", "PC-de-la-oficina-principal-del-segundo-piso"),
                               ("phone-2", None)]:
        body = {"key": key, "fingerprint": fingerprint} | ({"label": label} if label else {})
        assert api.post("/api/v1/licences/activate", json=body).status_code == 200
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(live_server + "/cuenta/entrar")
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Contraseña").fill(Shopper.PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.goto(live_server + "/cuenta/licencias")

    devices = page.locator("li.device")
    expect(devices).to_have_count(2)
    expect(page.get_by_text("2 de 3 dispositivos en uso")).to_be_visible()
    expect(devices.filter(has_text="Dispositivo sin nombre")).to_have_count(1)
    for width in (320, 375):
        page.set_viewport_size({"width": width, "height": 640})
        assert overflowing_elements(page) == []
        screenshots(page, f"devices-{width}")

    devices.filter(has_text="PC-de-la-oficina").get_by_role(
        "button", name="Liberar este dispositivo").click()

    expect(page.get_by_text("Dispositivo liberado")).to_be_visible()
    expect(devices).to_have_count(1)
    expect(page.get_by_text("PC-de-la-oficina")).to_have_count(0)
    expect(page.get_by_text("1 de 3 dispositivos en uso")).to_be_visible()
    for width in (375, 320):
        page.set_viewport_size({"width": width, "height": 640})
        assert overflowing_elements(page) == []
        screenshots(page, f"device-freed-{width}")
    context.close()


def test_a_guest_who_lost_the_keys_asks_for_fresh_links_on_a_small_phone(
    app, browser, live_server, screenshots
):
    with app.app_context():
        key, licence_id = issue_licence()
        order = db.session.get(Licence, licence_id).order_line.order
        order.email, order.status, number = "ana@example.com", OrderStatus.FULFILLED, order.number
        db.session.commit()
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": 320, "height": 640})
    page = context.new_page()

    page.goto(live_server + "/")
    page.get_by_role("link", name="¿Perdiste tus claves?").click()
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    assert overflowing_elements(page) == []
    screenshots(page, "lost-keys-320")
    page.get_by_role("button", name="Envíame los enlaces").click()

    expect(page.get_by_text("Si se pagaron pedidos con ese correo, te enviamos")).to_be_visible()
    assert overflowing_elements(page) == []
    screenshots(page, "lost-keys-sent-320")
    page.goto(newest_link(app, f"/pedido/{number}/"))
    expect(page.get_by_text(key)).to_be_visible()
    context.close()
