"""Stripe Checkout: the real SDK against a fake Stripe API (tests/fakes/stripe_server.py).

A buyer checks out through the test client choosing the card, the store opens a Checkout
Session at the fake, and the fake's signed webhooks come back through the notification
endpoint. The fake checks what the SDK sent (paths, key, idempotency keys, amounts,
currencies); the tests check the rows, states and outbox that follow.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from store.audit.models import Actor, AuditEvent
from store.config import ConfigurationError, load_config
from store.extensions import db
from store.licensing.models import Licence, LicenceStatus
from store.mail.models import OutboxMessage
from store.money import Money
from store.orders.models import Order, OrderStatus
from store.payments.gateway import PaymentOutcome, PaymentProviderError, ProviderPayment
from store.payments.lines import split
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.refunds import refund_order
from store.payments.registry import enabled_providers
from tests.factories import make_plan, make_product
from tests.fakes.stripe_server import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

NOTIFY = "/api/pagos/notificacion/stripe"
ADMIN = Actor("admin@example.com", 1)


@pytest.fixture
def stripe_api(httpserver):
    fake = FakeStripe(httpserver)
    yield fake
    assert fake.problems == [], "the fake Stripe refused what the client sent"


@pytest.fixture
def app(make_app, stripe_api):
    return make_app(
        STORE_PAYMENT_PROVIDERS="sandbox,stripe", STORE_STRIPE_SECRET_KEY=SECRET_KEY,
        STORE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STORE_STRIPE_CURRENCY="usd",
        STORE_STRIPE_API_BASE=stripe_api.api_base, STORE_STRIPE_TIMEOUT="1",
        STORE_EXCHANGE_RATES="USD:120.00",
    )


@pytest.fixture
def plans(app):
    """Two generated plans: 50.00 CUP and 30.00 CUP."""
    with app.app_context():
        product = make_product(plans=[], name="Antivirus")
        first = make_plan(product, name="1 año", price_minor=5000)
        second = make_plan(product, name="2 años", price_minor=3000)
        db.session.commit()
        return first.id, second.id


def check_out_by_card(shopper, plans, quantities=(2, 1)):
    """Fill the cart and choose the card; return the checkout's response."""
    for plan_id, quantity in zip(plans, quantities):
        shopper.add(plan_id, quantity)
    return shopper.check_out(payment_method="stripe")


def state(app, count):
    with app.app_context():
        order = db.session.scalar(sa.select(Order))
        payment = db.session.scalar(sa.select(Payment).order_by(Payment.id.desc()))
        return {
            "order": order.status, "payment": payment.status,
            "licences": count(Licence), "events": count(ProcessedEvent),
            "emails": count(OutboxMessage, OutboxMessage.kind == "order_delivery"),
            "alerts": count(OutboxMessage, OutboxMessage.kind == "staff_alert"),
        }


def paid_session(client, stripe_api, shopper, plans):
    """Check out by card and pay on Stripe's side; return the session (no webhook yet)."""
    check_out_by_card(shopper, plans)
    (session_id,) = stripe_api.sessions
    return stripe_api.pay(session_id)


def send(client, body_and_headers):
    body, headers = body_and_headers
    return client.post(NOTIFY, data=body, headers=headers)


def test_a_card_checkout_opens_a_session_for_the_converted_total_with_one_item_per_line(
    app, client, shopper, plans, stripe_api
):
    response = check_out_by_card(shopper, plans)

    (session,) = stripe_api.sessions.values()
    assert response.status_code == 302 and response.headers["Location"] == session["url"]
    ((params, headers),) = stripe_api.calls("POST", "/v1/checkout/sessions")
    with app.app_context():
        order = db.session.scalar(sa.select(Order))
        payment = db.session.scalar(sa.select(Payment))
        # 130.00 CUP at 120 CUP per USD is 1.0833... USD, rounded up to 1.09 USD.
        assert (payment.amount, payment.order_amount) == (Money(109, "USD"), order.total)
        assert payment.exchange_rate == "120.00"
        assert payment.provider_reference == session["id"]
        order_page = f"http://127.0.0.1:5000/pedido/{order.number}/"
        assert headers["idempotency-key"] == f"checkout-{order.number}-{payment.reference}"
        assert params["metadata"] == {"order": order.number, "payment": payment.reference}
        assert params["client_reference_id"] == order.number
        # Back through the return address: the store asks Stripe before saying "paid".
        assert (params["success_url"], params["cancel_url"]) == (
            order_page + "volver/stripe", order_page)
    # Each order line is one item: its share of 1.09 USD (100.00 and 30.00 CUP).
    assert [(item["price_data"]["product_data"]["name"], item["price_data"]["unit_amount"],
             item["price_data"]["currency"]) for item in params["line_items"]] == [
        ("Antivirus · 1 año × 2", "84", "usd"), ("Antivirus · 2 años", "25", "usd")]
    assert session["amount_total"] == 109


