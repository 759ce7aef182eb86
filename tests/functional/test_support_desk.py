"""The support desk (/support): search by email, number or key, notes, resend, free seats."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.accounts.models import Role
from store.audit.models import AuditEvent
from store.extensions import db
from store.licensing.models import Activation, Licence
from store.mail.models import OutboxMessage
from store.orders.models import Order
from store.support.models import SupportNote
from tests.conftest import Shopper
from tests.factories import make_product

ACTIVATE = "/api/v1/licences/activate"


@pytest.fixture
def agent(desk) -> Shopper:
    return desk.signed_in("agente@example.com", Role.SUPPORT)


@pytest.fixture
def bought(app, shopper) -> dict:
    """Ana bought one licence as a guest, then another signed in: numbers and keys."""
    with app.app_context():
        product = make_product(slug="hogar")
        db.session.commit()
        plan_id = product.plans[0].id
    guest_page = shopper.buy(plan_id)
    guest_key = Shopper.keys_in(shopper.page(guest_page))[0]
    guest_number = shopper.last_order()
    shopper.register()
    account_key = Shopper.keys_in(shopper.page(shopper.buy(plan_id)))[0]
    with app.app_context():
        licence_id = db.session.scalar(sa.select(Licence.id).order_by(Licence.id))
    return {"guest_number": guest_number, "guest_key": guest_key,
            "account_number": shopper.last_order(), "account_key": account_key,
            "licence_id": licence_id}


def find(agent: Shopper, text: str) -> str:
    """Post ``text`` to the search box; return the page (a search is posted, never in the URL)."""
    response = agent.client.post("/support/buscar", data={"q": text})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def audit_rows(app) -> list[str]:
    with app.app_context():
        return [repr((e.action, e.subject_type, e.subject_id, e.reason, e.details))
                for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]


def test_an_email_finds_the_customers_guest_and_account_orders_with_masked_keys(agent, bought):
    html = find(agent, "ANA@example.com")

    assert bought["guest_number"] in html and bought["account_number"] in html
    assert bought["guest_key"] not in html and bought["account_key"] not in html
    assert "••••-" + bought["guest_key"].replace("-", "")[-4:] in html


def test_an_order_number_opens_to_that_order(agent, bought):
    html = find(agent, bought["guest_number"])

    assert f"/support/pedidos/{bought['guest_number']}" in html
    assert bought["account_number"] not in html


@pytest.mark.parametrize("typed", [
    lambda key: key.replace("-", "").lower(),
    lambda key: " ".join(key.split("-")),
])
def test_a_key_in_any_case_without_dashes_or_with_spaces_finds_its_licence(
        app, agent, bought, typed):
    html = find(agent, typed(bought["guest_key"]))

    assert f"/support/licencias/{bought['licence_id']}" in html
    assert all(bought["guest_key"] not in row and typed(bought["guest_key"]) not in row
               for row in audit_rows(app))
    assert any("support.key_search" in row and f"'licence', {bought['licence_id']}" in row
               for row in audit_rows(app))


@pytest.mark.parametrize("query", ["ABCDE-FGHJK-MNPQR-STUVW-XYZ23-4567", "A-ZZZZ-ZZZZ", "VENDOR-nope"])
def test_an_unknown_key_or_number_says_not_found_and_nothing_else(app, agent, bought, query):
    html = find(agent, query)

    assert "No encontrado" in html
    assert bought["guest_number"] not in html and "/support/licencias/" not in html
    rows = [row for row in audit_rows(app) if "support.key_search" in row]
    assert rows and "'found': False" in rows[-1]
    assert all(query not in row for row in audit_rows(app))


def test_an_empty_search_is_refused(agent, bought):
    assert agent.client.post("/support/buscar", data={"q": " "}).status_code == 400


def test_a_note_is_saved_audited_and_shown_to_staff_only(app, agent, shopper, bought, count):
    number = bought["account_number"]
    response = agent.client.post(f"/support/pedidos/{number}/notas",
                                 data={"body": "Llamó por teléfono"})

    assert response.status_code == 302
    assert "Llamó por teléfono" in agent.page(f"/support/pedidos/{number}")
    assert "Llamó por teléfono" not in shopper.page(f"/pedido/{number}/")
    assert shopper.client.get(f"/support/pedidos/{number}").status_code == 403
    assert count(SupportNote) == 1
    assert any("support.note_added" in row for row in audit_rows(app))


def test_an_empty_note_is_refused_and_changes_nothing(agent, bought, count):
    response = agent.client.post(f"/support/pedidos/{bought['guest_number']}/notas",
                                 data={"body": "  "})

    assert response.status_code == 400
    assert count(SupportNote) == 0


def test_resending_twice_queues_one_delivery_email_with_the_current_keys(app, agent, bought):
    number = bought["guest_number"]
    with app.app_context():
        order_id = db.session.scalar(sa.select(Order.id).where(Order.number == number))
        before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.order_id == order_id))
    url = f"/support/pedidos/{number}/reenviar"

    first = agent.client.post(url, data={"resend-reason": "Perdió el correo"})
    second = agent.client.post(url, data={"resend-reason": "Perdió el correo"})

    assert (first.status_code, second.status_code) == (302, 409)
    with app.app_context():
        from store.mail.kinds import renderer_for

        messages = list(db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.order_id == order_id).order_by(OutboxMessage.id)))
        assert len(messages) == before + 1
        assert bought["guest_key"] in renderer_for(messages[-1].kind)(messages[-1]).text
        resent = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "support.delivery_resent")).all()
        assert [(e.actor, e.reason) for e in resent] == [("agente@example.com", "Perdió el correo")]


def test_freeing_all_seats_removes_the_devices_and_is_audited(app, client, agent, bought, count):
    for device in ("laptop",):
        assert client.post(ACTIVATE, json={"key": bought["guest_key"],
                                           "fingerprint": device}).status_code == 200

    response = agent.client.post(f"/support/licencias/{bought['licence_id']}/liberar",
                                 data={"free-reason": "Cambió de ordenador"})

    assert response.status_code == 302
    assert count(Activation, Activation.licence_id == bought["licence_id"]) == 0
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "licence.seats_freed"))
        assert (event.actor, event.reason, event.subject_id) == (
            "agente@example.com", "Cambió de ordenador", bought["licence_id"])


def test_freeing_seats_without_a_reason_is_refused_and_changes_nothing(client, agent, bought, count):
    assert client.post(ACTIVATE, json={"key": bought["guest_key"],
                                       "fingerprint": "laptop"}).status_code == 200

    response = agent.client.post(f"/support/licencias/{bought['licence_id']}/liberar",
                                 data={"free-reason": " "})

    assert response.status_code == 400
    assert count(Activation) == 1


def test_the_licence_page_shows_seats_devices_and_the_actions_partial(client, agent, bought):
    assert client.post(ACTIVATE, json={"key": bought["guest_key"], "fingerprint": "laptop",
                                       "label": "Portátil"}).status_code == 200

    html = agent.page(f"/support/licencias/{bought['licence_id']}")

    assert "Portátil" in html and "1 de" in html
    assert f"/support/licencias/{bought['licence_id']}/liberar" in html
    assert bought["guest_key"] not in html


VALIDATE = "/api/v1/licences/validate"


def reissue(agent: Shopper, licence_id: int, reason: str = "La clave se publicó en un foro"):
    return agent.client.post(f"/support/licencias/{licence_id}/reemitir",
                             data={"reissue-reason": reason})


def reissue_emails(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "licence_reissued").order_by(OutboxMessage.id)))


def test_reissuing_stops_the_old_key_and_the_customer_gets_the_new_one_by_email_and_page(
        app, client, agent, shopper, bought):
    old_id, old_key = bought["licence_id"], bought["guest_key"]

    response = reissue(agent, old_id)

    with app.app_context():
        old = db.session.get(Licence, old_id)
        new = db.session.get(Licence, old.replaced_by_id)
        assert old.status == "revoked" and old.status_reason == "La clave se publicó en un foro"
        assert (new.plan_id, new.seats, new.starts_at, new.expires_at, new.status) == (
            old.plan_id, old.seats, old.starts_at, old.expires_at, "active")
        assert new.generation == old.generation + 1
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "licence.reissue"))
        assert (event.actor, event.reason, event.subject_type, event.subject_id) == (
            "agente@example.com", "La clave se publicó en un foro", "licence", old_id)
        assert event.details["replacement_id"] == new.id
    assert response.headers["Location"].endswith(f"/support/licencias/{new.id}")
    assert client.post(VALIDATE, json={"key": old_key}).get_json()["code"] == "REVOKED"
    # The customer's order page shows the new key only.
    page = shopper.page(f"/pedido/{bought['guest_number']}/")
    [new_key] = [key for key in Shopper.keys_in(page) if key != bought["account_key"]] or [None]
    assert new_key and new_key != old_key and old_key not in page
    assert client.post(VALIDATE, json={"key": new_key}).get_json()["code"] in (
        "VALID", "NOT_ACTIVATED")
    # The email carries the new key, names the old one by its end only, and no reason.
    [message] = reissue_emails(app)
    assert message.recipient == "ana@example.com"
    assert set(message.payload) == {"order_id", "licence_id", "replaced_id"}
    with app.app_context():
        from store.mail.kinds import renderer_for

        email = renderer_for(message.kind)(db.session.get(OutboxMessage, message.id))
    for body in (email.text, email.html):
        assert new_key in body and old_key not in body and "foro" not in body
        assert old_key.replace("-", "")[-4:] in body
    assert bought["guest_number"] in email.subject
    # The desk's timeline names the action and the email.
    timeline = agent.page(f"/support/pedidos/{bought['guest_number']}")
    assert "Licencia reemitida con una clave nueva" in timeline
    assert "Clave nueva tras una reemisión" in timeline


def test_a_reissued_licence_cannot_be_reissued_again_and_nothing_more_is_sent(
        app, agent, bought, count):
    assert reissue(agent, bought["licence_id"]).status_code == 302

    again = reissue(agent, bought["licence_id"])

    assert again.status_code == 409
    assert "ya se reemitió" in again.get_data(as_text=True)
    assert count(Licence) == 3 and len(reissue_emails(app)) == 1
    assert count(AuditEvent, AuditEvent.action == "licence.reissue") == 1


def test_reissuing_without_a_reason_is_refused_and_changes_nothing(app, agent, bought, count):
    response = reissue(agent, bought["licence_id"], reason="  ")

    assert response.status_code == 400
    assert "Di por qué." in response.get_data(as_text=True)
    assert count(Licence) == 2 and reissue_emails(app) == []
    with app.app_context():
        assert db.session.get(Licence, bought["licence_id"]).status == "active"


def test_a_pool_plan_reissues_from_its_pool_and_an_empty_pool_changes_nothing(
        app, agent, shopper, count):
    from store.catalogue.models import Fulfilment
    from tests.factories import make_plan, make_pool

    with app.app_context():
        plan = make_plan(make_product(slug="vendor", plans=[]), fulfilment=Fulfilment.POOL)
        make_pool(plan, 1, prefix="FIRST")
        db.session.commit()
        plan_id = plan.id
    [sold] = Shopper.keys_in(shopper.page(shopper.buy(plan_id)))
    with app.app_context():
        licence_id = db.session.scalar(sa.select(Licence.id))

    empty = reissue(agent, licence_id)

    assert empty.status_code == 409
    assert "No queda ninguna clave" in empty.get_data(as_text=True)
    assert count(Licence) == 1 and reissue_emails(app) == []
    assert count(AuditEvent, AuditEvent.action == "licence.reissue") == 0

    with app.app_context():
        make_pool(db.session.get(type(plan), plan_id), 1, prefix="SECOND")
        db.session.commit()
    assert reissue(agent, licence_id).status_code == 302
    page = shopper.page(f"/pedido/{shopper.last_order()}/")
    assert Shopper.keys_in(page) == [f"SECOND-{plan.sku}-000000"] and sold not in page


def test_the_licence_page_of_a_reissued_key_links_its_replacement_and_offers_no_action(
        app, agent, bought):
    reissue(agent, bought["licence_id"])
    with app.app_context():
        new_id = db.session.get(Licence, bought["licence_id"]).replaced_by_id

    old_page = agent.page(f"/support/licencias/{bought['licence_id']}")
    new_page = agent.page(f"/support/licencias/{new_id}")

    assert f'href="/support/licencias/{new_id}"' in old_page
    assert "/reemitir" not in old_page and "/liberar" not in old_page
    assert f'href="/support/licencias/{bought["licence_id"]}"' in new_page
    assert f"/support/licencias/{new_id}/reemitir" in new_page


def test_an_expired_licence_is_not_reissued(app, agent, bought, count):
    from datetime import timedelta

    from store.dbtypes import utcnow

    with app.app_context():
        licence = db.session.get(Licence, bought["licence_id"])
        licence.expires_at = utcnow() - timedelta(days=3)
        db.session.commit()
    page = agent.page(f"/support/licencias/{bought['licence_id']}")
    assert "/reemitir" not in page and "<strong>Vencida</strong>" in page

    response = reissue(agent, bought["licence_id"])

    assert response.status_code == 409
    assert "Esta licencia ha caducado" in response.get_data(as_text=True)
    assert count(Licence) == 2 and reissue_emails(app) == []


def test_a_reissue_email_sent_late_shows_the_current_key_or_none_once_refunded(
        app, agent, shopper, bought):
    from store.mail.kinds import renderer_for

    assert reissue(agent, bought["licence_id"]).status_code == 302
    with app.app_context():
        first = db.session.get(Licence, bought["licence_id"]).replaced_by_id
    assert reissue(agent, first).status_code == 302
    page = shopper.page(f"/pedido/{bought['guest_number']}/")
    current = [key for key in Shopper.keys_in(page) if key != bought["account_key"]][0]
    with app.app_context():
        messages = reissue_emails(app)
        texts = [renderer_for(m.kind)(db.session.get(OutboxMessage, m.id)).text
                 for m in messages]
        assert len(texts) == 2 and all(current in text for text in texts)
        second = db.session.get(Licence, db.session.get(Licence, first).replaced_by_id)
        second.status = "refunded"
        db.session.commit()
        late = renderer_for(messages[0].kind)(db.session.get(OutboxMessage, messages[0].id))
    assert current not in late.text and current not in late.html
    assert "ha dejado de funcionar" in late.text
