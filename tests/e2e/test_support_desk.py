"""A support agent frees the seats of a customer's licence and reissues it from /support,
JavaScript off (issue 13): the customer's key, pasted in lower case without dashes, finds
the licence; after the reissue the old key fails validation, and the customer's order page
and email show the new key."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from store.accounts.models import Role
from store.extensions import db
from store.licensing.models import Activation
from store.mail.services import send_pending
from tests.conftest import Shopper, StaffDesk
from tests.e2e.conftest import overflowing_elements

pytestmark = pytest.mark.e2e


@pytest.fixture
def mail_transport() -> str:
    """Emails are written as .eml files under instance/mail/, as with `make run`."""
    return "file"


def newest_email_text(app) -> str:
    """Send the outbox, then read the plain text of the newest .eml file."""
    with app.app_context():
        send_pending()
    files = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    message = email.message_from_bytes(files[-1].read_bytes(), policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def buy_a_licence(browser, live_server: str, slug: str):
    """A guest buys the product's first plan on the sandbox; return the key shown and the
    guest's page, still on the order."""
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": 375, "height": 812})
    page = context.new_page()
    page.goto(f"{live_server}/productos/{slug}/")
    page.get_by_role("button", name="Añadir al carrito").click()
    page.get_by_role("link", name="Pagar", exact=True).click()
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Nombre y apellidos").fill("Ana Pérez")
    page.get_by_label("Acepto las condiciones de venta").check()
    page.get_by_role("button", name=re.compile("Hacer el pedido y pagar")).click()
    page.get_by_role("button", name="Aprobar el pago").click()
    expect(page.get_by_role("status").filter(has_text="Pagado.")).to_be_visible()
    key = page.locator("code.licence-key").all_inner_texts()[0].strip()
    return key, page


def sign_in_as_support(app, browser, live_server: str):
    desk = StaffDesk(app)
    secret = desk.enrol(desk.hire("agente@example.com", Role.SUPPORT))[0]
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(live_server + "/cuenta/entrar")
    page.get_by_label("Correo electrónico").fill("agente@example.com")
    page.get_by_label("Contraseña").fill(Shopper.PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_label("Código").fill(desk.code(secret))
    page.get_by_role("button", name="Continuar").click()
    expect(page).to_have_url(f"{live_server}/support")
    return page


def test_a_support_agent_finds_a_licence_by_its_pasted_key_frees_its_seats_and_reissues_it(
    app, browser, live_server, screenshots
):
    key, customer = buy_a_licence(browser, live_server, "almiqui-antivirus-hogar")
    device = app.test_client().post("/api/v1/licences/activate",
                                    json={"key": key, "fingerprint": "old-laptop"})
    assert device.status_code == 200

    page = sign_in_as_support(app, browser, live_server)
    page.get_by_label("Correo, número de pedido o clave de licencia").fill(
        key.replace("-", "").lower())
    page.locator("#main").get_by_role("button", name="Buscar").click()
    screenshots(page, "search-results")
    assert key.replace("-", "").lower() not in page.url  # posted, never in an address
    page.get_by_role("link", name=re.compile("••••-" + key.replace("-", "")[-4:])).click()
    expect(page.get_by_text("Puestos en uso: 1 de")).to_be_visible()
    screenshots(page, "licence")
    page.locator("#free-reason").fill("Cambió de ordenador")
    page.get_by_role("button", name="Liberar todos los puestos").click()
    expect(page.get_by_text("Todos los puestos de esta licencia vuelven a estar libres.")).to_be_visible()
    expect(page.get_by_text("Puestos en uso: 0 de")).to_be_visible()
    screenshots(page, "seats-freed")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activation)) == 0

    # The key leaked: the agent reissues it.
    page.locator("#reissue-reason").fill("La clave se publicó en un foro")
    page.get_by_role("button", name="Reemitir la licencia").click()
    expect(page.get_by_text("La licencia tiene una clave nueva")).to_be_visible()
    expect(page.get_by_text("Sustituye a")).to_be_visible()
    screenshots(page, "reissued")
    answer = app.test_client().post("/api/v1/licences/validate", json={"key": key}).get_json()
    assert answer["code"] == "REVOKED"
    customer.reload()
    new_key = customer.locator("code.licence-key").all_inner_texts()[0].strip()
    assert new_key != key and key not in customer.content()
    screenshots(customer, "customer-order-375")
    assert overflowing_elements(customer) == []
    text = newest_email_text(app)
    assert new_key in text and key not in text and "foro" not in text
    answer = app.test_client().post("/api/v1/licences/validate", json={"key": new_key}).get_json()
    assert answer["code"] in ("VALID", "NOT_ACTIVATED")

    licence_page = page.url
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server + "/support")
    screenshots(page, "home-320")
    assert overflowing_elements(page) == []
    page.get_by_label("Correo, número de pedido o clave de licencia").fill("ana@example.com")
    page.locator("#main").get_by_role("button", name="Buscar").click()
    screenshots(page, "search-320")
    assert overflowing_elements(page) == []
    assert "ana@example.com" not in page.url and key.replace("-", "").lower() not in page.url
    page.get_by_role("link", name=re.compile("A-")).first.click()
    screenshots(page, "order-320")
    assert overflowing_elements(page) == []
    page.goto(licence_page)
    screenshots(page, "licence-320")
    assert overflowing_elements(page) == []
