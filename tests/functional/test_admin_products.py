"""Back office, products and plans: an admin creates and edits the catalogue (issue 10 §1)."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image, PngImagePlugin

from store.audit.models import AuditEvent
from store.catalogue.images import MAX_IMAGE_BYTES
from store.catalogue.models import Fulfilment, Plan, Product
from store.extensions import db
from store.orders.models import Order, OrderLine
from tests.factories import make_order, make_plan, make_pool, make_product

PRODUCT = {"name": "Almiquí Móvil Plus", "summary": "Protección para el móvil.",
           "description": "", "platform": "android", "audience": "home", "sort_order": "3"}
PLAN = {"name": "1 año · 1 móvil", "sku": "AMP-1A-1M", "duration_days": "365", "seats": "1",
        "price": "1 250,50", "fulfilment": "generated", "kind": "new", "is_active": "y",
        "sort_order": "0", "low_stock_threshold": "10"}


def picture(size=(640, 480), fmt="PNG", pad_to: int | None = None) -> bytes:
    """An image with a camera's metadata; ``pad_to`` bytes with a text chunk (PNG only)."""
    image = Image.effect_mandelbrot(size, (-2, -1.5, 1, 1.5), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "Camara de Ana"  # Make
    out = io.BytesIO()
    if pad_to is None:
        image.save(out, fmt, exif=exif.tobytes())
        return out.getvalue()
    image.save(out, "PNG")
    info = PngImagePlugin.PngInfo()
    info.add_text("pad", "x" * (pad_to - len(out.getvalue()) - 16))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def create_product(admin, image: bytes | None = None, filename="foto.png", **fields):
    data = {**PRODUCT, **fields}
    if image is not None:
        data["image"] = (io.BytesIO(image), filename)
    return admin.client.post("/admin/productos/nuevo", data=data)


def errors_in(html: str) -> list[str]:
    return re.findall(r'<p class="field-error">(.*?)</p>', html)


def product_id_from(response) -> int:
    return int(re.search(r"/admin/productos/(\d+)/", response.headers["Location"])[1])


def test_a_product_created_with_an_image_shows_it_in_the_storefront_with_its_size(
        app, admin, tmp_path):
    created = create_product(admin, picture())
    assert created.status_code == 302
    product_id = product_id_from(created)
    assert admin.client.post(f"/admin/productos/{product_id}/planes/nuevo",
                             data=PLAN).status_code == 302

    page = admin.page("/productos/almiqui-movil-plus/")
    listed = admin.page("/productos/")

    name = re.search(r'<img src="/imagenes/([0-9a-f]{32})-page\.webp" alt="" '
                     r'width="128" height="128"', page)[1]
    assert f'<img src="/imagenes/{name}-card.webp" alt="" width="56" height="56"' in listed
    assert "1,250.50 CUP" in page
    served = admin.client.get(f"/imagenes/{name}-page.webp")
    assert served.status_code == 200 and served.mimetype == "image/webp"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    kept = Image.open(io.BytesIO(served.data))
    assert (kept.format, kept.size) == ("WEBP", (256, 256))
    assert not kept.getexif() and "icc_profile" not in kept.info
    assert (tmp_path / "instance/uploads/products" / f"{name}-card.webp").is_file()


def test_creating_a_product_and_a_plan_is_audited_with_their_values(app, admin):
    product_id = product_id_from(create_product(admin))
    admin.client.post(f"/admin/productos/{product_id}/planes/nuevo", data=PLAN)

    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        plan = db.session.scalar(sa.select(Plan).where(Plan.sku == "AMP-1A-1M"))
    assert [(e.action, e.actor) for e in events][-2:] == [
        ("product.create", "admin@example.com"), ("plan.create", "admin@example.com")]
    assert events[-2].details["changes"]["slug"] == [None, "almiqui-movil-plus"]
    assert events[-1].details["changes"]["price_minor"] == [None, 125050]
    assert plan.price_minor == 125050 and plan.product_id == product_id


def test_a_second_product_with_the_same_name_gets_a_numbered_slug(app, admin):
    create_product(admin)
    create_product(admin)

    with app.app_context():
        slugs = db.session.scalars(sa.select(Product.slug).order_by(Product.id)).all()
    assert slugs == ["almiqui-movil-plus", "almiqui-movil-plus-2"]


def test_renaming_keeps_the_slug_and_a_new_slug_redirects_from_the_old_one(app, admin):
    product_id = product_id_from(create_product(admin))
    admin.client.post(f"/admin/productos/{product_id}/planes/nuevo", data=PLAN)
    edit = f"/admin/productos/{product_id}/"

    renamed = admin.client.post(edit, data={**PRODUCT, "name": "Almiquí Móvil",
                                             "slug": "almiqui-movil-plus"})
    moved = admin.client.post(edit, data={**PRODUCT, "slug": "almiqui-movil"})

    assert renamed.status_code == moved.status_code == 302
    old = admin.client.get("/productos/almiqui-movil-plus/")
    assert old.status_code == 301
    assert old.headers["Location"] == "/productos/almiqui-movil/"
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "product.update").order_by(AuditEvent.id.desc())).first()
    assert event.details["changes"]["slug"] == ["almiqui-movil-plus", "almiqui-movil"]