def test_a_paid_session_fulfils_the_order_once_when_the_signed_webhook_arrives_twice(
    app, client, shopper, plans, stripe_api, count
):
    session = paid_session(client, stripe_api, shopper, plans)
    webhook = stripe_api.event("checkout.session.completed", session)

    first, second = send(client, webhook), send(client, webhook)

    assert (first.status_code, first.json) == (200, {"status": "fulfilled"})
    assert (second.status_code, second.json) == (200, {"status": "duplicate"})
    assert state(app, count) == {"order": OrderStatus.FULFILLED,
                                 "payment": PaymentStatus.APPROVED, "licences": 3,
                                 "events": 1, "emails": 1, "alerts": 0}


def test_a_session_expiring_after_it_was_paid_leaves_the_order_fulfilled(
    app, client, shopper, plans, stripe_api, count
):
    session = paid_session(client, stripe_api, shopper, plans)
    send(client, stripe_api.event("checkout.session.completed", session))

    late = send(client, stripe_api.event("checkout.session.expired", session, status="expired"))

    assert late.json == {"status": "ignored"}
    assert state(app, count)["order"] == OrderStatus.FULFILLED


def test_a_session_that_expires_unpaid_fails_the_order(
    app, client, shopper, plans, stripe_api, count
):
    check_out_by_card(shopper, plans)
    (session,) = stripe_api.sessions.values()

    response = send(client, stripe_api.event("checkout.session.expired", session,
                                             status="expired"))

    assert response.json == {"status": "declined"}
    assert state(app, count)["order"] == OrderStatus.FAILED


def test_a_delayed_payment_is_confirmed_by_async_payment_succeeded_not_by_completion(
    app, client, shopper, plans, stripe_api, count
):
    check_out_by_card(shopper, plans)
    (session,) = stripe_api.sessions.values()

    completed = send(client, stripe_api.event("checkout.session.completed", session,
                                              status="complete"))
    assert completed.json == {"status": "acknowledged"}
    assert state(app, count)["order"] == OrderStatus.PENDING_PAYMENT

    stripe_api.pay(session["id"])
    succeeded = send(client, stripe_api.event("checkout.session.async_payment_succeeded",
                                              session))
    assert succeeded.json == {"status": "fulfilled"}


@pytest.mark.parametrize("event_type", ["charge.succeeded", "payment_intent.created"])
def test_other_events_are_acknowledged_and_change_nothing(
    app, client, shopper, plans, stripe_api, count, event_type
):
    session = paid_session(client, stripe_api, shopper, plans)

    response = send(client, stripe_api.event(event_type, session))

    assert (response.status_code, response.json) == (200, {"status": "acknowledged"})
    assert state(app, count)["order"] == OrderStatus.PENDING_PAYMENT
    assert state(app, count)["events"] == 0


@pytest.mark.parametrize("forge", [
    lambda body, headers: (body.replace(b'"paid"', b'"paid" '), headers),
    lambda body, headers: (body, {}),
    lambda body, headers: FakeStripe.signed(body.decode(), secret="whsec_someone_else"),
], ids=["tampered-body", "no-signature", "other-secret"])
def test_a_forged_webhook_is_refused_and_changes_nothing(
    app, client, shopper, plans, stripe_api, count, forge
):
    session = paid_session(client, stripe_api, shopper, plans)

    response = send(client, forge(*stripe_api.event("checkout.session.completed", session)))

    assert response.status_code == 400
    assert state(app, count) == {"order": OrderStatus.PENDING_PAYMENT,
                                 "payment": PaymentStatus.PENDING, "licences": 0,
                                 "events": 0, "emails": 0, "alerts": 0}


