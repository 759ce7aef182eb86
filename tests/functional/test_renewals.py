"""Renewals (issue 14), end to end through the test client: a renewal plan is bought for
one licence only, and paying it extends that licence, keeping its key."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from store.catalogue.models import Plan, PlanKind
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence, LicenceRenewal
from store.mail.models import OutboxMessage
from store.orders.models import Order, OrderStatus
from store.renewals.links import renewal_token
from tests.conftest import Shopper
from tests.factories import make_plan, make_product

VALIDATE = "/api/v1/licences/validate"
YEAR = 365


@pytest.fixture
def catalogue(app) -> dict:
    """A product with a 1-device plan and its renewal (40.00 CUP, 2 devices), and another
    product with a renewal of its own."""
    with app.app_context():
        product = make_product(slug="hogar", plans=[])
        new = make_plan(product, name="1 año", seats=1, price_minor=5000)
        renewal = make_plan(product, name="Renovación 1 año", seats=2, price_minor=4000,
                            kind=PlanKind.RENEWAL)
        renewal.renews = [new]
        other = make_product(slug="movil", plans=[])
        other_new = make_plan(other, name="Móvil 1 año")
        other_renewal = make_plan(other, name="Renovación móvil", kind=PlanKind.RENEWAL)
        other_renewal.renews = [other_new]
        db.session.commit()
        return {"new": new.id, "renewal": renewal.id, "other_renewal": other_renewal.id}


@pytest.fixture
def owned(app, shopper, catalogue) -> dict:
    """Ana registered and bought one licence: its key and id."""
    shopper.register()
    [key] = Shopper.keys_in(shopper.page(shopper.buy(catalogue["new"])))
    with app.app_context():
        licence_id = db.session.scalar(sa.select(Licence.id))
    return {"key": key, "id": licence_id}


def licence(app, licence_id: int) -> Licence:
    with app.app_context():
        row = db.session.get(Licence, licence_id)
        db.session.expunge(row)
        return row


def renew(shopper: Shopper, plan_id: int, licence_id: int):
    return shopper.client.post("/renovar/anadir", data={"plan_id": plan_id, "licence_id": licence_id})


def pay_cart(shopper: Shopper, decision: str = "approved") -> str:
    gateway = shopper.check_out().headers["Location"]
    return shopper.answer_gateway(gateway, decision).headers["Location"]


def test_a_renewal_plan_cannot_be_bought_as_a_new_licence(shopper, catalogue):
    response = shopper.add(catalogue["renewal"])

    assert response.status_code == 302
    assert "Una renovación se compra para una licencia que ya tienes" in " ".join(
        Shopper.flashes_in(shopper.page("/carrito/")))
    assert shopper.session().get("cart", {}) == {}


def test_renewing_from_my_licences_extends_the_same_key_with_the_renewals_seats(
        app, client, shopper, catalogue, owned):
    before = licence(app, owned["id"])
    page = shopper.page("/cuenta/licencias")
    assert f'href="/renovar/licencia/{owned["id"]}"' in page
    choose = shopper.page(f"/renovar/licencia/{owned['id']}")
    assert "40.00" in choose and owned["key"] not in choose

    assert renew(shopper, catalogue["renewal"], owned["id"]).headers["Location"].endswith("/carrito/")
    cart = shopper.page("/carrito/")
    assert "Renueva la licencia ••••-" + owned["key"].replace("-", "")[-4:] in cart
    order_page = shopper.page(pay_cart(shopper))

    after = licence(app, owned["id"])
    assert after.expires_at == before.expires_at + timedelta(days=YEAR)
    assert after.seats == 2 and after.lookup_hash == before.lookup_hash
    with app.app_context():
        number = shopper.last_order()
        order = db.session.scalar(sa.select(Order).where(Order.number == number))
        assert order.status == OrderStatus.FULFILLED and order.total_minor == 4000
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Licence)) == 1
        [renewal] = db.session.scalars(sa.select(LicenceRenewal)).all()
        assert (renewal.licence_id, renewal.previous_expires_at) == (owned["id"], before.expires_at)
        from store.mail.kinds import renderer_for

        message = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.order_id == order.id)).one()
        email = renderer_for(message.kind)(message)
    assert "renovada hasta" in order_page and owned["key"] not in order_page
    assert "renovada hasta" in email.text and owned["key"] not in email.text
    # The licence API reports the new expiry at once.
    answer = client.post(VALIDATE, json={"key": owned["key"]}).get_json()
    assert answer["expires_at"].startswith(after.expires_at.date().isoformat())
    assert answer["seats"] == 2
    # A fresh licence file carries it too.
    document = shopper.client.get(f"/cuenta/licencias/{owned['id']}/licencia.json").get_json()
    assert document["licence"]["expires_at"].startswith(after.expires_at.date().isoformat())
    assert document["licence"]["seats"] == 2


def test_a_renewal_bought_twice_extends_twice(app, shopper, catalogue, owned):
    before = licence(app, owned["id"])
    for _ in range(2):
        renew(shopper, catalogue["renewal"], owned["id"])
        pay_cart(shopper)

    assert licence(app, owned["id"]).expires_at == before.expires_at + timedelta(days=2 * YEAR)


def test_an_expired_licence_is_renewed_from_today(app, shopper, catalogue, owned):
    with app.app_context():
        row = db.session.get(Licence, owned["id"])
        row.expires_at = utcnow() - timedelta(days=10)
        db.session.commit()
    renew(shopper, catalogue["renewal"], owned["id"])
    pay_cart(shopper)

    expires = licence(app, owned["id"]).expires_at
    assert utcnow() + timedelta(days=YEAR - 1) < expires <= utcnow() + timedelta(days=YEAR)


def test_a_guest_finds_the_licence_by_its_key_typed_in_lower_case(app, catalogue, owned, shopper_for):
    guest = shopper_for(app)

    typed = guest.client.post("/renovar/", data={"key": owned["key"].replace("-", "").lower()})

    assert typed.headers["Location"].endswith(f"/renovar/licencia/{owned['id']}")
    assert owned["key"] not in typed.headers["Location"]
    assert renew(guest, catalogue["renewal"], owned["id"]).status_code == 302
    assert len(guest.session()["cart"]) == 1


def test_an_unknown_key_is_refused_in_spanish_and_opens_nothing(app, catalogue, owned, shopper_for):
    guest = shopper_for(app)

    response = guest.client.post("/renovar/", data={"key": "NO-SUCH-KEY"})

    assert response.status_code == 400
    assert "Ninguna licencia tiene esta clave" in response.get_data(as_text=True)
    assert guest.client.get(f"/renovar/licencia/{owned['id']}").status_code == 404
    assert renew(guest, catalogue["renewal"], owned["id"]).status_code == 404
    assert guest.session().get("cart", {}) == {}


def test_a_renewal_of_another_product_is_refused_and_the_cart_unchanged(shopper, catalogue, owned):
    response = renew(shopper, catalogue["other_renewal"], owned["id"])

    assert response.headers["Location"].endswith(f"/renovar/licencia/{owned['id']}")
    assert "Esta renovación es para otro producto o plan" in " ".join(
        Shopper.flashes_in(shopper.page("/carrito/")))
    assert shopper.session().get("cart", {}) == {}


def test_a_revoked_licence_cannot_be_renewed(app, shopper, catalogue, owned):
    with app.app_context():
        db.session.get(Licence, owned["id"]).status = "revoked"
        db.session.commit()

    renew(shopper, catalogue["renewal"], owned["id"])

    assert shopper.session().get("cart", {}) == {}
    assert "no se puede renovar" in shopper.page(f"/renovar/licencia/{owned['id']}")


def test_a_licence_revoked_after_the_order_is_placed_sends_the_paid_order_to_attention(
        app, shopper, catalogue, owned):
    before = licence(app, owned["id"])
    renew(shopper, catalogue["renewal"], owned["id"])
    gateway = shopper.check_out().headers["Location"]
    with app.app_context():
        db.session.get(Licence, owned["id"]).status = "revoked"
        db.session.commit()

    shopper.answer_gateway(gateway)

    with app.app_context():
        order = db.session.scalar(sa.select(Order).where(Order.number == shopper.last_order()))
        assert order.status == OrderStatus.NEEDS_ATTENTION
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "staff_alert", OutboxMessage.order_id == order.id)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LicenceRenewal)) == 0
    assert licence(app, owned["id"]).expires_at == before.expires_at


def test_a_licence_revoked_before_checkout_leaves_the_renewal_out(app, shopper, catalogue, owned):
    renew(shopper, catalogue["renewal"], owned["id"])
    with app.app_context():
        db.session.get(Licence, owned["id"]).status = "revoked"
        db.session.commit()

    cart = shopper.page("/carrito/")
    response = shopper.check_out()

    assert "No se incluirá en el pedido" in cart
    assert response.status_code in (302, 409)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_the_reminder_link_opens_the_renewal_without_the_key(app, catalogue, owned, shopper_for):
    guest = shopper_for(app)
    with app.app_context():
        token = renewal_token(db.session.get(Licence, owned["id"]))

    opened = guest.client.get(f"/renovar/enlace/{token}")
    forged = shopper_for(app).client.get(f"/renovar/enlace/{token[:-2]}xx")

    assert opened.headers["Location"].endswith(f"/renovar/licencia/{owned['id']}")
    assert owned["key"] not in token
    assert forged.status_code == 404 and "ya no funciona" in forged.get_data(as_text=True)
    assert renew(guest, catalogue["renewal"], owned["id"]).status_code == 302


def test_the_demo_catalogues_renewals_renew_their_products_plans_of_the_same_seats(app):
    from store.catalogue.demo import seed_demo_catalogue

    with app.app_context():
        seed_demo_catalogue()
        renewal = db.session.scalar(sa.select(Plan).where(Plan.sku == "AH-R-1A-1PC"))
        assert sorted(plan.sku for plan in renewal.renews) == ["AH-1A-1PC", "AH-2A-1PC"]
        assert all(plan.renews for plan in db.session.scalars(
            sa.select(Plan).where(Plan.kind == PlanKind.RENEWAL)))


def test_an_admin_links_a_renewal_to_the_plans_it_renews(app, admin, catalogue):
    with app.app_context():
        product_id = db.session.get(Plan, catalogue["new"]).product_id
    data = {"name": "Renovación 2 años", "sku": "R-2A", "duration_days": 730, "seats": 1,
            "price": "70", "fulfilment": "generated", "kind": "renewal", "is_active": "y",
            "sort_order": 5, "low_stock_threshold": 10}

    refused = admin.client.post(f"/admin/productos/{product_id}/planes/nuevo", data=data)
    saved = admin.client.post(f"/admin/productos/{product_id}/planes/nuevo",
                              data={**data, "renews": catalogue["new"]})

    assert refused.status_code == 400
    assert "Elige los planes que renueva esta renovación" in refused.get_data(as_text=True)
    assert saved.status_code == 302
    with app.app_context():
        plan = db.session.scalar(sa.select(Plan).where(Plan.sku == "R-2A"))
        assert plan.renewed_plan_ids == [catalogue["new"]]


def test_refunding_a_renewal_takes_back_its_time_and_the_key_keeps_working(
        app, client, shopper, catalogue, owned):
    from store.audit.models import Actor
    from store.payments.refunds import refund_order

    before = licence(app, owned["id"])
    renew(shopper, catalogue["renewal"], owned["id"])
    pay_cart(shopper)
    with app.app_context():
        order_id = db.session.scalar(sa.select(Order.id).where(Order.number == shopper.last_order()))
        refund_order(order_id, reason="customer asked", actor=Actor("admin@example.com"))

    after = licence(app, owned["id"])
    assert (after.expires_at, after.status) == (before.expires_at, "active")
    assert client.post(VALIDATE, json={"key": owned["key"]}).get_json()["code"] in (
        "VALID", "NOT_ACTIVATED")


def test_a_reminder_link_of_a_key_reissued_since_renews_the_new_key(app, catalogue, owned, shopper_for):
    from store.audit.models import Actor
    from store.licensing.services import reissue
    from store.unit_of_work import use_case

    guest = shopper_for(app)
    with app.app_context():
        token = renewal_token(db.session.get(Licence, owned["id"]))
        with use_case() as uow:
            new = reissue(db.session.get(Licence, owned["id"]), reason="leaked",
                          actor=Actor("agente@example.com"))
            uow.commit()
        new_id = new.id

    opened = guest.client.get(guest.client.get(f"/renovar/enlace/{token}").headers["Location"])
    added = renew(guest, catalogue["renewal"], new_id)

    assert f'name="licence_id" value="{new_id}"' in opened.get_data(as_text=True)
    assert added.headers["Location"].endswith("/carrito/")
    assert list(guest.session()["cart"].values())[0]["l"] == new_id


def test_paying_again_checks_the_renewal_as_placing_does(app, shopper, catalogue, owned):
    renew(shopper, catalogue["renewal"], owned["id"])
    pay_cart(shopper, decision="declined")
    number = shopper.last_order()
    with app.app_context():
        db.session.get(Licence, owned["id"]).expires_at = utcnow() - timedelta(days=800)
        db.session.commit()

    response = shopper.client.post(f"/pedido/{number}/pagar", data={"method": "sandbox"})

    assert "venció hace demasiado tiempo" in " ".join(Shopper.flashes_in(
        shopper.page(response.headers["Location"]))) or response.status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(Order.status).where(Order.number == number)) == "failed"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LicenceRenewal)) == 0


def test_an_old_order_of_a_renewal_plan_alone_is_not_paid_again_and_never_issues_a_key(
        app, shopper, catalogue):
    from tests.factories import make_order

    with app.app_context():
        order = make_order(db.session.get(Plan, catalogue["renewal"]), status=OrderStatus.FAILED)
        from store.orders.services import grant_access

        grant_access(order)
        db.session.add(order)
        db.session.commit()
        order_id = order.id
    from store.orders.services import reopen, OrderNotPayable
    from store.orders.caps import PoolCaps
    from store.unit_of_work import use_case

    with app.app_context(), pytest.raises(OrderNotPayable):
        with use_case():
            reopen(db.session.get(Order, order_id), now=utcnow(), until=utcnow() + timedelta(hours=1),
                   caps=PoolCaps.from_config(app.config))
    with app.app_context():
        from store.licensing.renewals import NotRenewable, fulfil_line
        from store.unit_of_work import use_case as uc

        with uc(), pytest.raises(NotRenewable):
            fulfil_line(db.session.get(Order, order_id).lines[0])
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Licence)) == 0


def test_a_reissued_renewed_licence_keeps_the_renewals_seats_and_a_refund_gives_them_back(
        app, shopper, catalogue, owned):
    from store.audit.models import Actor
    from store.licensing.services import reissue
    from store.payments.refunds import refund_order
    from store.unit_of_work import use_case

    renew(shopper, catalogue["renewal"], owned["id"])
    pay_cart(shopper)
    with app.app_context():
        order_id = db.session.scalar(sa.select(Order.id).where(Order.number == shopper.last_order()))
        with use_case() as uow:
            new = reissue(db.session.get(Licence, owned["id"]), reason="leaked",
                          actor=Actor("agente@example.com"))
            uow.commit()
        new_id = new.id
    assert licence(app, new_id).seats == 2

    with app.app_context():
        refund_order(order_id, reason="customer asked", actor=Actor("admin@example.com"))
    assert licence(app, new_id).seats == 1


def test_a_key_replaced_by_a_reissue_opens_no_renewal(app, catalogue, owned, shopper_for):
    from store.audit.models import Actor
    from store.licensing.services import reissue
    from store.unit_of_work import use_case

    with app.app_context():
        with use_case() as uow:
            reissue(db.session.get(Licence, owned["id"]), reason="leaked",
                    actor=Actor("agente@example.com"))
            uow.commit()

    response = shopper_for(app).client.post("/renovar/", data={"key": owned["key"]})

    assert response.status_code == 400