def test_another_product_cannot_take_a_slug_in_use_or_kept_as_an_old_one(app, admin):
    first = product_id_from(create_product(admin))
    admin.client.post(f"/admin/productos/{first}/", data={**PRODUCT, "slug": "movil"})
    second = product_id_from(create_product(admin, name="Otro"))

    for taken in ("movil", "almiqui-movil-plus"):
        refused = admin.client.post(f"/admin/productos/{second}/",
                                    data={**PRODUCT, "name": "Otro", "slug": taken})
        assert refused.status_code == 400
        assert "Otro producto ya usa esta dirección." in errors_in(refused.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Product, second).slug == "otro"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("price", "cincuenta", "no es un importe"),
    ("price", "-5", "no puede ser negativo"),
    ("price", "1000000.01", "Un precio es como máximo 1,000,000.00 CUP."),
    ("price", "0", "Un precio es como mínimo 1.00 CUP."),
    ("price", "0,00", "Un precio es como mínimo 1.00 CUP."),
    ("price", "0,500", "no es un importe"),
    ("price", "9" * 5000, "Usa como máximo 40 caracteres."),
    ("price", "", "Escribe un importe."),
    ("duration_days", "-30", "Escribe un número entero de 1 a 3660."),
    ("duration_days", "abc", "No es un valor entero válido"),
    ("seats", "0", "Escribe un número entero de 1 a 10000."),
    ("low_stock_threshold", "-1", "Escribe un número entero de 0 a 1000000."),
    ("name", "", "Rellena este campo."),
    ("sku", "AMP 1A", "Usa letras sin tilde"),
    ("fulfilment", "magic", "Opción inválida"),
])
def test_bad_plan_input_is_a_spanish_field_error_and_creates_nothing(
        app, admin, count, field, value, message):
    with app.app_context():
        product = make_product(plans=[])
        db.session.commit()
        product_id = product.id

    response = admin.client.post(f"/admin/productos/{product_id}/planes/nuevo",
                                 data={**PLAN, field: value})

    assert response.status_code == 400
    assert any(message in error for error in errors_in(response.get_data(as_text=True)))
    assert count(Plan) == 0


def test_a_duplicate_sku_is_a_field_error_and_changes_nothing(app, admin, count):
    with app.app_context():
        product = make_product(plans=[{"sku": "AMP-1A-1M"}])
        db.session.commit()
        product_id = product.id

    response = admin.client.post(f"/admin/productos/{product_id}/planes/nuevo", data=PLAN)

    assert response.status_code == 400
    assert "Otro plan ya tiene este SKU." in errors_in(response.get_data(as_text=True))
    assert count(Plan) == 1


