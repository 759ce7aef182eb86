"""Placing orders and confirming payments: every notification has one defined outcome."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment, Plan
from store.checkout.services import Buyer, CartNeedsReview
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence, PoolKey, PoolKeyState
from store.licensing.services import OutOfStock
from store.mail.models import OutboxMessage
from store.money import Money
from store.orders.caps import HoldingLimitReached
from store.orders.models import Order, OrderStatus
from store.orders.services import expire_orders
from store.payments.gateway import InvalidNotification
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.registry import enabled_providers
from store.payments.services import (
    Confirmation,
    OrderNotPayable,
    confirm_payment,
    pay_order,
)
from store.errors import NotFound
from tests.conftest import Till
from tests.factories import make_plan, make_pool, make_product

WINDOW = Till.WINDOW



@pytest.fixture
def app(make_app):
    """One buyer (Till's) plays every order here, taking a small pool whole: the caps on
    what one buyer may hold are tested in tests/functional/test_rate_limits.py."""
    return make_app(STORE_POOL_MAX_SHARE_PERCENT="100")


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


def cart_of(plans, **quantities) -> dict:
    return {str(plans[name]): {"q": q, "p": None} for name, q in quantities.items()}


def order_state(app, order_id, count):
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


def test_an_order_is_priced_from_the_database_with_a_snapshot_of_each_line(app, plans, count, till):
    cart = {str(plans["gen"]): {"q": 2, "p": 5000}, str(plans["pool"]): {"q": 1, "p": 3000}}
    with app.app_context():
        placed = till.place(cart, token="t" * 20)
        order = placed.order
        assert placed.created and order.status == OrderStatus.PENDING_PAYMENT
        assert order.total == Money(2 * 5000 + 3000, "CUP")
        assert [(line.sku, line.quantity, line.unit_price_minor) for line in order.lines] == [
            ("GEN", 2, 5000), ("POOL", 1, 3000)
        ]
        assert abs(order.expires_at - order.created_at - till.WINDOW) < timedelta(seconds=5)
        assert count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 1
        assert order.number.startswith("A-") and len(order.number) == 11


def test_the_same_checkout_submitted_twice_creates_one_order(app, plans, count, till):
    cart = cart_of(plans, gen=1)
    with app.app_context():
        first = till.place(cart, token="same-token-123456")
        second = till.place(cart, token="same-token-123456")
        assert (first.created, second.created) == (True, False)
        assert first.order.id == second.order.id and count(Order) == 1


def test_a_short_pool_refuses_the_order_naming_the_plan_and_writes_nothing(app, plans, count, till):
    with app.app_context():
        with pytest.raises(OutOfStock) as caught:
            till.place(cart_of(plans, gen=1, pool=4), token="t" * 20)
        assert "Plan" in str(caught.value.detail)
        assert (caught.value.available, caught.value.requested) == (3, 4)
        assert count(Order) == 0 and count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 0


@pytest.mark.parametrize("cart", [{}, {"999999": {"q": 1, "p": 1}}], ids=["empty", "unknown-plan"])
def test_an_empty_or_stale_cart_is_sent_back_for_review(app, plans, cart, count, till):
    with app.app_context():
        with pytest.raises(CartNeedsReview):
            till.place(cart, token="t" * 20)
        assert count(Order) == 0


def test_a_price_change_since_the_cart_was_filled_needs_the_buyers_review(app, plans, count, till):
    with app.app_context():
        with pytest.raises(CartNeedsReview):
            till.place({str(plans["gen"]): {"q": 1, "p": 4000}}, token="t" * 20)
        assert count(Order) == 0


def test_an_approved_payment_fulfils_the_order_once_with_keys_and_one_email(
    app, plans, till, count
):
    order_id, reference = till.check_out(cart_of(plans, gen=2, pool=1))

    assert till.notify(reference) == "fulfilled"

    state = order_state(app, order_id, count)
    assert state["status"] == OrderStatus.FULFILLED
    assert (state["licences"], state["emails"], state["events"]) == (3, 1, 1)
    assert state["timeline"] == ["placed", "payment_started", "paid", "fulfilled"]
    with app.app_context():
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.APPROVED
        assert count(PoolKey, PoolKey.state == PoolKeyState.ISSUED) == 1


def test_the_same_notification_twice_acts_once(app, plans, till, count):
    order_id, reference = till.check_out(cart_of(plans, gen=1))
    assert till.notify(reference) == "fulfilled"
    assert till.notify(reference) == "duplicate"
    state = order_state(app, order_id, count)
    assert (state["licences"], state["emails"], state["events"]) == (1, 1, 1)


def test_a_second_notification_of_the_same_payment_changes_nothing(app, plans, till, count):
    order_id, reference = till.check_out(cart_of(plans, gen=1))
    till.notify(reference, event="evt-1")
    assert till.notify(reference, event="evt-2") == "already_paid"
    state = order_state(app, order_id, count)
    assert (state["licences"], state["emails"], state["events"]) == (1, 1, 2)


@pytest.mark.parametrize(
    "amount", [Money(4999, "CUP"), Money(5000, "USD")], ids=["wrong-amount", "wrong-currency"]
)
def test_a_payment_for_another_amount_needs_attention_and_alerts_staff(
    app, plans, amount, till, count
):
    order_id, reference = till.check_out(cart_of(plans, gen=1))

    outcome = till.notify(reference, amount=amount)

    state = order_state(app, order_id, count)
    assert outcome == "amount_mismatch"
    assert state["status"] == OrderStatus.NEEDS_ATTENTION
    assert (state["licences"], state["emails"], state["alerts"]) == (0, 0, 1)
    with app.app_context():
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.MISMATCH


def test_a_bad_signature_is_refused_and_changes_nothing(app, plans, till, count):
    order_id, reference = till.check_out(cart_of(plans, gen=1))
    tampered = lambda body: body.replace(b'"approved"', b'"approved" ')  # noqa: E731
    with pytest.raises(InvalidNotification):
        till.notify(reference, tamper=tampered)
    state = order_state(app, order_id, count)
    assert state["status"] == OrderStatus.PENDING_PAYMENT and state["events"] == 0


def test_a_signed_but_malformed_notification_is_refused(app, plans, till, count):
    till.check_out(cart_of(plans, gen=1))
    with app.app_context():
        sandbox = enabled_providers()["sandbox"]
        for body in (b"not json", json.dumps({"event_id": "x"}).encode(),
                     json.dumps({"event_id": "x", "reference": "r", "outcome": "approved",
                                 "amount_minor": 50.0, "currency": "CUP"}).encode()):
            with pytest.raises(InvalidNotification):
                confirm_payment("sandbox", body, {"X-Sandbox-Signature": sandbox.sign(body)})
        assert count(ProcessedEvent) == 0


def test_a_notification_for_an_unknown_payment_changes_nothing(app, plans, till, count):
    till.check_out(cart_of(plans, gen=1))
    with pytest.raises(NotFound):
        till.notify("no-such-reference", amount=Money(5000, "CUP"))
    with app.app_context():
        assert count(ProcessedEvent) == 0 and count(Licence) == 0


def test_a_decline_fails_the_order_and_releases_its_keys(app, plans, till, count):
    order_id, reference = till.check_out(cart_of(plans, pool=2))
    assert till.notify(reference, outcome="declined") == "declined"
    state = order_state(app, order_id, count)
    assert state["status"] == OrderStatus.FAILED and state["licences"] == 0
    with app.app_context():
        assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 3


def test_a_payment_after_expiry_still_gets_keys_by_reserving_them_again(app, plans, till, count):
    order_id, reference = till.check_out(cart_of(plans, pool=1))
    with app.app_context():
        assert expire_orders(now=utcnow() + till.WINDOW + timedelta(minutes=1)) == 1
        assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 3

    assert till.notify(reference) == "fulfilled"

    state = order_state(app, order_id, count)
    assert state["status"] == OrderStatus.FULFILLED and state["licences"] == 1
    assert state["timeline"][-3:] == ["expired", "paid", "fulfilled"]


def test_a_payment_after_expiry_with_the_pool_sold_out_needs_attention(app, plans, till, count):
    order_id, reference = till.check_out(cart_of(plans, pool=1))
    with app.app_context():
        expire_orders(now=utcnow() + till.WINDOW + timedelta(minutes=1))
    till.check_out(cart_of(plans, pool=3), token="another-buyer-000001")  # takes every key

    outcome = till.notify(reference)

    state = order_state(app, order_id, count)
    assert outcome == "out_of_stock"
    assert state["status"] == OrderStatus.NEEDS_ATTENTION
    assert (state["licences"], state["emails"], state["alerts"]) == (0, 0, 1)


def test_money_for_an_order_already_paid_alerts_staff_without_reissuing(app, plans, till, count):
    order_id, first = till.check_out(cart_of(plans, gen=1))
    till.notify(first)
    with app.app_context():
        payment = Payment(order_id=order_id, provider="sandbox", reference="second-payment",
                          amount_minor=5000, currency="CUP", order_amount_minor=5000,
                          order_currency="CUP")
        db.session.add(payment)
        db.session.commit()

    assert till.notify("second-payment", event="evt-9") == "paid_twice"

    state = order_state(app, order_id, count)
    assert state["status"] == OrderStatus.FULFILLED
    assert (state["licences"], state["emails"], state["alerts"]) == (1, 1, 1)


def test_expire_orders_expires_only_overdue_unpaid_orders_and_frees_their_keys(
    app, plans, till, count
):
    overdue, _ = till.check_out(cart_of(plans, pool=2), token="overdue-order-00001")
    paid, reference = till.check_out(cart_of(plans, gen=1), token="paid-order-0000001")
    till.notify(reference)
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


def test_paying_an_order_past_its_window_gives_it_a_new_window_and_resumes_its_payment(
    app, plans, till, count
):
    order_id, _ = till.check_out(cart_of(plans, pool=2))
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

        pay_order(order_id, "sandbox", payment_window=WINDOW)

        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING_PAYMENT
        assert order.expires_at > utcnow() + WINDOW - timedelta(minutes=1)
        assert count(Payment) == 1  # the sandbox payment waiting there is resumed
        assert count(PoolKey, PoolKey.state == PoolKeyState.RESERVED,
                     PoolKey.reserved_until == order.expires_at) == 2


def test_paying_again_after_a_decline_reopens_the_order_and_reserves_its_keys_again(
    app, plans, till, count
):
    order_id, reference = till.check_out(cart_of(plans, pool=2))
    till.notify(reference, outcome="declined")
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.FAILED
        assert count(PoolKey, PoolKey.state == PoolKeyState.AVAILABLE) == 3

        pay_order(order_id, "sandbox", payment_window=WINDOW)

        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING_PAYMENT
        assert [event.kind for event in order.events][-2:] == ["pending_payment", "payment_started"]
        assert count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 2
        assert count(Payment) == 2  # the declined one stays as it was
    new_reference = _last_reference(app, order_id)
    assert till.notify(new_reference, event="evt-2") == Confirmation.FULFILLED
    assert order_state(app, order_id, count)["licences"] == 2


def _last_reference(app, order_id) -> str:
    with app.app_context():
        return db.session.scalar(
            sa.select(Payment.reference).where(Payment.order_id == order_id)
            .order_by(Payment.id.desc())
        )


def test_an_expired_order_whose_keys_sold_out_meanwhile_cannot_be_paid_again(
    app, plans, till, count
):
    order_id, _ = till.check_out(cart_of(plans, pool=2))
    with app.app_context():
        expire_orders(utcnow() + WINDOW * 2)
    with app.app_context():  # another buyer takes the whole pool
        till.place(cart_of(plans, pool=3), token="token-0000000000000002",
                   buyer=Buyer("beto@example.com", "Beto Díaz"))
        with pytest.raises(OutOfStock):
            pay_order(order_id, "sandbox", payment_window=WINDOW)
        assert db.session.get(Order, order_id).status == OrderStatus.EXPIRED
        assert count(PoolKey, PoolKey.order_line_id.is_(None)) == 0


def test_an_order_whose_plan_changed_price_cannot_be_paid_again_and_nothing_changes(
    app, plans, till, count
):
    order_id, reference = till.check_out(cart_of(plans, gen=1))
    till.notify(reference, outcome="declined")
    with app.app_context():
        db.session.get(Plan, plans["gen"]).price_minor = 5500
        db.session.commit()
        with pytest.raises(OrderNotPayable):
            pay_order(order_id, "sandbox", payment_window=WINDOW)
        assert db.session.get(Order, order_id).status == OrderStatus.FAILED
        assert count(Payment) == 1


def test_a_paid_order_is_never_reopened(app, plans, till, count):
    order_id, reference = till.check_out(cart_of(plans, gen=1))
    till.notify(reference)
    with app.app_context():
        with pytest.raises(OrderNotPayable):
            pay_order(order_id, "sandbox", payment_window=WINDOW)
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
        assert count(Payment) == 1


def test_paying_again_keeps_within_the_caps_on_held_keys(app, plans, till, count):
    app.config["STORE_POOL_MAX_HELD_PER_BUYER"] = 2
    first, _ = till.check_out(cart_of(plans, pool=2))
    with app.app_context():
        expire_orders(utcnow() + WINDOW * 2)
    till.check_out(cart_of(plans, pool=1), token="token-0000000000000002")  # the same email

    with app.app_context():
        with pytest.raises(HoldingLimitReached):
            pay_order(first, "sandbox", payment_window=WINDOW)
        assert db.session.get(Order, first).status == OrderStatus.EXPIRED
    assert count(PoolKey, PoolKey.state == PoolKeyState.RESERVED) == 1
