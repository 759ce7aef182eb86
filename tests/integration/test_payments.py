"""Placing orders and confirming payments: every notification has one defined outcome."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment
from store.checkout.services import Buyer, CartNeedsReview, place_order
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence, PoolKey, PoolKeyState
from store.licensing.services import OutOfStock
from store.mail.models import OutboxMessage
from store.money import Money
from store.orders.models import Order, OrderStatus
from store.orders.services import expire_orders
from store.payments.gateway import InvalidNotification, enabled_providers
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.services import begin_payment, receive_notification
from store.errors import NotFound
from tests.factories import make_plan, make_pool, make_product

WINDOW = timedelta(minutes=30)
BUYER = Buyer("ana@example.com", "Ana Pérez")


@pytest.fixture
def plans(app):
    """A generated plan at 50.00 CUP and a pool plan at 30.00 CUP with 3 keys."""
    with app.app_context():
        product = make_product(plans=[])
        generated = make_plan(product, sku="GEN", price_minor=5000, seats=1)
        pool = make_plan(product, sku="POOL", price_minor=3000, fulfilment=Fulfilment.POOL)
        db.session.commit()
        make_pool(pool, 3)
        db.session.commit()
        return {"gen": generated.id, "pool": pool.id}


def checkout_generated(app, quantity: int = 1, locale: str = "es") -> tuple[int, str]:
    """Checkout of ``quantity`` licences of a new 50.00 CUP generated plan."""
    with app.app_context():
        plan = make_plan(make_product(plans=[]), sku=f"GEN-{locale}", price_minor=5000)
        db.session.commit()
        cart = {str(plan.id): {"q": quantity, "p": 5000}}
    return checkout(app, cart, locale=locale)


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def cart_of(plans, **quantities) -> dict:
    return {str(plans[name]): {"q": q, "p": None} for name, q in quantities.items()}


def checkout(app, cart, token="token-0000000000000001", locale="es") -> tuple[int, str]:
    """Place an order and start its sandbox payment; return (order id, payment reference)."""
    with app.test_request_context():
        placed = place_order(cart=cart, buyer=BUYER, checkout_token=token, locale=locale,
                             payment_window=WINDOW)
        begin_payment(placed.order, "sandbox")
        reference = db.session.scalar(
            sa.select(Payment.reference).where(Payment.order_id == placed.order.id)
            .order_by(Payment.id.desc())
        )
        return placed.order.id, reference


def notify(app, reference, *, event="evt-1", outcome="approved", amount=None, tamper=None):
    """Send a signed sandbox notification through the real verification path."""
    with app.test_request_context():
        sandbox = enabled_providers()["sandbox"]
        if amount is None:
            amount = db.session.scalar(
                sa.select(Payment).where(Payment.reference == reference)
            ).amount
        body, headers = sandbox.notification(
            event_id=event, reference=reference, outcome=outcome, amount=amount
        )
        if tamper:
            body = tamper(body)
        return receive_notification("sandbox", body, headers)


def order_state(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        return {
            "status": order.status,
            "licences": count(Licence),
            "emails": count(OutboxMessage, OutboxMessage.kind == "order_delivery"),
            "alerts": count(OutboxMessage, OutboxMessage.kind == "staff_alert"),
            "events": count(ProcessedEvent),
            "timeline": [event.kind for event in order.events],
        }


def test_an_order_is_priced_from_the_database_with_a_snapshot_of_each_line(app, plans):
    cart = {str(plans["gen"]): {"q": 2, "p": 5000}, str(plans["pool"]): {"q": 1, "p": 3000}}
    with app.app_context():
        placed = place_order(cart=cart, buyer=BUYER, checkout_token="t" * 20, locale="es",
                             payment_window=WINDOW)
        order = placed.order
        assert placed.created and order.status == OrderStatus.PENDING_PAYMENT
        assert order.total == Money(2 * 5000 + 3000, "CUP")
        assert [(line.sku, line.quantity, line.unit_price_minor) for line in order.lines] == [
            ("GEN", 2, 5000), ("POOL", 1, 3000)
        ]
        assert abs(order.expires_at - order.created_at - WINDOW) < timedelta(seconds=5)
        assert count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 1
        assert order.number.startswith("A-") and len(order.number) == 11


def test_the_same_checkout_submitted_twice_creates_one_order(app, plans):
    cart = cart_of(plans, gen=1)
    with app.app_context():
        first = place_order(cart=cart, buyer=BUYER, checkout_token="same-token-123456",
                            locale="es", payment_window=WINDOW)
        second = place_order(cart=cart, buyer=BUYER, checkout_token="same-token-123456",
                             locale="es", payment_window=WINDOW)
        assert (first.created, second.created) == (True, False)
        assert first.order.id == second.order.id and count(Order) == 1


def test_a_short_pool_refuses_the_order_naming_the_plan_and_writes_nothing(app, plans):
    with app.app_context():
        with pytest.raises(OutOfStock) as caught:
            place_order(cart=cart_of(plans, gen=1, pool=4), buyer=BUYER,
                        checkout_token="t" * 20, locale="es", payment_window=WINDOW)
        assert "Plan" in str(caught.value.detail)
        assert (caught.value.available, caught.value.requested) == (3, 4)
        assert count(Order) == 0 and count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 0


@pytest.mark.parametrize("cart", [{}, {"999999": {"q": 1, "p": 1}}], ids=["empty", "unknown-plan"])
def test_an_empty_or_stale_cart_is_sent_back_for_review(app, plans, cart):
    with app.app_context():
        with pytest.raises(CartNeedsReview):
            place_order(cart=cart, buyer=BUYER, checkout_token="t" * 20, locale="es",
                        payment_window=WINDOW)
        assert count(Order) == 0


def test_a_price_change_since_the_cart_was_filled_needs_the_buyers_review(app, plans):
    with app.app_context():
        with pytest.raises(CartNeedsReview):
            place_order(cart={str(plans["gen"]): {"q": 1, "p": 4000}}, buyer=BUYER,
                        checkout_token="t" * 20, locale="es", payment_window=WINDOW)
        assert count(Order) == 0


def test_an_approved_payment_fulfils_the_order_once_with_keys_and_one_email(app, plans):
    order_id, reference = checkout(app, cart_of(plans, gen=2, pool=1))

    assert notify(app, reference) == "fulfilled"

    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.FULFILLED
    assert (state["licences"], state["emails"], state["events"]) == (3, 1, 1)
    assert state["timeline"] == ["placed", "payment_started", "paid", "fulfilled"]
    with app.app_context():
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.APPROVED
        assert count(PoolKey, PoolKey.state == PoolKeyState.ISSUED) == 1


def test_the_same_notification_twice_acts_once(app, plans):
    order_id, reference = checkout(app, cart_of(plans, gen=1))
    assert notify(app, reference) == "fulfilled"
    assert notify(app, reference) == "duplicate"
    state = order_state(app, order_id)
    assert (state["licences"], state["emails"], state["events"]) == (1, 1, 1)


def test_a_second_notification_of_the_same_payment_changes_nothing(app, plans):
    order_id, reference = checkout(app, cart_of(plans, gen=1))
    notify(app, reference, event="evt-1")
    assert notify(app, reference, event="evt-2") == "already_paid"
    state = order_state(app, order_id)
    assert (state["licences"], state["emails"], state["events"]) == (1, 1, 2)


@pytest.mark.parametrize(
    "amount", [Money(4999, "CUP"), Money(5000, "USD")], ids=["wrong-amount", "wrong-currency"]
)
def test_a_payment_for_another_amount_needs_attention_and_alerts_staff(app, plans, amount):
    order_id, reference = checkout(app, cart_of(plans, gen=1))

    outcome = notify(app, reference, amount=amount)

    state = order_state(app, order_id)
    assert outcome == "amount_mismatch"
    assert state["status"] == OrderStatus.NEEDS_ATTENTION
    assert (state["licences"], state["emails"], state["alerts"]) == (0, 0, 1)
    with app.app_context():
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.MISMATCH


def test_a_bad_signature_is_refused_and_changes_nothing(app, plans):
    order_id, reference = checkout(app, cart_of(plans, gen=1))
    tampered = lambda body: body.replace(b'"approved"', b'"approved" ')  # noqa: E731
    with pytest.raises(InvalidNotification):
        notify(app, reference, tamper=tampered)
    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.PENDING_PAYMENT and state["events"] == 0


def test_a_signed_but_malformed_notification_is_refused(app, plans):
    checkout(app, cart_of(plans, gen=1))
    with app.test_request_context():
        sandbox = enabled_providers()["sandbox"]
        for body in (b"not json", json.dumps({"event_id": "x"}).encode(),
                     json.dumps({"event_id": "x", "reference": "r", "outcome": "approved",
                                 "amount_minor": 50.0, "currency": "CUP"}).encode()):
            with pytest.raises(InvalidNotification):
                receive_notification("sandbox", body, {"X-Sandbox-Signature": sandbox.sign(body)})
        assert count(ProcessedEvent) == 0


def test_a_notification_for_an_unknown_payment_changes_nothing(app, plans):
    checkout(app, cart_of(plans, gen=1))
    with pytest.raises(NotFound):
        notify(app, "no-such-reference", amount=Money(5000, "CUP"))
    with app.app_context():
        assert count(ProcessedEvent) == 0 and count(Licence) == 0


def test_a_decline_fails_the_order_and_releases_its_keys(app, plans):
    order_id, reference = checkout(app, cart_of(plans, pool=2))
    assert notify(app, reference, outcome="declined") == "declined"
    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.FAILED and state["licences"] == 0
    with app.app_context():
        assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 3


def test_a_payment_after_expiry_still_gets_keys_by_reserving_them_again(app, plans):
    order_id, reference = checkout(app, cart_of(plans, pool=1))
    with app.app_context():
        assert expire_orders(now=utcnow() + WINDOW + timedelta(minutes=1)) == 1
        assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 3

    assert notify(app, reference) == "fulfilled"

    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.FULFILLED and state["licences"] == 1
    assert state["timeline"][-3:] == ["expired", "paid", "fulfilled"]


def test_a_payment_after_expiry_with_the_pool_sold_out_needs_attention(app, plans):
    order_id, reference = checkout(app, cart_of(plans, pool=1))
    with app.app_context():
        expire_orders(now=utcnow() + WINDOW + timedelta(minutes=1))
    checkout(app, cart_of(plans, pool=3), token="another-buyer-000001")  # takes every key

    outcome = notify(app, reference)

    state = order_state(app, order_id)
    assert outcome == "out_of_stock"
    assert state["status"] == OrderStatus.NEEDS_ATTENTION
    assert (state["licences"], state["emails"], state["alerts"]) == (0, 0, 1)


def test_money_for_an_order_already_paid_alerts_staff_without_reissuing(app, plans):
    order_id, first = checkout(app, cart_of(plans, gen=1))
    notify(app, first)
    with app.test_request_context():
        payment = Payment(order_id=order_id, provider="sandbox", reference="second-payment",
                          amount_minor=5000, currency="CUP")
        db.session.add(payment)
        db.session.commit()

    assert notify(app, "second-payment", event="evt-9") == "paid_twice"

    state = order_state(app, order_id)
    assert state["status"] == OrderStatus.FULFILLED
    assert (state["licences"], state["emails"], state["alerts"]) == (1, 1, 1)


def test_expire_orders_expires_only_overdue_unpaid_orders_and_frees_their_keys(app, plans):
    overdue, _ = checkout(app, cart_of(plans, pool=2), token="overdue-order-00001")
    paid, reference = checkout(app, cart_of(plans, gen=1), token="paid-order-0000001")
    notify(app, reference)
    with app.app_context():
        db.session.get(Order, overdue).expires_at = utcnow() - timedelta(seconds=1)
        db.session.get(Order, paid).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["store", "expire-orders"])
    again = app.test_cli_runner().invoke(args=["store", "expire-orders"])

    assert result.exit_code == 0 and "Pedidos vencidos: 1" in result.output
    assert "Pedidos vencidos: 0" in again.output
    with app.app_context():
        assert db.session.get(Order, overdue).status == OrderStatus.EXPIRED
        assert db.session.get(Order, paid).status == OrderStatus.FULFILLED
        assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 3


def test_a_new_payment_cannot_start_once_the_window_closed(app, plans):
    from store.payments.services import OrderNotPayable

    order_id, _ = checkout(app, cart_of(plans, gen=1))
    with app.test_request_context():
        order = db.session.get(Order, order_id)
        order.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        with pytest.raises(OrderNotPayable):
            begin_payment(order, "sandbox")
        assert count(Payment) == 1