@pytest.mark.parametrize(("image", "filename", "message"), [
    (b"just some text, not a picture\n", "foto.png",
     "El archivo no es una imagen PNG, JPEG o WebP."),
    (picture(fmt="GIF"), "foto.gif", "El archivo no es una imagen PNG, JPEG o WebP."),
    (picture(pad_to=MAX_IMAGE_BYTES + 1), "foto.png", "La imagen ocupa más de 2 MB."),
], ids=["text renamed .png", "gif", "over 2 MB"])
def test_an_image_that_cannot_be_used_is_a_field_error_and_creates_nothing(
        admin, count, image, filename, message):
    response = create_product(admin, image, filename)

    assert response.status_code == 400
    assert message in errors_in(response.get_data(as_text=True))
    assert count(Product) == 0 and count(AuditEvent, AuditEvent.action == "product.create") == 0


def test_an_image_of_exactly_2_mb_is_accepted(admin, count):
    image = picture(pad_to=MAX_IMAGE_BYTES)
    assert len(image) == MAX_IMAGE_BYTES

    assert create_product(admin, image).status_code == 302
    assert count(Product, Product.image_name.is_not(None)) == 1


def test_a_body_far_over_the_limit_gets_the_spanish_413_page(admin, count):
    response = create_product(admin, b"x" * (3 * 1024 * 1024))

    assert response.status_code == 413
    assert "demasiado" in response.get_data(as_text=True)
    assert count(Product) == 0


def test_only_an_admin_may_send_a_body_over_the_app_limit(csrf_app):
    response = csrf_app.test_client().post("/admin/productos/nuevo", data={
        **PRODUCT, "image": (io.BytesIO(picture(pad_to=MAX_IMAGE_BYTES)), "foto.png")})

    assert response.status_code == 413  # refused before the body is read, CSRF and all


def test_switching_fulfilment_is_refused_while_an_order_holds_reserved_keys(
        app, admin, shopper):
    with app.app_context():
        product = make_product(plans=[{"fulfilment": Fulfilment.POOL, "sku": "POOL-1"}])
        make_pool(product.plans[0], 3)
        db.session.commit()
        plan_id = product.plans[0].id
    shopper.place_unpaid(plan_id)

    response = admin.client.post(f"/admin/planes/{plan_id}/", data={
        **PLAN, "sku": "POOL-1", "fulfilment": "generated"})

    assert response.status_code == 400
    assert any("claves reservadas" in error
               for error in errors_in(response.get_data(as_text=True)))
    with app.app_context():
        assert db.session.get(Plan, plan_id).fulfilment == Fulfilment.POOL


def test_switching_fulfilment_is_allowed_with_no_reservation_open(app, admin):
    with app.app_context():
        product = make_product(plans=[{"fulfilment": Fulfilment.POOL, "sku": "POOL-1"}])
        make_pool(product.plans[0], 3)
        db.session.commit()
        plan_id = product.plans[0].id

    response = admin.client.post(f"/admin/planes/{plan_id}/", data={
        **PLAN, "sku": "POOL-1", "fulfilment": "generated"})

    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Plan, plan_id).fulfilment == Fulfilment.GENERATED


def test_a_new_price_reaches_new_carts_and_leaves_existing_orders_as_they_were(
        app, admin, shopper):
    with app.app_context():
        product = make_product(plans=[{"sku": "AMP-1A-1M", "price_minor": 5000}])
        plan = product.plans[0]
        order = make_order(plan, quantity=2)
        db.session.commit()
        plan_id, order_id = plan.id, order.id
    shopper.add(plan_id)

    assert admin.client.post(f"/admin/planes/{plan_id}/", data=PLAN).status_code == 302

    with app.app_context():
        order = db.session.get(Order, order_id)
        line = db.session.scalar(sa.select(OrderLine).where(OrderLine.order_id == order_id))
        assert (order.total_minor, line.unit_price_minor) == (10000, 5000)
    cart = shopper.page("/carrito/")
    assert "1,250.50 CUP" in cart


def test_recommending_a_plan_clears_the_others_of_its_product(app, admin):
    with app.app_context():
        product = make_product(plans=[{"is_recommended": True}, {"sku": "AMP-1A-1M"}])
        db.session.commit()
        first, second = (plan.id for plan in product.plans)

    response = admin.client.post(f"/admin/planes/{second}/", data={**PLAN, "is_recommended": "y"})

    assert response.status_code == 302
    with app.app_context():
        assert not db.session.get(Plan, first).is_recommended
        assert db.session.get(Plan, second).is_recommended
        cleared = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "plan.update", AuditEvent.subject_id == first)).one()
        assert cleared.details["changes"]["is_recommended"] == [True, False]


