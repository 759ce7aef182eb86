"""The back office's frame: who may open it, its menu, and that it is never cached."""

from __future__ import annotations

import re

import pytest

from store.accounts.models import Role
from store.extensions import db
from tests.factories import make_order, make_plan, make_product


def current_entries(html: str) -> list[str]:
    """The labels of the back office menu entries marked current."""
    nav = re.search(r'<nav class="admin-nav".*?</nav>', html, re.S)[0]
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', nav)


@pytest.fixture
def shop(app) -> dict[str, int | str]:
    """A product with a plan and an order of it: their ids and the order's number."""
    with app.app_context():
        product = make_product(plans=[])
        plan = make_plan(product)
        order = make_order(plan)
        db.session.commit()
        return {"product": product.id, "plan": plan.id, "order": order.number}


def test_an_admin_lands_on_the_dashboard_with_the_back_office_menu(admin):
    page = admin.client.get("/admin/")

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert 'aria-current="page">Panel</a>' in html
    assert "/static/css/admin.css" in html


def test_support_staff_cannot_open_the_back_office(desk):
    support = desk.signed_in("soporte@example.com", Role.SUPPORT)

    assert support.client.get("/admin/").status_code == 403


def test_the_storefront_does_not_load_the_back_office_styles(client):
    assert "admin.css" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path, section", [
    ("/admin/", "Panel"),
    ("/admin/productos/", "Productos"),
    ("/admin/productos/{product}/", "Productos"),
    ("/admin/productos/{product}/planes/nuevo", "Productos"),
    ("/admin/planes/{plan}/", "Productos"),
    ("/admin/existencias/importar", "Existencias de claves"),
    ("/admin/pedidos", "Pedidos"),
    ("/admin/pedidos/{order}", "Pedidos"),
    ("/admin/usuarios/1", "Usuarios"),  # the admin's own account
    ("/admin/tipos-de-cambio", "Tipos de cambio"),
    ("/admin/auditoria", "Registro de auditoría"),
])
def test_every_page_marks_its_section_in_the_menu_and_only_that_one(admin, shop, path, section):
    page = admin.client.get(path.format(**shop))

    assert page.status_code == 200
    assert current_entries(page.get_data(as_text=True)) == [section]