def test_an_old_event_replayed_is_refused_though_its_signature_is_genuine(
    app, client, shopper, plans, stripe_api, count
):
    session = paid_session(client, stripe_api, shopper, plans)
    ten_minutes_ago = int(time.time()) - 600

    response = send(client, stripe_api.event("checkout.session.completed", session,
                                             timestamp=ten_minutes_ago))

    assert response.status_code == 400
    assert state(app, count)["order"] == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize("body", [
    "not json", json.dumps([1, 2]), json.dumps({"id": "evt_1", "object": "event"}),
    json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed",
                "data": {"object": {"metadata": {"payment": "x"}, "payment_status": "paid",
                                    "amount_total": 1.5, "currency": "usd"}}}),
], ids=["not-json", "a-list", "no-type", "float-amount"])
def test_a_signed_but_malformed_webhook_is_refused(
    app, client, shopper, plans, stripe_api, count, body
):
    paid_session(client, stripe_api, shopper, plans)

    response = send(client, FakeStripe.signed(body))

    assert response.status_code == 400
    assert state(app, count)["events"] == 0


@pytest.mark.parametrize("changes", [{"amount_total": 108}, {"currency": "eur"}],
                         ids=["wrong-amount", "wrong-currency"])
def test_a_paid_session_for_another_amount_needs_attention_and_alerts_staff(
    app, client, shopper, plans, stripe_api, count, changes
):
    session = paid_session(client, stripe_api, shopper, plans)

    response = send(client, stripe_api.event("checkout.session.completed", session, **changes))

    assert response.json == {"status": "amount_mismatch"}
    assert state(app, count) == {"order": OrderStatus.NEEDS_ATTENTION,
                                 "payment": PaymentStatus.MISMATCH, "licences": 0,
                                 "events": 1, "emails": 0, "alerts": 1}


@pytest.mark.parametrize("failure", ["timeout", "500", "503", "garbage"])
def test_a_failing_stripe_leaves_the_order_payable_with_a_clear_message(
    app, client, shopper, plans, stripe_api, count, failure
):
    stripe_api.fail_next(failure)

    response = check_out_by_card(shopper, plans)

    with app.app_context():
        number = db.session.scalar(sa.select(Order.number))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{number}/")
    page = shopper.page(response.headers["Location"])
    assert "El servicio de pago con tarjeta no respondió" in " ".join(shopper.flashes_in(page))
    assert state(app, count) == {"order": OrderStatus.PENDING_PAYMENT,
                                 "payment": PaymentStatus.PENDING, "licences": 0,
                                 "events": 0, "emails": 0, "alerts": 0}

    again = shopper.client.post(f"/pedido/{number}/pagar", data={"method": "stripe"})

    (session,) = stripe_api.sessions.values()
    assert again.headers["Location"] == session["url"]
    keys = {headers["idempotency-key"] for _, headers in stripe_api.calls("POST", "/v1/check")}
    assert len(keys) == 1, "the retry resumes the same payment with the same key"


def test_an_order_below_stripes_minimum_charge_is_refused_before_asking_stripe(
    app, shopper, stripe_api, count
):
    with app.app_context():
        cheap = make_plan(make_product(plans=[]), price_minor=5000)  # 0.42 USD
        db.session.commit()
        cheap_id = cheap.id
    shopper.add(cheap_id)

    response = shopper.check_out(payment_method="stripe")

    page = shopper.page(response.headers["Location"])
    assert "Los pagos con tarjeta empiezan en 0.50 USD" in " ".join(shopper.flashes_in(page))
    assert stripe_api.received == []
    assert state(app, count)["order"] == OrderStatus.PENDING_PAYMENT


def test_a_refund_goes_through_the_api_once_with_an_idempotency_key(
    app, client, shopper, plans, stripe_api, count
):
    session = paid_session(client, stripe_api, shopper, plans)
    send(client, stripe_api.event("checkout.session.completed", session))
    with app.app_context():
        order_id, reference = db.session.execute(sa.select(Payment.order_id,
                                                           Payment.reference)).one()

        (payment,) = refund_order(order_id, reason="customer asked", actor=ADMIN)

        assert payment.status == PaymentStatus.REFUNDED
        assert db.session.get(Order, order_id).status == OrderStatus.REFUNDED
    ((params, headers),) = stripe_api.calls("POST", "/v1/refunds")
    assert params == {"payment_intent": session["payment_intent"], "amount": "109"}
    assert headers["idempotency-key"] == f"refund-{reference}-109"


