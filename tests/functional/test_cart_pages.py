"""The cart through the test client: add, change, remove, empty, limits, changed plans."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from store.catalogue.models import Plan, Product
from store.extensions import db
from store.orders.models import Order
from tests.conftest import GATEWAY
from tests.factories import make_product

QUANTITY_AT_LEAST_1 = "La cantidad debe ser un número entero, 1 como mínimo."
QUANTITY_1_TO_50 = "La cantidad debe estar entre 1 y 50."
NOT_ON_SALE = "Este plan no está a la venta."


@pytest.fixture
def plans(app) -> dict[str, int]:
    """Two plans on sale, one withdrawn, one of a withdrawn product: name -> id."""
    with app.app_context():
        product = make_product(slug="hogar", name="Almiquí Hogar", plans=[
            {"name": "1 año · 1 PC", "price_minor": 5000},
            {"name": "2 años · 1 PC", "price_minor": 9000},
            {"name": "Plan retirado", "is_active": False},
        ])
        hidden = make_product(slug="oculto", name="Producto oculto", is_active=False)
        db.session.commit()
        ids = {plan.name: plan.id for plan in product.plans}
        ids["producto retirado"] = hidden.plans[0].id
    return {"one_year": ids["1 año · 1 PC"], "two_years": ids["2 años · 1 PC"],
            "withdrawn": ids["Plan retirado"], "hidden_product": ids["producto retirado"]}


def session_state(shopper) -> tuple[dict, str | None]:
    session = shopper.session()
    return dict(session.get("cart", {})), session.get("checkout_token")


def text(html: str) -> str:
    """The page's visible text on one line."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def set_price(app, plan_id: int, price_minor: int) -> None:
    with app.app_context():
        db.session.get(Plan, plan_id).price_minor = price_minor
        db.session.commit()


def test_adding_a_plan_from_its_product_page_shows_it_in_the_cart_at_the_database_price(
    shopper, plans
):
    response = shopper.choose_plan("/productos/hogar/", plans["one_year"])

    assert response.status_code == 302 and response.headers["Location"] == "/carrito/"
    assert session_state(shopper)[0] == {str(plans["one_year"]): {"q": 1, "p": 5000}}
    html = shopper.page("/carrito/")
    assert shopper.flashes_in(html, "success") == ["Añadido a tu carrito."]
    line = "Almiquí Hogar — 1 año · 1 PC 50.00 CUP Cantidad Actualizar 50.00 CUP Quitar"
    assert line in text(html)
    assert "Total 50.00 CUP" in text(html)
    assert 'href="/caja/">Pagar</a>' in html


def test_choosing_a_plan_and_a_quantity_of_3_on_the_product_page_puts_3_of_it_in_the_cart(
    shopper, plans
):
    response = shopper.choose_plan("/productos/hogar/", plans["two_years"], quantity=3)

    assert response.headers["Location"] == "/carrito/"
    assert session_state(shopper)[0] == {str(plans["two_years"]): {"q": 3, "p": 9000}}
    html = shopper.page("/carrito/")
    assert "Almiquí Hogar — 2 años · 1 PC 90.00 CUP Cantidad Actualizar 270.00 CUP" in text(html)
    assert 'value="3"' in html and "Total 270.00 CUP" in text(html)
    assert '<span class="cart-count" aria-label="3 artículos">3</span>' in html


def test_the_product_page_adds_one_of_its_preselected_plan_when_nothing_is_changed(
    shopper, plans
):
    shopper.choose_plan("/productos/hogar/")

    # No plan is recommended here, so the first new plan is the one chosen.
    assert session_state(shopper)[0] == {str(plans["one_year"]): {"q": 1, "p": 5000}}


