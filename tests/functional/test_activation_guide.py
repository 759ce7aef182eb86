"""What a buyer needs after paying (issue 13, part 5): each product's download address,
edited in the back office, and activation steps for its platform with the support
contact, on the order page and in the delivery email."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from store.audit.models import AuditEvent
from store.catalogue.demo import DOWNLOADS
from store.catalogue.models import Platform, Product
from store.extensions import db
from store.mail.services import send_pending
from tests.factories import make_product

DOWNLOAD = "https://descargas.almiqui.example/almiqui-movil/almiqui-movil.apk"
PRODUCT = {"name": "Almiquí Móvil Plus", "summary": "Protección para el móvil.",
           "description": "", "platform": "android", "audience": "home", "sort_order": "3"}
BLOCK = "Instalar y activar"
SUPPORT = "¿Problemas para activar? Escríbenos a"
ANDROID_STEP = ("Descarga la aplicación en el teléfono e instálala (si Android lo pide, "
                "permite instalar desde este origen).")
COMMON_STEPS = ["Abre el programa.", "Elige “Activar licencia”.",
                "Pega tu clave de licencia y confirma."]


def delivered(app) -> list:
    with app.app_context():
        send_pending()
    return app.extensions["store_mail_transport"].sent


def parts(email) -> tuple[str, str]:
    """The text and the HTML of an email."""
    return (email.get_body(preferencelist=("plain",)).get_content(),
            email.get_body(preferencelist=("html",)).get_content())


def steps_in(html: str) -> list[list[str]]:
    """Each guide's numbered steps on a page, as text."""
    return [[unescape(step) for step in re.findall(r"<li>(.*?)</li>", steps)]
            for steps in re.findall(r'<ol class="steps">(.*?)</ol>', html, re.S)]


def errors_in(html: str) -> list[str]:
    return [unescape(error) for error in re.findall(r'<p class="field-error">(.*?)</p>', html)]


def new_plan(app, *, platform=Platform.ANDROID, download_url=DOWNLOAD,
             name="Almiquí Móvil") -> int:
    with app.app_context():
        product = make_product(name=name, platform=platform, download_url=download_url,
                               plans=[{"name": "1 año · 1 teléfono"}])
        db.session.commit()
        return product.plans[0].id


# The back office's field


def saved_url(app, product_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Product, product_id).download_url


def test_an_admin_gives_a_product_a_download_address_changes_it_and_clears_it_audited(
    app, admin
):
    created = admin.client.post("/admin/productos/nuevo",
                                data={**PRODUCT, "download_url": f"  {DOWNLOAD} "})
    product_id = int(re.search(r"/admin/productos/(\d+)/", created.headers["Location"])[1])
    edit = f"/admin/productos/{product_id}/"
    form = admin.page(edit)
    newer = DOWNLOAD.replace(".apk", "-2.apk")

    changed = admin.client.post(edit, data={**PRODUCT, "slug": "almiqui-movil-plus",
                                            "download_url": newer})
    after_change = saved_url(app, product_id)
    cleared = admin.client.post(edit, data={**PRODUCT, "slug": "almiqui-movil-plus",
                                            "download_url": ""})

    assert created.status_code == changed.status_code == cleared.status_code == 302
    assert f"{DOWNLOAD}</textarea>" in form and "Dirección de descarga" in form
    assert after_change == newer and saved_url(app, product_id) is None
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.subject_type == "product", AuditEvent.subject_id == product_id,
        ).order_by(AuditEvent.id)).all()
    assert [(e.action, e.details["changes"]["download_url"]) for e in events] == [
        ("product.create", [None, DOWNLOAD]), ("product.update", [DOWNLOAD, newer]),
        ("product.update", [newer, None])]


@pytest.mark.parametrize("address", [
    "http://descargas.almiqui.example/movil.apk",
    "descargas.almiqui.example/movil.apk",
    "javascript:alert(1)",
    "https://",
    "https:///movil.apk",
    "https://descargas almiqui.example/movil.apk",
    "https://ana:secreto@descargas.almiqui.example/",
    "https://[::1/movil.apk",
    "ftp://descargas.almiqui.example/movil.apk",
])
def test_a_download_address_that_is_not_https_is_refused_in_spanish_and_nothing_changes(
    app, admin, address
):
    plan_id = new_plan(app)
    with app.app_context():
        product_id = db.session.scalar(sa.select(Product.id))
        audited = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    refused = admin.client.post(f"/admin/productos/{product_id}/", data={
        **PRODUCT, "name": "Otro nombre", "slug": "otro", "download_url": address})

    assert refused.status_code == 400 and plan_id
    assert errors_in(refused.get_data(as_text=True)) == [
        "Escribe una dirección completa que empiece por https://, como "
        "https://descargas.example.com/programa."]
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.name, product.download_url) == ("Almiquí Móvil", DOWNLOAD)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audited


def test_a_download_address_longer_than_500_characters_is_refused_and_no_product_is_made(
    app, admin, count
):
    refused = admin.client.post("/admin/productos/nuevo", data={
        **PRODUCT, "download_url": "https://descargas.almiqui.example/" + "a" * 480})

    assert refused.status_code == 400
    assert errors_in(refused.get_data(as_text=True)) == ["Usa como máximo 500 caracteres."]
    assert count(Product) == 0


def test_the_demo_catalogue_links_each_product_to_the_fictional_vendors_download_site(
    app, demo
):
    with app.app_context():
        products = db.session.execute(sa.select(Product.slug, Product.download_url)).all()

    assert len(products) == 7
    assert DOWNLOADS == "https://descargas.almiqui.example"
    assert all(url == f"{DOWNLOADS}/{slug}/" for slug, url in products)


# The order page


