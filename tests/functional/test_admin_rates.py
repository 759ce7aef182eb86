"""Exchange rates in the back office: the rates in use, setting a new one, the history."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from store.audit.models import AuditEvent
from store.extensions import db
from store.payments.models import ExchangeRate


@pytest.fixture
def app(make_app):
    return make_app(STORE_EXCHANGE_RATES="USD:120.00")


def field_errors(response) -> list[str]:
    return [unescape(e) for e in re.findall(r'class="field-error">(.*?)</p>',
                                            response.get_data(as_text=True))]


def test_the_page_shows_the_setting_as_the_rate_in_use_until_an_admin_sets_one(admin):
    html = admin.client.get("/admin/tipos-de-cambio").get_data(as_text=True)

    assert re.search(r"<td>USD</td>\s*<td class=\"number\">120.00</td>\s*<td>de la "
                     r"configuración del servidor", html)
    assert "sin tipo: no se puede cobrar en esta moneda" in html  # EUR
    assert "Aún no se ha fijado ningún tipo aquí." in html


def test_an_admin_sets_a_rate_that_is_added_to_the_history_and_audited(app, admin):
    response = admin.client.post("/admin/tipos-de-cambio",
                                 data={"currency": "USD", "rate": "125,50"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/tipos-de-cambio"
    html = admin.client.get("/admin/tipos-de-cambio").get_data(as_text=True)
    assert "Los pagos nuevos en USD usan ahora 125.50 CUP por 1 USD." in html
    assert re.search(r"<td>USD</td><td class=\"number\">125.50</td><td>admin@example.com</td>",
                     html)
    with app.app_context():
        row = db.session.scalar(sa.select(ExchangeRate))
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "exchange_rate.set"))
        assert (row.currency, row.set_by) == ("USD", "admin@example.com")
        assert str(row.rate) == "125.50"
        assert event.details["changes"]["cup_per_unit"] == [None, "125.50"]


def test_a_second_rate_adds_a_row_and_leaves_the_first_as_it_was(app, admin):
    admin.client.post("/admin/tipos-de-cambio", data={"currency": "USD", "rate": "125"})
    admin.client.post("/admin/tipos-de-cambio", data={"currency": "USD", "rate": "130.000001"})

    with app.app_context():
        rates = db.session.scalars(sa.select(ExchangeRate.cup_per_unit)
                                   .order_by(ExchangeRate.id)).all()
    assert rates == ["125", "130.000001"]


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("", "Escribe el tipo de cambio."),
        ("   ", "Escribe el tipo de cambio."),
        ("abc", "Escribe el tipo como un número"),
        ("-5", "Escribe el tipo como un número"),
        ("1e5", "Escribe el tipo como un número"),
        ("1.1234567", "Escribe el tipo como un número"),
        ("1.000.000", "Escribe el tipo como un número"),
        ("٣٣", "Escribe el tipo como un número"),
        ("9" * 500, "Escribe el tipo como un número"),
        ("0", "Escribe un número mayor que cero."),
        ("0,000000", "Escribe un número mayor que cero."),
        ("1000000.5", "Escribe como máximo 1 000 000 CUP"),
    ],
)
def test_a_bad_rate_is_a_spanish_field_error_and_nothing_is_written(admin, count, rate,
                                                                    message):
    response = admin.client.post("/admin/tipos-de-cambio", data={"currency": "USD", "rate": rate})

    assert response.status_code == 400
    assert any(error.startswith(message) for error in field_errors(response))
    assert count(ExchangeRate) == 0


def test_a_currency_that_is_not_a_settlement_currency_is_refused(admin, count):
    response = admin.client.post("/admin/tipos-de-cambio", data={"currency": "CUP", "rate": "1"})

    assert response.status_code == 400
    assert field_errors(response) == ["Opción inválida."]
    assert count(ExchangeRate) == 0


def test_a_rate_far_from_the_one_in_use_waits_for_a_confirmation(app, admin):
    admin.client.post("/admin/tipos-de-cambio", data={"currency": "USD", "rate": "120.50"})

    typo = admin.client.post("/admin/tipos-de-cambio", data={"currency": "USD", "rate": "12050"})
    confirmed = admin.client.post("/admin/tipos-de-cambio",
                                  data={"currency": "USD", "rate": "12050", "confirm": "y"})

    assert typo.status_code == 400
    html = typo.get_data(as_text=True)
    assert "un cambio de más del 20" in html and 'name="confirm"' in html
    assert confirmed.status_code == 302
    with app.app_context():
        rates = db.session.scalars(sa.select(ExchangeRate.cup_per_unit)
                                   .order_by(ExchangeRate.id)).all()
        assert rates == ["120.50", "12050"]