@pytest.mark.parametrize(
    ("plan", "quantity", "message"),
    [
        (None, 1, "Elige un plan."),
        ("one_year", 51, QUANTITY_1_TO_50),
        ("one_year", 0, QUANTITY_AT_LEAST_1),
        ("one_year", "", "Escribe cuántas quieres."),
    ],
    ids=["no plan chosen", "too many", "none", "no quantity"],
)
def test_a_refused_choice_goes_back_to_the_product_page_with_the_reason_and_changes_nothing(
    shopper, plans, plan, quantity, message
):
    shopper.add(plans["two_years"])
    shopper.page("/carrito/")  # shows (and so clears) the "added" message
    before = session_state(shopper)

    response = shopper.choose_plan(
        "/productos/hogar/", plan and plans[plan], quantity=quantity
    )

    assert response.headers["Location"] == "/productos/hogar/"
    assert session_state(shopper) == before
    html = shopper.page("/productos/hogar/")
    assert shopper.flashes_in(html) == [message] and shopper.flashes_in(html, "success") == []


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/productos/hogar/?q=a%20b", "/productos/hogar/?q=a%20b"),
        ("https://evil.example/", "/carrito/"),
        ("//evil.example/", "/carrito/"),
        ("/\\evil.example", "/carrito/"),
        ("javascript:x", "/carrito/"),
        ("", "/carrito/"),
    ],
)
def test_a_refused_addition_goes_back_only_to_a_page_of_this_site(
    shopper, plans, next_url, location
):
    response = shopper.add("", 1, next=next_url)

    assert response.headers["Location"] == location
    assert shopper.flashes(path=location) == ["Elige un plan."]
    assert session_state(shopper)[0] == {}


def test_the_plan_chooser_carries_its_csrf_token(csrf_app, shopper_for):
    with csrf_app.app_context():
        product = make_product(slug="hogar")
        db.session.commit()
        plan_id = product.plans[0].id
    shopper = shopper_for(csrf_app)

    response = shopper.choose_plan("/productos/hogar/", plan_id, quantity=2)

    assert response.headers["Location"] == "/carrito/"
    assert session_state(shopper)[0] == {str(plan_id): {"q": 2, "p": 5000}}


def test_the_header_counts_every_item_in_the_cart_on_every_page(shopper, plans):
    shopper.add(plans["one_year"], 2)
    shopper.add(plans["two_years"], 1)

    for path in ("/", "/productos/", "/carrito/", "/productos/hogar/", "/no-existe"):
        html = shopper.client.get(path).get_data(as_text=True)
        assert '<span class="cart-count" aria-label="3 artículos">3</span>' in html, path


def test_changing_the_quantity_updates_the_line_and_the_total(shopper, plans):
    shopper.add(plans["one_year"])
    shopper.add(plans["two_years"])

    response = shopper.client.post(
        "/carrito/cantidad", data={"plan_id": plans["one_year"], "quantity": 3}
    )

    assert response.headers["Location"] == "/carrito/"
    cart, _ = session_state(shopper)
    assert cart[str(plans["one_year"])]["q"] == 3 and cart[str(plans["two_years"])]["q"] == 1
    page = text(shopper.page("/carrito/"))
    assert "1 año · 1 PC 50.00 CUP Cantidad Actualizar 150.00 CUP" in page
    assert "Total 240.00 CUP" in page


def test_removing_a_line_keeps_the_other_lines(shopper, plans):
    shopper.add(plans["one_year"])
    shopper.add(plans["two_years"], 2)

    shopper.client.post("/carrito/quitar", data={"plan_id": plans["one_year"]})

    assert session_state(shopper)[0] == {str(plans["two_years"]): {"q": 2, "p": 9000}}
    assert shopper.flashes("success")[-1] == "Quitaste Almiquí Hogar — 1 año · 1 PC del carrito."
    page = text(shopper.page("/carrito/"))  # the message was shown once
    assert "1 año · 1 PC" not in page and "Total 180.00 CUP" in page


def test_emptying_the_cart_removes_every_line_and_a_new_checkout_begins(shopper, plans):
    shopper.add(plans["one_year"])
    shopper.add(plans["two_years"])
    _, token_before = session_state(shopper)

    response = shopper.client.post("/carrito/vaciar")

    assert response.headers["Location"] == "/carrito/"
    cart, token_after = session_state(shopper)
    assert cart == {} and token_after != token_before
    html = shopper.page("/carrito/")
    assert "Tu carrito está vacío." in html and 'aria-label="0 artículos">0</span>' in html
    assert shopper.flashes_in(html, "success")[-1] == "Vaciaste el carrito."


