"""The devices on "Mis licencias": listed on each licence card, freed by their owner."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from store.accounts.services import NewAccount, register
from store.extensions import db
from store.licensing.models import Activation, Licence
from tests.conftest import Shopper
from tests.factories import issue_licence, make_product

ACTIVATE = "/api/v1/licences/activate"


@pytest.fixture
def plan_id(app) -> int:
    """A generated plan of three devices."""
    with app.app_context():
        product = make_product(name="Almiquí Familia", plans=[{"name": "1 año · 3 PC", "seats": 3}])
        db.session.commit()
        return product.plans[0].id


def buy_licences(shopper: Shopper, plan_id: int, quantity: int = 1) -> list[str]:
    """Register, buy ``quantity`` licences and return their keys."""
    shopper.register()
    return Shopper.keys_in(shopper.page(shopper.buy(plan_id, quantity)))


def activate(client, key: str, fingerprint: str, label: str | None = None) -> None:
    body = {"key": key, "fingerprint": fingerprint} | ({"label": label} if label else {})
    assert client.post(ACTIVATE, json=body).status_code == 200


def seats(app) -> list[tuple[int, int, str | None]]:
    """Every seat held: (licence id, activation id, label)."""
    with app.app_context():
        return [tuple(row) for row in db.session.execute(sa.select(
            Activation.licence_id, Activation.id, Activation.label).order_by(Activation.id))]


def free_url(licence_id: int, activation_id: int) -> str:
    return f"/cuenta/licencias/{licence_id}/dispositivos/{activation_id}/liberar"


def test_each_licence_card_lists_its_devices_with_their_dates_and_the_seats_in_use(
    app, client, shopper, plan_id
):
    (key,) = buy_licences(shopper, plan_id)
    activate(client, key, "laptop-1", "Portátil de Ana")
    activate(client, key, "phone-2")

    listing = shopper.page("/cuenta/licencias")

    assert "2 de 3 dispositivos en uso" in listing
    assert "Portátil de Ana" in listing and "Dispositivo sin nombre" in listing
    assert listing.count("Activado: ") == 2 and listing.count("Visto por última vez: ") == 2
    assert listing.count("Liberar este dispositivo") == 2


def test_a_licence_without_devices_says_none_is_in_use(shopper, plan_id):
    buy_licences(shopper, plan_id)

    listing = shopper.page("/cuenta/licencias")

    assert "0 de 3 dispositivos en uso" in listing
    assert "Ningún dispositivo usa esta licencia todavía." in listing


def test_the_owner_frees_one_device_and_its_seat_goes_back(app, client, shopper, plan_id):
    (key,) = buy_licences(shopper, plan_id)
    activate(client, key, "laptop-1", "Portátil de Ana")
    activate(client, key, "phone-2", "Móvil de Ana")
    (licence_id, laptop, _), (_, phone, _) = seats(app)

    response = shopper.client.post(free_url(licence_id, laptop))

    assert response.status_code == 302 and response.headers["Location"] == "/cuenta/licencias"
    assert seats(app) == [(licence_id, phone, "Móvil de Ana")]
    listing = shopper.page("/cuenta/licencias")
    assert Shopper.flashes_in(listing, "success") == [
        "Dispositivo liberado: su puesto ya puede usarlo otro dispositivo."]
    assert "Portátil de Ana" not in listing and "Móvil de Ana" in listing
    assert "1 de 3 dispositivos en uso" in listing


def test_freeing_a_device_already_freed_says_so_and_frees_nothing_else(
    app, client, shopper, plan_id
):
    (key,) = buy_licences(shopper, plan_id)
    activate(client, key, "laptop-1")
    activate(client, key, "phone-2")
    (licence_id, laptop, _), (_, phone, _) = seats(app)
    shopper.client.post(free_url(licence_id, laptop))
    shopper.page("/cuenta/licencias")  # reads the first confirmation

    again = shopper.client.post(free_url(licence_id, laptop))

    assert again.status_code == 302 and again.headers["Location"] == "/cuenta/licencias"
    assert Shopper.flashes_in(shopper.page("/cuenta/licencias"), "info") == [
        "Ese dispositivo ya estaba liberado: ya no usa esta licencia."]
    assert seats(app) == [(licence_id, phone, None)]


def test_another_customer_gets_404_and_frees_nothing(app, client, shopper, shopper_for, plan_id):
    (key,) = buy_licences(shopper, plan_id)
    activate(client, key, "laptop-1")
    ((licence_id, laptop, _),) = seats(app)
    beto = shopper_for(app)
    beto.register(email="beto@example.com", name="Beto Díaz")

    response = beto.client.post(free_url(licence_id, laptop))

    assert response.status_code == 404
    assert seats(app) == [(licence_id, laptop, None)]


def test_a_guest_is_sent_to_sign_in_and_frees_nothing(app, client, shopper, shopper_for, plan_id):
    (key,) = buy_licences(shopper, plan_id)
    activate(client, key, "laptop-1")
    ((licence_id, laptop, _),) = seats(app)

    response = shopper_for(app).client.post(free_url(licence_id, laptop))

    assert response.status_code == 302 and "/cuenta/entrar" in response.headers["Location"]
    assert seats(app) == [(licence_id, laptop, None)]


def test_a_device_of_another_of_the_owners_licences_is_not_freed_through_this_one(
    app, client, shopper, plan_id
):
    first, second = buy_licences(shopper, plan_id, 2)
    activate(client, first, "laptop-1")
    activate(client, second, "phone-2")
    (one, _, _), (two, phone, _) = sorted(seats(app))

    shopper.client.post(free_url(one, phone))

    assert (two, phone, None) in seats(app) and len(seats(app)) == 2


def csrf_token(html: str, action: str) -> str:
    """The CSRF token of the form posting to ``action`` on the page."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S)[0]
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)[1]


