"""The back office's frame: who may open it, its menu, and that it is never cached."""

from __future__ import annotations

from store.accounts.models import Role


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