def test_emptying_asks_first_on_a_page_of_its_own_and_changes_nothing_until_confirmed(
    shopper, plans
):
    shopper.add(plans["one_year"])
    shopper.add(plans["two_years"], 2)
    before = session_state(shopper)

    html = shopper.page("/carrito/vaciar")

    assert session_state(shopper) == before
    assert "¿Vaciar el carrito?" in html and "Se quitarán los 2 planes de tu carrito:" in html
    assert "2 × Almiquí Hogar — 2 años · 1 PC" in unescape(html)
    assert '<form method="post" action="/carrito/vaciar" class="confirm">' in html
    assert '<a class="button secondary" href="/carrito/">No, conservar mi carrito</a>' in html


def test_the_empty_cart_link_sits_apart_from_the_pay_button(shopper, plans):
    shopper.add(plans["one_year"])

    html = shopper.page("/carrito/")

    checkout_bar = re.search(r'<div class="checkout-bar">(.*?)</div>', html, re.S)[1]
    tools = re.search(r'<p class="cart-tools">(.*?)</p>', html, re.S)[1]
    assert 'href="/caja/">Pagar</a>' in checkout_bar and "Vaciar" not in checkout_bar
    assert "Total: <span class=\"price\">50.00 CUP</span>" in checkout_bar
    assert '<a href="/carrito/vaciar">Vaciar el carrito</a>' in tools
    # The buyer reads that this is the final price, and how they can pay, before checkout.
    note = re.search(r'<p class="final-price">(.*?)</p>', html, re.S)[1]
    assert "Este es el precio final en CUP: no se añaden cargos al pagar." in note
    assert "Aceptamos: Pago de prueba (sandbox)." in note


def test_removing_a_plan_that_is_not_in_the_cart_says_so_and_changes_nothing(shopper, plans):
    shopper.add(plans["one_year"])
    before = session_state(shopper)[0]

    shopper.client.post("/carrito/quitar", data={"plan_id": plans["two_years"]})

    assert session_state(shopper)[0] == before
    assert shopper.flashes() == ["Ese plan no está en tu carrito."]


def test_changing_a_quantity_says_what_changed(shopper, plans):
    shopper.add(plans["one_year"])

    shopper.client.post("/carrito/cantidad", data={"plan_id": plans["one_year"], "quantity": 4})

    assert shopper.flashes("success")[-1] == "Almiquí Hogar — 1 año · 1 PC: ahora la cantidad es 4."


@pytest.mark.parametrize(
    ("plan", "quantity", "message"),
    [
        ("one_year", "0", QUANTITY_AT_LEAST_1),
        ("one_year", "-1", QUANTITY_AT_LEAST_1),
        ("one_year", "51", QUANTITY_1_TO_50),
        ("one_year", "50", "Puedes comprar como máximo 50 del mismo plan a la vez."),
        ("one_year", "abc", "No es un valor entero válido."),
        ("one_year", "1.5", "No es un valor entero válido."),
        ("one_year", "", "Escribe cuántas quieres."),
        ("one_year", str(10**30), QUANTITY_1_TO_50),
        ("unknown", "1", NOT_ON_SALE),
        ("withdrawn", "1", NOT_ON_SALE),
        ("hidden_product", "1", NOT_ON_SALE),
        ("not a number", "1", "No es un valor entero válido."),
    ],
)
def test_an_addition_out_of_limits_is_refused_with_a_message_and_changes_nothing(
    shopper, plans, plan, quantity, message
):
    shopper.add(plans["one_year"])  # one already in the cart, so "50 more" is too many
    shopper.page("/carrito/")  # shows (and so clears) the "added" message
    before = session_state(shopper)
    plan_id = {"unknown": 999_999, "not a number": "abc"}.get(plan) or plans[plan]

    response = shopper.add(plan_id, quantity)

    assert response.headers["Location"] == "/carrito/"
    assert session_state(shopper) == before
    html = shopper.page("/carrito/")
    assert shopper.flashes_in(html) == [message] and shopper.flashes_in(html, "success") == []


def test_a_cart_holds_at_most_20_plans_but_a_held_plan_can_still_grow(app, shopper):
    with app.app_context():
        product = make_product(plans=[{} for _ in range(21)])
        db.session.commit()
        ids = [plan.id for plan in product.plans]
    for plan_id in ids[:20]:
        shopper.add(plan_id)
    before = session_state(shopper)

    shopper.add(ids[20])
    html = shopper.page("/carrito/")
    shopper.add(ids[0], 2)

    assert shopper.flashes_in(html) == ["Un carrito admite como máximo 20 planes distintos."]
    assert before[0].keys() == session_state(shopper)[0].keys() and str(ids[20]) not in before[0]
    assert session_state(shopper)[0][str(ids[0])]["q"] == 3