def fulfilled_by_card(client, stripe_api, shopper, plans) -> dict:
    session = paid_session(client, stripe_api, shopper, plans)
    assert send(client, stripe_api.event("checkout.session.completed", session)).json == {
        "status": "fulfilled"}
    return session


def refund_state(app, count):
    with app.app_context():
        return {
            **state(app, count),
            "licence_states": set(db.session.scalars(sa.select(Licence.status))),
            "refund_emails": count(OutboxMessage, OutboxMessage.kind == "order_refunded"),
            "audited_by_stripe": set(db.session.scalars(
                sa.select(AuditEvent.action).where(AuditEvent.actor == "stripe"))),
        }


@pytest.mark.parametrize("metadata", [True, False], ids=["charge-metadata", "session-lookup"])
def test_a_refund_made_in_the_stripe_dashboard_undoes_the_sale_and_tells_buyer_and_staff(
    app, client, shopper, plans, stripe_api, count, metadata
):
    session = fulfilled_by_card(client, stripe_api, shopper, plans)
    stripe_api.refund_in_dashboard(session["id"])
    refunded = stripe_api.charge_refunded(session, metadata=metadata)

    first, again = send(client, refunded), send(client, refunded)

    assert (first.json, again.json) == ({"status": "refunded"}, {"status": "duplicate"})
    assert refund_state(app, count) == {
        "order": OrderStatus.REFUNDED, "payment": PaymentStatus.REFUNDED, "licences": 3,
        "licence_states": {LicenceStatus.REFUNDED}, "events": 2, "emails": 1, "alerts": 1,
        "refund_emails": 1, "audited_by_stripe": {"order.refund", "payment.refund",
                                                  "licence.refunded"},
    }
    # Stripe is asked whose charge it was only when the charge does not say.
    assert len(stripe_api.calls("GET", "/v1/checkout/sessions")) == (0 if metadata else 2)


def test_a_partial_refund_in_the_dashboard_alerts_staff_and_leaves_the_keys_working(
    app, client, shopper, plans, stripe_api, count
):
    session = fulfilled_by_card(client, stripe_api, shopper, plans)
    stripe_api.refund_in_dashboard(session["id"], amount=50)

    response = send(client, stripe_api.charge_refunded(session))

    assert response.json == {"status": "partly_refunded"}
    assert refund_state(app, count) == {
        "order": OrderStatus.FULFILLED, "payment": PaymentStatus.APPROVED, "licences": 3,
        "licence_states": {LicenceStatus.ACTIVE}, "events": 2, "emails": 1, "alerts": 1,
        "refund_emails": 0, "audited_by_stripe": set(),
    }
    # The rest refunded later: the whole charge is back, and the sale is undone.
    stripe_api.refund_in_dashboard(session["id"])
    assert send(client, stripe_api.charge_refunded(session)).json == {"status": "refunded"}
    assert refund_state(app, count)["order"] == OrderStatus.REFUNDED


def test_a_payment_of_the_wrong_amount_refunded_in_the_dashboard_is_recorded_refunded(
    app, client, shopper, plans, stripe_api, count
):
    session = paid_session(client, stripe_api, shopper, plans)
    send(client, stripe_api.event("checkout.session.completed", session, amount_total=108))
    stripe_api.refund_in_dashboard(session["id"])

    response = send(client, stripe_api.charge_refunded(session))

    assert response.json == {"status": "refunded"}
    after = refund_state(app, count)
    assert (after["order"], after["payment"], after["alerts"], after["licences"]) == (
        OrderStatus.NEEDS_ATTENTION, PaymentStatus.REFUNDED, 1, 0)  # the mismatch's alert


def test_the_webhook_of_the_stores_own_refund_changes_nothing_more(
    app, client, shopper, plans, stripe_api, count
):
    session = fulfilled_by_card(client, stripe_api, shopper, plans)
    with app.app_context():
        refund_order(db.session.scalar(sa.select(Order.id)), reason="asked", actor=ADMIN)

    response = send(client, stripe_api.charge_refunded(session))

    assert response.json == {"status": "ignored"}
    after = refund_state(app, count)
    assert (after["order"], after["alerts"], after["refund_emails"]) == (
        OrderStatus.REFUNDED, 0, 1)