def test_a_deactivated_product_leaves_the_storefront_and_the_change_is_audited(app, admin):
    with app.app_context():
        product = make_product(slug="hogar")
        db.session.commit()
        product_id = product.id

    response = admin.client.post(f"/admin/productos/{product_id}/activo", data={"active": "0"})

    assert response.status_code == 302
    assert admin.client.get("/productos/hogar/").status_code == 404
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "product.deactivate"))
    assert event.details["changes"] == {"is_active": [True, False]}
    assert event.subject_id == product_id


def test_the_list_finds_products_by_name_or_sku_and_filters_by_status(app, admin):
    with app.app_context():
        make_product(name="Escudo Web", plans=[{"sku": "EW-1A"}])
        make_product(name="Servidor Linux", is_active=False, plans=[{"sku": "SL-1A"}])
        db.session.commit()

    by_name = admin.page("/admin/productos/?q=escudo")
    by_sku = admin.page("/admin/productos/?q=sl-1a")
    inactive = admin.page("/admin/productos/?status=inactive")

    assert "Escudo Web" in by_name and "Servidor Linux" not in by_name
    assert "Servidor Linux" in by_sku and "Escudo Web" not in by_sku
    assert "Servidor Linux" in inactive and "Escudo Web" not in inactive


@pytest.mark.parametrize("name", ["../secret", "0" * 32 + "-huge", "ABC-card"])
def test_an_image_address_that_is_not_an_uploaded_name_is_not_found(client, name):
    assert client.get(f"/imagenes/{name}.webp").status_code == 404


def test_products_without_an_image_keep_their_generated_svg(app, client):
    with app.app_context():
        make_product(slug="hogar", image="img/products/almiqui-antivirus-hogar.svg")
        db.session.commit()

    assert "/static/img/products/almiqui-antivirus-hogar.svg" in client.get(
        "/productos/hogar/").get_data(as_text=True)


def test_editing_a_product_without_choosing_a_file_keeps_its_picture(app, admin):
    with app.app_context():
        product = make_product(slug="hogar", image="img/products/almiqui-antivirus-hogar.svg")
        db.session.commit()
        product_id = product.id

    saved = admin.client.post(f"/admin/productos/{product_id}/",
                              data={**PRODUCT, "slug": "hogar", "summary": "Otro resumen"})

    assert saved.status_code == 302
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.summary, product.image_name) == ("Otro resumen", None)
        assert product.image == "img/products/almiqui-antivirus-hogar.svg"


def test_a_plan_with_orders_is_deactivated_never_deleted(app, admin, count):
    with app.app_context():
        product = make_product()
        plan = make_plan(product, sku="X-1")
        make_order(plan)
        db.session.commit()
        plan_id = plan.id

    admin.client.post(f"/admin/planes/{plan_id}/activo", data={"active": "0"})

    assert count(Plan, Plan.id == plan_id, Plan.is_active.is_(False)) == 1
    assert count(Order) == 1


def test_a_word_where_a_number_belongs_gets_one_message(app, admin):
    with app.app_context():
        product = make_product(plans=[])
        db.session.commit()
        product_id = product.id

    response = admin.client.post(f"/admin/productos/{product_id}/planes/nuevo",
                                 data={**PLAN, "seats": "tres"})

    assert response.status_code == 400
    assert errors_in(response.get_data(as_text=True)) == ["No es un valor entero válido."]


@pytest.mark.parametrize("path", [
    "/admin/productos/99999999999999999999999/", "/admin/planes/2147483648/",
    "/admin/productos/99999999999999999999999/planes/nuevo",
])
def test_an_id_too_large_for_the_database_is_not_found(admin, path):
    assert admin.client.get(path).status_code == 404


def test_a_junk_status_in_the_product_filter_is_explained_in_spanish(admin):
    response = admin.client.get("/admin/productos/?status=zz")

    assert "Opción inválida" in response.get_data(as_text=True)