@pytest.mark.parametrize(
    ("plan", "quantity", "message"),
    [
        ("one_year", "0", QUANTITY_AT_LEAST_1),
        ("one_year", "51", QUANTITY_1_TO_50),
        ("one_year", str(10**30), QUANTITY_1_TO_50),
        ("one_year", "abc", "No es un valor entero válido."),
        ("two_years", "2", "Ese plan no está en tu carrito."),
    ],
)
def test_a_quantity_change_out_of_limits_is_refused_and_changes_nothing(
    shopper, plans, plan, quantity, message
):
    shopper.add(plans["one_year"], 2)
    before = session_state(shopper)

    shopper.client.post("/carrito/cantidad", data={"plan_id": plans[plan], "quantity": quantity})

    assert session_state(shopper) == before
    assert shopper.flashes() == [message]


def test_posted_prices_and_totals_are_ignored_by_the_cart(shopper, plans):
    shopper.add(plans["one_year"], 2, price_minor=1, p=1, total=1, currency="USD")

    assert session_state(shopper)[0] == {str(plans["one_year"]): {"q": 2, "p": 5000}}
    assert "Total 100.00 CUP" in text(shopper.page("/carrito/"))


def test_a_changed_price_is_flagged_and_checkout_waits_until_the_buyer_accepts_it(
    app, shopper, plans
):
    shopper.add(plans["one_year"], 2)
    set_price(app, plans["one_year"], 6000)

    html = shopper.page("/carrito/")
    refused = shopper.check_out()
    refusal = shopper.page("/carrito/")
    accepted = shopper.client.post("/carrito/aceptar")
    token = session_state(shopper)[1]
    placed = shopper.client.post("/caja/", data={**shopper.BUYER, "checkout_token": token})

    assert "El precio cambió de 50.00 CUP a 60.00 CUP desde que lo añadiste." in html
    assert "Total 120.00 CUP" in text(html) and 'href="/caja/">Pagar</a>' not in html
    assert "Aceptar los precios actuales y pagar" in html
    assert refused.headers["Location"] == "/carrito/"
    assert shopper.flashes_in(refusal) == [
        "Algunos precios o planes de tu carrito cambiaron. Revisa tu carrito."
    ]
    assert accepted.headers["Location"] == "/caja/"
    assert placed.headers["Location"].startswith(GATEWAY)
    with app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        assert order.total_minor == 12000 and order.lines[0].unit_price_minor == 6000


def test_a_withdrawn_plan_in_the_cart_is_flagged_and_left_out_of_the_order(app, shopper, plans):
    shopper.add(plans["one_year"])
    shopper.add(plans["two_years"])
    with app.app_context():
        db.session.get(Plan, plans["two_years"]).is_active = False
        db.session.commit()

    html = shopper.page("/carrito/")
    refused = shopper.check_out()
    shopper.client.post("/carrito/aceptar")
    placed = shopper.check_out()

    flagged = "2 años · 1 PC Este plan ya no está a la venta y no se incluirá en el pedido."
    assert flagged in text(html)
    assert "Total 50.00 CUP" in text(html)
    assert refused.headers["Location"] == "/carrito/"
    assert placed.headers["Location"].startswith(GATEWAY)
    with app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        assert [line.plan_id for line in order.lines] == [plans["one_year"]]
        assert order.total_minor == 5000


def test_a_plan_of_a_withdrawn_product_is_flagged_like_a_withdrawn_plan(app, shopper, plans):
    shopper.add(plans["one_year"])
    with app.app_context():
        db.session.scalar(sa.select(Product).where(Product.slug == "hogar")).is_active = False
        db.session.commit()

    html = shopper.page("/carrito/")

    assert "Este plan ya no está a la venta y no se incluirá en el pedido." in html
    assert "Total 0.00 CUP" in text(html)


def test_adding_to_the_cart_needs_a_csrf_token(csrf_app, shopper_for):
    with csrf_app.app_context():
        product = make_product()
        db.session.commit()
        plan_id = product.plans[0].id
    shopper = shopper_for(csrf_app)

    response = shopper.add(plan_id)

    assert response.status_code == 400
    assert session_state(shopper)[0] == {}
