"""Concurrency at the till: simultaneous confirmations and simultaneous checkouts.

Run on the suite's database: SQLite locally, PostgreSQL in CI (STORE_REQUIRE_PG=1).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from store.catalogue.models import Fulfilment
from store.checkout.services import Buyer
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence, PoolKey, PoolKeyState
from store.licensing.services import OutOfStock
from store.mail.models import OutboxMessage
from store.orders.models import Order, OrderStatus
from store.orders.services import OrderNotPayable, expire_orders
from store.payments.models import Payment, PaymentStatus
from store.payments.services import pay_order
from tests.factories import make_plan, make_pool, make_product


def cart_of_one_pool_licence(app, keys: int) -> dict:
    """A cart holding one licence of a new 30.00 CUP pool plan with ``keys`` keys."""
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=3000, fulfilment=Fulfilment.POOL)
        make_pool(plan, keys)
        db.session.commit()
        return {str(plan.id): {"q": 1, "p": 3000}}


def test_twenty_simultaneous_confirmations_fulfil_once_with_one_email(app, till, run_at_once):
    order_id, reference = till.check_out_generated(quantity=2)

    # Half repeat one event id, half are distinct events for the same payment.
    results = run_at_once(
        20, lambda i: till.notify(reference, event="evt-same" if i % 2 else f"evt-{i}")
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert results.count("fulfilled") == 1
    assert set(results) <= {"fulfilled", "duplicate", "already_paid"}, results
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.APPROVED
        alerts = db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.kind == "staff_alert")
        )
        assert alerts == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Licence)) == 2
        emails = db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.kind == "order_delivery")
        )
        assert emails == 1


def test_five_simultaneous_checkouts_of_three_pool_keys_place_three_orders(
    app, till, run_at_once
):
    cart = cart_of_one_pool_licence(app, keys=3)

    def buy(i: int):
        buyer = Buyer(f"buyer{i}@example.com", f"Buyer {i}")
        return till.place(cart, token=f"checkout-token-{i:04d}", buyer=buyer).order.id

    results = run_at_once(5, buy)

    placed = [r for r in results if isinstance(r, int)]
    sold_out = [r for r in results if isinstance(r, OutOfStock)]
    assert (len(placed), len(sold_out)) == (3, 2), results
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 3
        holders = db.session.scalars(
            sa.select(PoolKey.order_line_id).where(PoolKey.state == PoolKeyState.RESERVED)
        ).all()
        assert len(holders) == len(set(holders)) == 3


def test_an_approval_and_a_decline_racing_leave_order_and_payment_in_agreement(
    app, till, run_at_once
):
    order_id, reference = till.check_out_generated()

    results = run_at_once(
        10,
        lambda i: till.notify(reference, event=f"evt-{i}",
                              outcome="approved" if i % 2 else "declined"),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        # Money confirmed wins whatever the order of arrival: a decline before it fails the
        # order for a moment, the approval then pays and fulfils it; a decline after it is
        # ignored.
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.APPROVED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Licence)) == 1


def test_buyers_taking_over_a_lapsed_reservation_race_its_late_payment_without_a_double(
    app, till, run_at_once
):
    cart = cart_of_one_pool_licence(app, keys=3)
    late_order, reference = till.check_out(cart, token="late-order-token-0001")
    with app.app_context():  # its window closed; its reservation ran out with it
        past = utcnow() - timedelta(minutes=1)
        db.session.get(Order, late_order).expires_at = past
        for key in db.session.scalars(sa.select(PoolKey).where(PoolKey.state == "reserved")):
            key.reserved_until = past
        db.session.commit()

    def race(i: int):
        if i == 0:
            return till.notify(reference, event="evt-late")
        buyer = Buyer(f"buyer{i}@example.com", f"Buyer {i}")
        return till.place(cart, token=f"checkout-token-{i:04d}", buyer=buyer).order.id

    results = run_at_once(6, race)

    assert not [r for r in results[1:] if not isinstance(r, (int, OutOfStock))], results
    placed = [r for r in results[1:] if isinstance(r, int)]
    late_paid = results[0] == "fulfilled"
    assert results[0] in ("fulfilled", "out_of_stock"), results
    assert len(placed) + late_paid == 3  # every key went to exactly one order
    with app.app_context():
        holders = db.session.scalars(
            sa.select(PoolKey.order_line_id).where(PoolKey.state != "available")
        ).all()
        licences = db.session.scalars(sa.select(Licence)).all()
        late = db.session.get(Order, late_order)
        assert len(holders) == len(set(holders)) == 3
        assert [lic.order_line_id for lic in licences] == ([late.lines[0].id] if late_paid else [])
        assert late.status == (OrderStatus.FULFILLED if late_paid else OrderStatus.NEEDS_ATTENTION)


def expired_order(app, till, keys: int = 2) -> tuple[int, str]:
    """A pool order whose window closed and whose key went back to the pool."""
    order_id, reference = till.check_out(cart_of_one_pool_licence(app, keys))
    with app.app_context():
        expire_orders(utcnow() + till.WINDOW * 2)
    return order_id, reference


def test_paying_again_while_the_old_payment_is_approved_fulfils_once(
    app, till, run_at_once, count
):
    order_id, reference = expired_order(app, till)

    def race(i: int):
        if i % 2:
            return till.notify(reference, event=f"evt-late-{i}")
        return pay_order(order_id, "sandbox", payment_window=till.WINDOW)

    results = run_at_once(10, race)

    unexpected = [r for r in results if isinstance(r, Exception)
                  and not isinstance(r, OrderNotPayable)]
    assert unexpected == [], results
    assert results.count("fulfilled") == 1
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
        states = db.session.scalars(sa.select(PoolKey.state).order_by(PoolKey.id)).all()
    assert sorted(states) == sorted([PoolKeyState.ISSUED, PoolKeyState.AVAILABLE])
    assert count(Licence) == 1
    assert count(OutboxMessage, OutboxMessage.kind == "order_delivery") == 1


def test_paying_again_while_the_sweep_runs_leaves_the_order_payable_with_its_key(
    app, till, run_at_once
):
    order_id, _reference = till.check_out(cart_of_one_pool_licence(app, keys=1))
    with app.app_context():
        db.session.get(Order, order_id).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()

    def race(i: int):
        if i % 2:
            return expire_orders()
        return pay_order(order_id, "sandbox", payment_window=till.WINDOW)

    results = run_at_once(6, race)

    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        order = db.session.get(Order, order_id)
        key = db.session.scalar(sa.select(PoolKey))
        assert order.status == OrderStatus.PENDING_PAYMENT and order.expires_at > utcnow()
        assert key.state == PoolKeyState.RESERVED and key.reserved_until == order.expires_at
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_five_tabs_paying_a_declined_order_again_start_one_new_payment(
    app, till, run_at_once
):
    order_id, reference = till.check_out(cart_of_one_pool_licence(app, keys=1))
    till.notify(reference, outcome="declined")

    results = run_at_once(
        5, lambda i: pay_order(order_id, "sandbox", payment_window=till.WINDOW)
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.PENDING_PAYMENT
        statuses = db.session.scalars(sa.select(Payment.status).order_by(Payment.id)).all()
        assert statuses == [PaymentStatus.DECLINED, PaymentStatus.PENDING]
        assert db.session.scalar(sa.select(PoolKey.state)) == PoolKeyState.RESERVED
