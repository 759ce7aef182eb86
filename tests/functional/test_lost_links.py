"""¿Perdiste tus claves?: fresh links to a buyer's paid orders, by email only."""

from __future__ import annotations

import re

import sqlalchemy as sa

from store.extensions import db
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.orders.emails import ORDER_LINKS
from store.orders.models import Order, OrderStatus
from tests.conftest import Shopper

LINK = re.compile(r"http://127\.0\.0\.1:5000(/pedido/([^/\s]+)/\?t=[0-9a-f]{40})")
SENT = ("Si se pagaron pedidos con ese correo, te enviamos allí enlaces nuevos a ellos. "
        "Los enlaces que enviamos antes ya no funcionan. Revisa también tu carpeta de spam.")


def deliver(app) -> list:
    """Send the outbox; return every email sent so far."""
    with app.app_context():
        send_pending()
    return app.extensions["store_mail_transport"].sent


def plain_text(email) -> str:
    return email.get_body(preferencelist=("plain",)).get_content()


def main_of(response) -> str:
    return re.search(r"<main.*?</main>", response.get_data(as_text=True), re.S)[0]


def ask(shopper: Shopper, email: str):
    return shopper.client.post("/pedido/perdido", data={"email": email}, follow_redirects=True)


def test_a_known_email_gets_one_email_of_fresh_links_and_the_old_links_stop_working(
    app, shopper, stranger, shopper_for, plans, count
):
    first = re.search(r"/pedido/([^/]+)/", shopper.buy(plans["generated"]))[1]
    second = re.search(r"/pedido/([^/]+)/", shopper.buy(plans["generated"]))[1]
    unpaid, _gateway = shopper.place_unpaid(plans["generated"])
    old = {number: link for email in deliver(app)
           for link, number in LINK.findall(plain_text(email))}
    keys = Shopper.keys_in(shopper.page(f"/pedido/{first}/"))

    page = ask(stranger, " ANA@Example.com ")  # checkout kept "ana@example.com"

    assert page.status_code == 200 and SENT in main_of(page)
    assert count(OutboxMessage, OutboxMessage.kind == ORDER_LINKS) == 1
    email = deliver(app)[-1]
    text = plain_text(email)
    new = {number: link for link, number in LINK.findall(text)}
    assert email["To"] == "ana@example.com"
    assert set(new) == {first, second} and unpaid not in text  # paid orders only
    assert new[first] != old[first] and new[second] != old[second]
    assert keys and not any(key in text or key in email.as_string() for key in keys)
    # The old link now opens nothing, and its 404 points at this page; the new one opens.
    dead = shopper_for(app).client.get(old[first], follow_redirects=True)
    assert dead.status_code == 404 and "/pedido/perdido" in dead.get_data(as_text=True)
    opened = shopper_for(app).client.get(new[first], follow_redirects=True)
    assert opened.status_code == 200 and Shopper.keys_in(opened.get_data(as_text=True)) == keys


def test_an_unknown_email_gets_the_same_page_and_nothing_is_queued(
    app, shopper, stranger, shopper_for, plans, count
):
    shopper.buy(plans["generated"])
    queued = count(OutboxMessage)

    known = ask(stranger, "ana@example.com")
    unknown = ask(shopper_for(app), "nadie@example.com")

    assert count(OutboxMessage) == queued + 1
    assert count(OutboxMessage, OutboxMessage.recipient == "nadie@example.com") == 0
    assert known.status_code == unknown.status_code == 200
    assert main_of(known) == main_of(unknown) and SENT in main_of(unknown)


def test_refunded_and_unpaid_orders_get_no_link_and_no_email(app, shopper, stranger, plans, count):
    shopper.place_unpaid(plans["generated"])
    shopper.buy(plans["generated"])
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.status == OrderStatus.FULFILLED)
                           .values(status=OrderStatus.REFUNDED))
        db.session.commit()

    page = ask(stranger, "ana@example.com")

    assert SENT in main_of(page)
    assert count(OutboxMessage, OutboxMessage.kind == ORDER_LINKS) == 0


def test_a_bad_email_is_refused_in_spanish_and_nothing_is_queued(stranger, count):
    response = stranger.client.post("/pedido/perdido", data={"email": "ana@"})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Escribe un correo válido, como ana@example.com." in html
    assert count(OutboxMessage) == 0


def test_the_page_is_linked_from_the_footer_and_the_sign_in_page(stranger):
    home = stranger.page("/")
    sign_in = stranger.page("/cuenta/entrar")

    for html in (home, sign_in):
        assert '<a href="/pedido/perdido">¿Perdiste tus claves?</a>' in html


def test_the_email_is_written_in_the_language_of_the_page_it_was_asked_from(
    app, shopper, stranger, plans
):
    number = re.search(r"/pedido/([^/]+)/", shopper.buy(plans["generated"]))[1]
    deliver(app)
    stranger.client.post("/idioma", data={"language": "en", "next": "/"})

    ask(stranger, "ana@example.com")

    email = deliver(app)[-1]
    assert email["Subject"] == "Your order links"
    assert f"Order {number}" in plain_text(email) and "no longer work" in plain_text(email)
