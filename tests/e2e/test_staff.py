"""An admin sets up the second factor in a real browser and reaches /admin (issue 9, §3)."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from store.accounts.models import Role
from tests.conftest import Shopper, StaffDesk
from tests.e2e.conftest import overflowing_elements

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_an_admin_enrols_a_totp_app_sees_the_recovery_codes_and_reaches_admin(
    app, browser, live_server, screenshots, width
):
    StaffDesk(app).hire("admin@example.com", Role.ADMIN)
    context = browser.new_context(java_script_enabled=False, locale="es-CU",
                                  viewport={"width": width, "height": 800})
    page = context.new_page()

    page.goto(live_server + "/cuenta/entrar")
    page.get_by_label("Correo electrónico").fill("admin@example.com")
    page.get_by_label("Contraseña").fill(Shopper.PASSWORD)
    page.get_by_role("button", name="Entrar").click()

    expect(page.get_by_role("heading", name="Configura tu segundo factor")).to_be_visible()
    expect(page.locator("svg.qr-code")).to_be_visible()
    assert overflowing_elements(page) == []
    screenshots(page, f"enrol-{width}")
    secret = re.sub(r"\s", "", page.locator("#totp-secret").inner_text())
    page.get_by_label("Código de la aplicación").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirmar").click()

    expect(page.get_by_role("heading", name="Tus códigos de recuperación")).to_be_visible()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(set(codes)) == 10
    assert overflowing_elements(page) == []
    screenshots(page, f"recovery-codes-{width}")
    page.get_by_role("link", name="Ya los guardé, continuar").click()

    expect(page).to_have_url(f"{live_server}/admin/")
    expect(page.get_by_role("heading", name="Administración")).to_be_visible()
    screenshots(page, f"admin-{width}")
    context.close()
