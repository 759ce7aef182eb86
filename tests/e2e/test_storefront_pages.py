"""Every storefront page on a phone and a desktop: nothing sideways, big enough to tap.

Screenshots of each page at each width are saved under test-artifacts/e2e/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import overflowing_elements

pytestmark = pytest.mark.e2e

WIDTHS = {"320": (320, 640), "375": (375, 812), "1280": (1280, 800)}

# Buttons and the links that act (menus, cards, breadcrumbs, cart tools) under 44 px.
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'button, .main-nav a, .cart-link, .pending-link, .breadcrumbs a, .card a, .cart-tools a, ' +
    '.site-footer nav a, .unpaid-orders a, .summary a, .field small a'
  )].filter((element) => element.offsetParent !== null)
    .filter((element) => { const box = element.getBoundingClientRect();
                          return box.height < 43.5 || box.width < 43.5; })
    .map((element) => element.textContent.trim())"""


def add_to_cart(page, base: str, slug: str = "almiqui-antivirus-hogar") -> None:
    page.goto(f"{base}/productos/{slug}/")
    page.get_by_role("button", name="Añadir al carrito").first.click()
    expect(page).to_have_url(re.compile(r"/carrito/$"))


def place_order(page, base: str) -> str:
    """Check out one plan and stop on the gateway; return the order page's address."""
    add_to_cart(page, base)
    page.get_by_role("link", name="Pagar", exact=True).click()
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Nombre y apellidos").fill("Ana Pérez")
    page.get_by_label("Acepto las condiciones de venta").check()
    page.get_by_role("button", name=re.compile("Hacer el pedido y pagar")).click()
    number = re.search(r"Pedido (A-[0-9A-Z-]+)", page.content())[1]
    return f"{base}/pedido/{number}/"


def storefront(page, base: str) -> dict[str, str]:
    """Reach every storefront page once as a buyer would; return name -> address."""
    declined = place_order(page, base)
    page.get_by_role("button", name="Rechazar el pago").click()
    fulfilled = place_order(page, base)
    page.get_by_role("button", name="Aprobar el pago").click()
    pending = place_order(page, base)
    add_to_cart(page, base, "almiqui-familia")
    return {
        "home": f"{base}/",
        "products": f"{base}/productos/",
        "products-business": f"{base}/productos/?audience=business",
        "product": f"{base}/productos/almiqui-antivirus-hogar/",
        "cart": f"{base}/carrito/",
        "empty-cart-question": f"{base}/carrito/vaciar",
        "checkout": f"{base}/caja/",
        "order-pending": pending,
        "order-declined": declined,
        "order-paid": fulfilled,
        "terms": f"{base}/terminos",
        "refunds": f"{base}/devoluciones",
        "about": f"{base}/quienes-somos",
        "payment-methods": f"{base}/formas-de-pago",
        "not-found": f"{base}/no-existe/",
    }


def test_every_storefront_page_fits_phones_and_desktops_with_targets_big_enough_to_tap(
    browser, live_server, screenshots
):
    context = browser.new_context(java_script_enabled=False, locale="es-CU")
    page = context.new_page()
    pages = storefront(page, live_server)
    problems = {}

    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, address in pages.items():
            page.goto(address)
            overflowing = overflowing_elements(page)
            small = page.evaluate(SMALL_TARGETS)
            if overflowing or small:
                problems[f"{name} at {width_name}"] = {"overflow": overflowing, "small": small}
            screenshots(page, f"{name}-{width_name}")
    # Without JavaScript the keys are selected by a tap; no button that would do nothing.
    page.goto(pages["order-paid"])
    expect(page.get_by_text("Toca una clave una vez para seleccionarla entera")).to_be_visible()
    expect(page.get_by_role("button", name="Copiar")).to_be_hidden()
    expect(page.get_by_role("button", name="Imprimir el recibo")).to_be_hidden()
    context.close()

    assert problems == {}
    assert len(screenshots.taken) == len(pages) * len(WIDTHS)


def test_the_spanish_header_fits_one_row_on_a_desktop(browser, live_server):
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": 1280, "height": 800})
    page = context.new_page()
    place_order(page, live_server)  # the header also shows the order waiting for payment

    page.goto(live_server + "/")

    tops = page.evaluate(
        "() => [...document.querySelector('.header-row').children]"
        ".map((child) => Math.round(child.getBoundingClientRect().top))"
    )
    assert page.get_by_role("link", name="Pedido por pagar").is_visible()
    assert max(tops) - min(tops) <= 12, tops
    context.close()


def test_a_buyer_copies_a_key_with_the_button(browser, live_server, screenshots):
    context = browser.new_context(locale="es-CU", viewport={"width": 375, "height": 812})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    place_order(page, live_server)
    page.get_by_role("button", name="Aprobar el pago").click()
    key = page.locator("code.licence-key").first.inner_text()

    page.get_by_role("button", name="Copiar").first.click()

    expect(page.get_by_role("button", name="¡Copiada!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert re.fullmatch(r"(?:[0-9A-Y]{4}-){7}[0-9A-Y]{4}", key)
    expect(page.get_by_role("button", name="Imprimir el recibo")).to_be_visible()
    screenshots(page, "order-copied-375")
    context.close()
