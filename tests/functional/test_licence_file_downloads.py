"""Signed licence files for their owner: from "Mis licencias", the order page and the
delivery email; nobody else gets them."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from store.extensions import db
from store.licensing.files import verify_licence_file
from store.licensing.models import Licence, LicenceStatus
from store.mail.services import send_pending
from store.signing import get_signer
from tests.conftest import Shopper

BASE = "http://127.0.0.1:5000"


def licence_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Licence.id).order_by(Licence.id)))


def verified(app, response) -> dict:
    """The licence of a downloaded file, once its signature is checked with the store's keys."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        return verify_licence_file(json.loads(response.get_data()), get_signer().public_keys())


def delivery_email(app):
    with app.app_context():
        send_pending()
    sent = app.extensions["store_mail_transport"].sent
    return [email for email in sent if "Tus licencias" in email["Subject"]][-1]


def test_the_owner_downloads_a_signed_file_from_my_licences_and_others_get_404(
    app, shopper, shopper_for, plans
):
    shopper.register()
    order_page = shopper.buy(plans["generated"], 2)
    keys = Shopper.keys_in(shopper.page(order_page))
    first, second = licence_ids(app)

    listing = shopper.page("/cuenta/licencias")
    response = shopper.client.get(f"/cuenta/licencias/{first}/licencia.json")
    other = shopper_for(app)
    other.register(email="beto@example.com", name="Beto Díaz")

    assert listing.count("Descargar archivo de licencia") == 2
    assert f'href="/cuenta/licencias/{second}/licencia.json" download' in listing
    licence = verified(app, response)
    assert (licence["licence_id"], licence["product"], licence["plan"], licence["seats"]) == (
        first, "Almiquí Hogar", "1 año · 1 PC", 1)
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=licencia-{first}.json")
    text = response.get_data(as_text=True).replace("-", "")
    assert not any(key.replace("-", "") in text for key in keys)
    assert other.client.get(f"/cuenta/licencias/{first}/licencia.json").status_code == 404
    assert shopper.client.get("/cuenta/licencias/999/licencia.json").status_code == 404


def test_a_signed_out_visitor_is_sent_to_sign_in_for_a_licence_file(app, shopper, plans):
    shopper.buy(plans["generated"])

    response = shopper.client.get(f"/cuenta/licencias/{licence_ids(app)[0]}/licencia.json")

    assert response.status_code == 302 and "/cuenta/entrar" in response.headers["Location"]


def test_the_order_page_links_each_licence_file_for_the_buyer_only(
    app, shopper, stranger, plans
):
    order_page = shopper.buy(plans["generated"], 2)
    number = shopper.last_order()
    ids = licence_ids(app)

    html = shopper.page(order_page)
    response = shopper.client.get(f"/pedido/{number}/licencias/{ids[1]}.json")

    for licence_id in ids:
        assert f'href="/pedido/{number}/licencias/{licence_id}.json" download' in html
    assert html.count("Descargar archivo de licencia") == 2
    assert verified(app, response)["licence_id"] == ids[1]
    assert stranger.client.get(f"/pedido/{number}/licencias/{ids[1]}.json").status_code == 404


def test_a_licence_of_another_order_is_not_found_through_this_order(app, shopper, plans):
    shopper.buy(plans["generated"])
    first_number = shopper.last_order()
    shopper.buy(plans["generated"])
    other_licence = licence_ids(app)[1]

    response = shopper.client.get(f"/pedido/{first_number}/licencias/{other_licence}.json")

    assert response.status_code == 404


def test_a_revoked_licence_has_no_file_link_and_its_file_is_refused_clearly(
    app, shopper, plans
):
    shopper.register()
    order_page = shopper.buy(plans["generated"])
    number = shopper.last_order()
    with app.app_context():
        db.session.scalar(sa.select(Licence)).status = LicenceStatus.REVOKED
        db.session.commit()
    licence_id = licence_ids(app)[0]

    response = shopper.client.get(f"/pedido/{number}/licencias/{licence_id}.json")
    mine = shopper.client.get(f"/cuenta/licencias/{licence_id}/licencia.json")

    assert "Descargar archivo de licencia" not in shopper.page(order_page)
    assert "Descargar archivo de licencia" not in shopper.page("/cuenta/licencias")
    assert response.status_code == 409 and mine.status_code == 409
    assert "Esta licencia se revocó: ya no funciona." in response.get_data(as_text=True)


def test_the_delivery_email_links_each_file_with_the_order_token_not_the_key(
    app, shopper, shopper_for, plans
):
    order_page = shopper.buy(plans["generated"])
    keys = Shopper.keys_in(shopper.page(order_page))
    number = shopper.last_order()
    licence_id = licence_ids(app)[0]

    email = delivery_email(app)
    text = email.get_body(preferencelist=("plain",)).get_content()
    html = email.get_body(preferencelist=("html",)).get_content()
    links = re.findall(rf"{BASE}(/pedido/{number}/licencias/{licence_id}\.json\?t=\w+)", text)

    assert len(links) == 1 and f'href="{BASE}{links[0]}"' in html
    assert "Archivo de licencia:" in text and "Descargar archivo de licencia" in html
    assert keys[0] not in links[0] and keys[0].replace("-", "") not in links[0]
    elsewhere = shopper_for(app)  # the email opened in another browser
    first = elsewhere.client.get(links[0])
    assert first.status_code == 302
    assert first.headers["Location"] == f"/pedido/{number}/licencias/{licence_id}.json"
    assert verified(app, elsewhere.client.get(first.headers["Location"]))["licence_id"] == (
        licence_id)


def test_a_licence_file_link_with_a_wrong_token_opens_nothing(app, shopper, stranger, plans):
    shopper.buy(plans["generated"])
    number = shopper.last_order()
    licence_id = licence_ids(app)[0]

    response = stranger.client.get(f"/pedido/{number}/licencias/{licence_id}.json?t=0")

    assert response.status_code == 404
    assert stranger.client.get(f"/pedido/{number}/licencias/{licence_id}.json").status_code == 404