def test_a_refund_webhook_waits_for_stripe_when_it_must_ask_whose_charge_it_was(
    app, client, shopper, plans, stripe_api, count
):
    session = fulfilled_by_card(client, stripe_api, shopper, plans)
    stripe_api.refund_in_dashboard(session["id"])
    refunded = stripe_api.charge_refunded(session, metadata=False)
    stripe_api.fail_next("503")

    refused = send(client, refunded)

    assert refused.status_code == 502  # not acknowledged: Stripe sends it again
    assert refund_state(app, count)["order"] == OrderStatus.FULFILLED
    assert send(client, refunded).json == {"status": "refunded"}


def test_refunding_a_charge_already_refunded_at_stripe_records_the_refund(
    app, client, shopper, plans, stripe_api, count
):
    # Refunded in the Dashboard and its webhook lost: the back office refund still works.
    session = fulfilled_by_card(client, stripe_api, shopper, plans)
    stripe_api.refund_in_dashboard(session["id"])
    with app.app_context():
        order_id = db.session.scalar(sa.select(Order.id))

        (payment,) = refund_order(order_id, reason="customer asked", actor=ADMIN)

        assert (payment.status, payment.refund_reference) == (PaymentStatus.REFUNDED, None)
    assert refund_state(app, count)["order"] == OrderStatus.REFUNDED
    assert stripe_api.refunds == {}  # no money went back twice


def test_a_second_wrong_amount_for_the_same_payment_alerts_staff_once(
    app, client, shopper, plans, stripe_api, count
):
    session = paid_session(client, stripe_api, shopper, plans)

    answers = [send(client, stripe_api.event("checkout.session.completed", session,
                                             amount_total=108)).json for _ in range(2)]

    assert answers == [{"status": "amount_mismatch"}] * 2
    assert state(app, count) == {"order": OrderStatus.NEEDS_ATTENTION,
                                 "payment": PaymentStatus.MISMATCH, "licences": 0,
                                 "events": 2, "emails": 0, "alerts": 1}


def test_a_refund_stripe_refuses_changes_nothing(app, client, shopper, plans, stripe_api):
    session = paid_session(client, stripe_api, shopper, plans)
    send(client, stripe_api.event("checkout.session.completed", session))
    stripe_api.fail_next("500")  # reading the session
    with app.app_context():
        order_id = db.session.scalar(sa.select(Order.id))
        with pytest.raises(PaymentProviderError):
            refund_order(order_id, reason="customer asked", actor=ADMIN)
        db.session.rollback()
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED


def test_asking_stripe_about_a_payment_reads_its_session(
    app, client, shopper, plans, stripe_api
):
    check_out_by_card(shopper, plans)
    with app.app_context():
        stripe = enabled_providers()["stripe"]
        row = db.session.scalar(sa.select(Payment))
        payment = ProviderPayment(row.reference, row.provider_reference, row.amount)

        assert stripe.query_payment(payment) is None  # open: the buyer is still paying
        stripe_api.pay(row.provider_reference)
        event = stripe.complete_payment(payment)

    assert (event.outcome, event.amount, event.reference) == (
        PaymentOutcome.APPROVED, Money(109, "USD"), row.reference)
    assert event.event_id == f"{row.provider_reference}:approved"


def test_cancelling_expires_an_open_session_and_leaves_a_paid_one_alone(
    app, client, shopper, plans, stripe_api
):
    check_out_by_card(shopper, plans)
    (session_id,) = stripe_api.sessions
    with app.app_context():
        stripe = enabled_providers()["stripe"]
        row = db.session.scalar(sa.select(Payment))
        payment = ProviderPayment(row.reference, row.provider_reference, row.amount)

        stripe.cancel_payment(payment)
        assert stripe_api.sessions[session_id]["status"] == "expired"
        stripe.cancel_payment(payment)  # expired already: nothing more is asked
    assert len(stripe_api.calls("POST", f"/v1/checkout/sessions/{session_id}/expire")) == 1


