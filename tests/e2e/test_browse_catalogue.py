"""A visitor browses the demo catalogue in a real browser, with JavaScript switched off."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_visitor_finds_a_plan_by_platform_and_reads_it_in_both_languages(
    browser, live_server, screenshots
):
    context = browser.new_context(java_script_enabled=False, locale="es-ES")
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "Licencias de antivirus, pagadas en pesos cubanos"
    expect(page.get_by_text("50.00 CUP").first).to_be_visible()
    screenshots(page, "home")

    page.get_by_role("link", name="Ver todos los productos").first.click()
    page.get_by_label("Plataforma").select_option("android")
    page.get_by_role("button", name="Filtrar").click()
    expect(page).to_have_url(re.compile(r"platform=android"))
    expect(page.get_by_role("link", name="Almiquí Móvil")).to_be_visible()
    assert page.get_by_role("link", name="Almiquí para Mac").count() == 0
    screenshots(page, "android-products")

    page.get_by_role("link", name="Almiquí Móvil").click()
    assert page.title() == "Almiquí Móvil · Tienda Almiquí"
    recommended = page.get_by_role("radio", name="1 año · 1 dispositivo")
    expect(recommended).to_be_checked()
    assert "30.00 CUP" in page.locator("label", has=recommended).inner_text()
    screenshots(page, "product-es")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Plans and prices")).to_be_visible()
    expect(page.get_by_role("radio", name="1 year · 1 device")).to_be_checked()
    expect(page.get_by_role("radio", name="6 months · 1 device")).to_have_accessible_name(
        re.compile(r"18\.00 CUP 36\.50 CUP a year")
    )
    screenshots(page, "product-en")

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server + "/productos/almiqui-familia/")
    screenshots(page, "product-mobile")

    assert hosts == {urlsplit(live_server).netloc}
    assert len(screenshots.taken) == 5 and all(p.stat().st_size > 0 for p in screenshots.taken)
    context.close()


@pytest.mark.parametrize("width", [320, 375, 1280])
def test_a_buyer_taps_a_plan_and_a_quantity_and_gets_them_in_the_cart(
    browser, live_server, screenshots, width
):
    context = browser.new_context(java_script_enabled=False, locale="es-ES",
                                  viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(live_server + "/productos/almiqui-antivirus-hogar/")
    new = page.get_by_role("group", name="Licencia nueva")
    options = page.locator("label.plan-option")

    # Nothing scrolls sideways, and every option is a large touch target inside the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    for box in (options.nth(n).bounding_box() for n in range(options.count())):
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    expect(new.get_by_role("radio", name="2 años · 1 dispositivo")).to_be_checked()
    expect(page.get_by_text("ahorras 10.00 CUP")).to_be_visible()
    expect(page.get_by_text("Para añadir tiempo a una licencia que ya tienes, con la misma clave.")).to_be_visible()
    expect(page.get_by_role("link", name="Renovar mi licencia")).to_have_attribute("href", "/renovar/")
    screenshots(page, f"product-{width}")

    page.get_by_text("1 año · 3 dispositivos").click()  # the label's text, not the radio
    expect(new.get_by_role("radio", name="1 año · 3 dispositivos")).to_be_checked()
    page.get_by_label("Cantidad").fill("2")
    page.get_by_role("button", name="Añadir al carrito").click()

    expect(page).to_have_url(re.compile(r"/carrito/$"))
    expect(page.get_by_text("Añadido a tu carrito.")).to_be_visible()
    assert page.locator(".cart-count").inner_text() == "2"
    assert "240.00 CUP" in page.locator("tfoot").inner_text()
    screenshots(page, f"cart-{width}")
    context.close()


def test_an_unknown_product_shows_the_404_page_in_the_layout(browser, live_server, screenshots):
    context = browser.new_context(java_script_enabled=False, locale="es-CU")
    page = context.new_page()
    response = page.goto(live_server + "/productos/no-existe/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Página no encontrada")).to_be_visible()
    expect(page.get_by_role("link", name="Volver a la página de inicio")).to_be_visible()
    screenshots(page, "not-found")
    context.close()