def test_a_paid_order_page_shows_the_download_link_the_steps_for_its_platform_and_support(
    app, shopper
):
    page = shopper.page(shopper.buy(new_plan(app)))

    assert BLOCK in page
    assert f'<a class="download-link" href="{DOWNLOAD}" rel="noopener noreferrer">' \
           "Descargar Almiquí Móvil</a>" in page
    assert steps_in(page) == [[ANDROID_STEP, *COMMON_STEPS]]
    assert "Cada dispositivo que actives ocupa un puesto de la licencia" in unescape(page)
    assert (f'{SUPPORT} <a href="mailto:ayuda@tienda-almiqui.example">'
            "ayuda@tienda-almiqui.example</a>.") in unescape(page)


def test_an_unpaid_order_page_shows_no_download_link_nor_steps(app, shopper):
    number, _gateway = shopper.place_unpaid(new_plan(app))

    page = shopper.page(f"/pedido/{number}/")

    assert "Esperando tu pago" in page
    assert BLOCK not in page and DOWNLOAD not in page and SUPPORT not in page


def test_a_declined_order_page_shows_no_steps(app, shopper):
    page = shopper.page(shopper.buy(new_plan(app), decision="declined"))

    assert "El pago fue rechazado" in page and BLOCK not in page


def test_each_product_gets_one_guide_and_a_product_without_an_address_gets_steps_only(
    app, shopper
):
    windows = new_plan(app, platform=Platform.WINDOWS, download_url=None, name="Hogar")
    family = new_plan(app, platform=Platform.MULTI, name="Familia")
    for plan_id in (windows, family):
        shopper.add(plan_id, 2)
    gateway = shopper.check_out().headers["Location"]

    page = shopper.page(shopper.answer_gateway(gateway).headers["Location"])

    assert steps_in(page) == [
        ["Descarga el programa para Windows e instálalo.", *COMMON_STEPS],
        ["En cada dispositivo, descarga el programa para su sistema (Windows, macOS, "
         "Android o Linux) e instálalo.", *COMMON_STEPS],
    ]
    assert re.findall(r'class="download-link" href="([^"]+)"', page) == [DOWNLOAD]
    assert "Familia <span class=\"guide-platform\">· Multiplataforma</span>" in page


def test_the_order_page_runs_as_many_queries_for_three_products_as_for_one(
    app, shopper, stranger, count_queries
):
    one = shopper.buy(new_plan(app, name="Uno"))
    for n, platform in enumerate((Platform.LINUX, Platform.MACOS, Platform.WINDOWS)):
        stranger.add(new_plan(app, name=f"Producto {n}", platform=platform), 2)
    gateway = stranger.check_out().headers["Location"]
    three = stranger.answer_gateway(gateway).headers["Location"]
    shopper.page(one), stranger.page(three)  # warm both sessions up

    with count_queries() as for_one:
        single = shopper.page(one)
    with count_queries() as for_three:
        triple = stranger.page(three)

    assert len(steps_in(single)) == 1 and len(steps_in(triple)) == 3
    assert for_three.count == for_one.count


def test_the_support_settings_show_on_the_order_page_and_in_the_email(make_app, shopper_for):
    app = make_app(STORE_MAIL_TRANSPORT="memory", STORE_SUPPORT_EMAIL="soporte@tienda.example",
                   STORE_SUPPORT_URL="https://wa.me/5355550100")
    shopper = shopper_for(app)

    page = unescape(shopper.page(shopper.buy(new_plan(app))))
    text, html = parts(delivered(app)[0])

    assert (f'{SUPPORT} <a href="mailto:soporte@tienda.example">soporte@tienda.example</a> '
            'o entra en <a href="https://wa.me/5355550100" rel="noopener noreferrer">'
            "https://wa.me/5355550100</a>.") in page
    assert (f"{SUPPORT} soporte@tienda.example o entra en https://wa.me/5355550100."
            in text)
    assert ('<a href="mailto:soporte@tienda.example">soporte@tienda.example</a> o entra en '
            '<a href="https://wa.me/5355550100">https://wa.me/5355550100</a>.') in unescape(html)


# The delivery email


def test_the_delivery_email_has_the_download_address_the_steps_and_support_in_text_and_html(
    app, shopper
):
    shopper.buy(new_plan(app))

    (email,) = delivered(app)
    text, html = parts(email)

    guide = "\n".join([
        "Instalar y activar",
        "",
        "Almiquí Móvil (Android)",
        f"Descarga: {DOWNLOAD}",
        f"  1. {ANDROID_STEP}",
        *(f"  {n}. {step}" for n, step in enumerate(COMMON_STEPS, start=2)),
    ])
    assert guide in text
    assert f"{SUPPORT} ayuda@tienda-almiqui.example." in text
    assert "Cada dispositivo que actives ocupa un puesto de la licencia" in text
    html = unescape(html)
    assert f'<a href="{DOWNLOAD}">Descargar Almiquí Móvil</a>' in html
    assert re.findall(r"<li>(.*?)</li>", html) == [ANDROID_STEP, *COMMON_STEPS]
    assert (f'{SUPPORT} <a href="mailto:ayuda@tienda-almiqui.example">'
            "ayuda@tienda-almiqui.example</a>.") in html


def test_an_order_placed_in_english_gets_the_steps_in_english_by_email(app, shopper):
    shopper.client.post("/idioma", data={"language": "en"})
    shopper.buy(new_plan(app))

    text, _html = parts(delivered(app)[0])

    assert "Install and activate" in text and f"Download: {DOWNLOAD}" in text
    assert "  3. Choose “Activar licencia”." in text
    assert "Trouble activating? Write to us at ayuda@tienda-almiqui.example." in text