@pytest.mark.parametrize("total, weights, parts", [
    (109, [10000, 3000], [84, 25]),
    (100, [1, 1, 1], [34, 33, 33]),
    (1, [5, 5], [1, 0]),
    (7, [0, 3], [0, 7]),
])
def test_a_charge_is_split_between_lines_adding_up_to_it_exactly(total, weights, parts):
    shares = split(Money(total, "USD"), weights)
    assert [share.minor for share in shares] == parts
    assert sum(share.minor for share in shares) == total


BASE = {"STORE_PAYMENT_PROVIDERS": "stripe", "STORE_STRIPE_SECRET_KEY": "sk_test_x",
        "STORE_STRIPE_WEBHOOK_SECRET": "whsec_x"}


@pytest.mark.parametrize("changes, complaint", [
    ({"STORE_STRIPE_SECRET_KEY": ""}, "STORE_STRIPE_SECRET_KEY"),
    ({"STORE_STRIPE_SECRET_KEY": "pk_test_publishable"}, "STORE_STRIPE_SECRET_KEY"),
    ({"STORE_STRIPE_WEBHOOK_SECRET": ""}, "STORE_STRIPE_WEBHOOK_SECRET"),
    ({"STORE_STRIPE_CURRENCY": "cup"}, "STORE_STRIPE_CURRENCY"),
    ({"STORE_STRIPE_API_BASE": "api.stripe.com"}, "STORE_STRIPE_API_BASE"),
], ids=["no-key", "publishable-key", "no-webhook-secret", "cup", "not-an-address"])
def test_start_up_refuses_stripe_configured_wrongly(tmp_path: Path, changes, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        load_config({**BASE, **changes}, tmp_path)


def test_production_refuses_a_test_mode_stripe_key(tmp_path: Path):
    production = {"STORE_ENV": "production", "STORE_SECRET_KEY": "s" * 40,
                  "STORE_BASE_URL": "https://tienda.example.cu",
                  "STORE_DATABASE_URL": "postgresql://db/store",
                  "STORE_STAFF_EMAIL": "staff@example.cu", "STORE_REDIS_URL": "redis://r/0"}
    with pytest.raises(ConfigurationError, match="test-mode key"):
        load_config({**BASE, **production}, tmp_path)
    config = load_config({**BASE, **production, "STORE_STRIPE_SECRET_KEY": "sk_live_x",
                          "STORE_STRIPE_CURRENCY": "EUR"}, tmp_path)
    assert config["STORE_STRIPE_CURRENCY"] == "eur"


def test_stripe_is_not_checked_when_it_is_not_enabled(tmp_path: Path):
    assert load_config({"STORE_STRIPE_CURRENCY": "cup"}, tmp_path)["STORE_STRIPE_CURRENCY"]


def test_the_buyer_back_from_stripe_reads_confirming_until_stripe_says_paid_then_the_webhook_adds_nothing(
    app, client, shopper, plans, stripe_api, count
):
    check_out_by_card(shopper, plans)
    (session_id,) = stripe_api.sessions
    number = shopper.session()["orders"][-1]

    early = shopper.client.get(f"/pedido/{number}/volver/stripe")
    waiting = shopper.page(f"/pedido/{number}/")
    session = stripe_api.pay(session_id)
    back = shopper.client.get(f"/pedido/{number}/volver/stripe")
    paid = shopper.page(f"/pedido/{number}/")
    late = send(client, stripe_api.event("checkout.session.completed", session))

    assert early.headers["Location"] == back.headers["Location"] == f"/pedido/{number}/"
    assert "Estamos confirmando tu pago" in waiting and not shopper.keys_in(waiting)
    assert len(shopper.keys_in(paid)) == 3
    # The status check and the webhook are two events of one payment: the second adds nothing.
    assert (late.status_code, late.json) == (200, {"status": "already_paid"})
    assert state(app, count) == {"order": OrderStatus.FULFILLED,
                                 "payment": PaymentStatus.APPROVED, "licences": 3,
                                 "events": 2, "emails": 1, "alerts": 0}


def test_a_payment_that_never_reached_stripe_has_nothing_to_ask_about(app, stripe_api):
    with app.app_context():
        stripe = enabled_providers()["stripe"]
        never_sent = ProviderPayment("ref-never-sent", None, Money(109, "USD"))

        assert stripe.query_payment(never_sent) is None
    assert stripe_api.calls("GET", "/v1/checkout/sessions") == []
