"""An admin runs the store from /admin in a real browser, JavaScript off (issue 10).

The admin creates a product with an image and a pool plan, imports five keys, sees the plan
in the storefront with the image; a customer buys it; the admin finds the order and its
timeline. Then every back office page is looked at on two phones and a desktop.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from store.accounts.models import Role, User
from store.catalogue.models import Product
from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState
from store.orders.models import Order, OrderStatus
from tests.conftest import Shopper, StaffDesk
from tests.e2e.conftest import overflowing_elements

pytestmark = pytest.mark.e2e

WIDTHS = {"320": (320, 640), "375": (375, 812), "1280": (1280, 800)}
KEYS = "\n".join(f"GUARD-{n:04d}-XQ7P-M2KD" for n in range(1, 6)) + "\n"


def logo_png() -> bytes:
    """A 600 px PNG with some detail: a shield-ish shape on a gradient."""
    image = Image.new("RGB", (600, 600))
    image.putdata([(x % 256, (x * y) % 256, y % 256) for y in range(600) for x in range(600)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def sign_in_as_admin(app, browser, live_server, width: int, height: int):
    desk = StaffDesk(app)
    secret = desk.enrol(desk.hire("admin@example.com", Role.ADMIN))[0]
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(live_server + "/cuenta/entrar")
    page.get_by_label("Correo electrónico").fill("admin@example.com")
    page.get_by_label("Contraseña").fill(Shopper.PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_label("Código").fill(desk.code(secret))
    page.get_by_role("button", name="Continuar").click()
    expect(page).to_have_url(f"{live_server}/admin/")
    return page


def buy(browser, live_server: str, slug: str) -> str:
    """A customer buys the product's plan with the sandbox; return the order number."""
    context = browser.new_context(java_script_enabled=False, locale="es-CU")
    page = context.new_page()
    page.goto(f"{live_server}/productos/{slug}/")
    page.get_by_role("button", name="Añadir al carrito").click()
    page.get_by_role("link", name="Pagar", exact=True).click()
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Nombre y apellidos").fill("Ana Pérez")
    page.get_by_label("Acepto las condiciones de venta").check()
    page.get_by_role("button", name=re.compile("Hacer el pedido y pagar")).click()
    number = re.search(r"Pedido (A-[0-9A-Z-]+)", page.content())[1]
    page.get_by_role("button", name="Aprobar el pago").click()
    expect(page.get_by_role("status").filter(has_text="Pagado.")).to_be_visible()
    assert len(page.locator("code.licence-key").all_inner_texts()) == 1
    context.close()
    return number