def test_freeing_needs_the_csrf_token_of_the_page(csrf_app, shopper_for):
    with csrf_app.app_context():
        key, licence_id = issue_licence(seats=2)
        db.session.get(Licence, licence_id).order_line.order.email = "ana@example.com"
        db.session.commit()
        register(NewAccount(email="ana@example.com", name="Ana Pérez",
                            password=Shopper.PASSWORD), verified=True)
    activate(csrf_app.test_client(), key, "laptop-1")
    ((_, laptop, _),) = seats(csrf_app)
    ana = shopper_for(csrf_app)
    sign_in = ana.page("/cuenta/entrar")
    ana.sign_in(csrf_token=csrf_token(sign_in, "/cuenta/entrar"))

    forged = ana.client.post(free_url(licence_id, laptop))
    kept = seats(csrf_app)
    token = csrf_token(ana.page("/cuenta/licencias"), free_url(licence_id, laptop))
    freed = ana.client.post(free_url(licence_id, laptop), data={"csrf_token": token})

    assert forged.status_code == 400 and kept == [(licence_id, laptop, None)]
    assert freed.status_code == 302 and seats(csrf_app) == []


@pytest.mark.parametrize("licences", [2, 6])
def test_my_licences_costs_the_same_queries_whatever_the_number_of_licences_and_devices(
    app, client, shopper, plan_id, count_queries, licences
):
    for n, key in enumerate(buy_licences(shopper, plan_id, licences)):
        activate(client, key, f"laptop-{n}", "Portátil")
        activate(client, key, f"phone-{n}")
    shopper.page("/cuenta/licencias")

    with count_queries() as counter:
        listing = shopper.page("/cuenta/licencias")

    assert listing.count("Liberar este dispositivo") == 2 * licences
    statements = [s for s in counter.statements if s != "BEGIN"]  # SQLite logs its BEGIN
    assert len(statements) == QUERIES_PER_LICENCES_PAGE, statements


# The signed-in user, the licences with their lines, their orders, their devices, which
# of their plans have a renewal on sale, and the header's unpaid orders.
QUERIES_PER_LICENCES_PAGE = 6