def test_an_admin_adds_a_product_with_an_image_and_keys_and_finds_the_customers_order(
    app, browser, live_server, screenshots
):
    page = sign_in_as_admin(app, browser, live_server, 1280, 800)
    screenshots(page, "dashboard")

    # A product with an image.
    menu = page.get_by_role("navigation", name="Administración")
    menu.get_by_role("link", name="Productos").click()
    screenshots(page, "products")
    page.get_by_role("link", name="Nuevo producto").click()
    page.get_by_label("Nombre").fill("Almiquí Guardián Nube")
    page.get_by_label("Resumen").fill("Protección en la nube para tres equipos de casa.")
    page.get_by_label("Dirección de descarga").fill(
        "https://descargas.almiqui.example/almiqui-guardian-nube/")
    page.get_by_label("Imagen").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()}])
    screenshots(page, "product-new")
    page.get_by_role("button", name="Crear el producto").click()
    expect(page.get_by_role("link", name="Nuevo plan")).to_be_visible()
    screenshots(page, "product-created")

    # A pool plan priced the way people type it.
    page.get_by_role("link", name="Nuevo plan").click()
    page.get_by_label("Nombre").fill("1 año · 3 PC")
    page.get_by_label("SKU").fill("GUARD-1Y3")
    page.get_by_label("Duración en días").fill("365")
    page.get_by_label("Dispositivos").fill("3")
    page.get_by_label("Precio en CUP").fill("1 250,50")
    page.get_by_label("Claves").select_option("pool")
    screenshots(page, "plan-new")
    page.get_by_role("button", name="Crear el plan").click()
    expect(page.get_by_text("GUARD-1Y3").first).to_be_visible()

    # Five vendor keys from a file.
    menu.get_by_role("link", name="Existencias de claves").click()
    page.get_by_role("link", name="Importar claves").click()
    plan = page.get_by_label("Plan")
    plan.select_option(plan.locator("option", has_text="GUARD-1Y3").get_attribute("value"))
    page.get_by_label("Archivo de claves").set_input_files(
        files=[{"name": "claves.txt", "mimeType": "text/plain", "buffer": KEYS.encode()}])
    page.get_by_role("button", name="Importar").click()
    expect(page.get_by_role("heading", name="Importación terminada")).to_be_visible()
    screenshots(page, "import-report")
    page.goto(live_server + "/admin/existencias")
    row = page.locator("tr").filter(has_text="GUARD-1Y3")
    expect(row.locator("td").nth(3)).to_have_text("5")  # available
    screenshots(page, "stock")

    with app.app_context():
        product = db.session.scalars(
            sa.select(Product).where(Product.name == "Almiquí Guardián Nube")).one()
        slug = product.slug
        assert product.download_url == "https://descargas.almiqui.example/almiqui-guardian-nube/"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PoolKey).where(
            PoolKey.state == PoolKeyState.AVAILABLE, PoolKey.plan_id == product.plans[0].id)) == 5

    # The storefront shows the plan, its price and the uploaded image.
    shop = browser.new_context(java_script_enabled=False, locale="es-CU",
                               viewport={"width": 375, "height": 812}).new_page()
    shop.goto(f"{live_server}/productos/{slug}/")
    expect(shop.get_by_role("heading", name="Almiquí Guardián Nube")).to_be_visible()
    expect(shop.get_by_text("1,250.50 CUP").first).to_be_visible()
    image = shop.locator(".product-header img")
    assert re.search(r"/imagenes/[0-9a-f]{32}-page\.webp", image.get_attribute("src"))
    assert image.get_attribute("width") and image.get_attribute("height")
    assert shop.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0
    assert overflowing_elements(shop) == []
    screenshots(shop, "storefront-product-375")
    shop.context.close()

    number = buy(browser, live_server, slug)

    # The admin finds the order by its number and reads its timeline.
    menu.get_by_role("link", name="Pedidos").click()
    page.get_by_label("Número de pedido").fill(number)
    page.get_by_role("button", name="Filtrar").click()
    screenshots(page, "orders-filtered")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name="Historial")).to_be_visible()
    timeline = page.locator("ol.timeline").inner_text()
    assert "Pedido realizado" in timeline
    assert "sandbox" in timeline
    assert "order_delivery" in timeline or "Correo" in timeline
    assert "GUARD-0" not in page.content()  # keys are masked on staff pages
    screenshots(page, "order")

    with app.app_context():
        order = db.session.scalars(sa.select(Order).where(Order.number == number)).one()
        assert order.status == OrderStatus.FULFILLED and order.email == "ana@example.com"


def back_office_pages(app, live_server: str) -> dict[str, str]:
    """Every back office page, with data behind it (the demo catalogue and a paid order)."""
    with app.app_context():
        product = db.session.scalars(sa.select(Product).order_by(Product.id)).first()
        plan_id = product.plans[0].id
        user_id = db.session.scalars(sa.select(User.id).order_by(User.id)).first()
        number = db.session.scalars(sa.select(Order.number)).one()
    base = live_server + "/admin"
    return {
        "dashboard": f"{base}/",
        "products": f"{base}/productos/",
        "product-new": f"{base}/productos/nuevo",
        "product": f"{base}/productos/{product.id}/",
        "plan": f"{base}/planes/{plan_id}/",
        "plan-new": f"{base}/productos/{product.id}/planes/nuevo",
        "stock": f"{base}/existencias",
        "stock-import": f"{base}/existencias/importar",
        "orders": f"{base}/pedidos",
        "users": f"{base}/usuarios",
        "user": f"{base}/usuarios/{user_id}",
        "rates": f"{base}/tipos-de-cambio",
        "audit-log": f"{base}/auditoria",
        "order": f"{base}/pedidos/{number}",
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_every_back_office_page_fits_phones_and_desktops(
    app, browser, live_server, screenshots, width
):
    page = sign_in_as_admin(app, browser, live_server, *WIDTHS[width])
    buy(browser, live_server, "almiqui-antivirus-hogar")
    problems = {}

    for name, address in back_office_pages(app, live_server).items():
        response = page.goto(address)
        assert response.status == 200, name
        overflowing = overflowing_elements(page)
        if overflowing:
            problems[name] = overflowing
        screenshots(page, f"{name}-{width}")

    assert problems == {}
