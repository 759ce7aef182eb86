"""Concurrency: many buyers at once never share a key, and a line is issued once.

These run on the suite's database: SQLite (BEGIN IMMEDIATE) locally and PostgreSQL
(FOR UPDATE SKIP LOCKED) in CI, where STORE_REQUIRE_PG=1 keeps them from skipping.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing import services
from store.licensing.models import Licence, PoolKey, PoolKeyState
from store.licensing.services import OutOfStock
from store.orders.models import OrderLine
from store.unit_of_work import use_case
from tests.factories import make_order, make_plan, make_pool, make_product


@pytest.fixture
def pool_orders(app):
    """A pool plan with 20 keys and 50 orders of one licence each."""
    with app.app_context():
        plan = make_plan(make_product(plans=[]), sku="POOL-RUSH", fulfilment=Fulfilment.POOL)
        make_pool(plan, 20)
        orders = [make_order(plan) for _ in range(50)]
        db.session.commit()
        return plan.id, [order.lines[0].id for order in orders]


def test_fifty_buyers_at_once_share_twenty_keys_without_a_double(app, pool_orders, run_at_once):
    plan_id, line_ids = pool_orders
    until = utcnow() + timedelta(minutes=30)

    def buy(i: int):
        with use_case() as uow:
            line = db.session.get(OrderLine, line_ids[i])
            claimed = [key.id for key in services.reserve(line, 1, until=until)]
            uow.commit()
        return claimed

    results = run_at_once(50, buy)

    won = [r for r in results if isinstance(r, list)]
    sold_out = [r for r in results if isinstance(r, OutOfStock)]
    assert len(won) == 20 and len(sold_out) == 30, results
    assert len({key_id for keys in won for key_id in keys}) == 20
    with app.app_context():
        states = dict(
            db.session.execute(
                sa.select(PoolKey.state, sa.func.count())
                .where(PoolKey.plan_id == plan_id)
                .group_by(PoolKey.state)
            ).all()
        )
        holders = db.session.scalars(sa.select(PoolKey.order_line_id)).all()
    assert states == {PoolKeyState.RESERVED: 20}
    assert len(set(holders)) == 20


def test_ten_simultaneous_issues_of_one_line_create_one_set_of_licences(app, run_at_once):
    with app.app_context():
        plan = make_plan(make_product(plans=[]), sku="GEN-RUSH")
        order = make_order(plan, quantity=3)
        db.session.commit()
        line_id = order.lines[0].id

    def issue(_i: int):
        with use_case() as uow:
            licences = sorted(lic.id for lic in services.issue(db.session.get(OrderLine, line_id)))
            uow.commit()
        return licences

    results = run_at_once(10, issue)

    assert all(isinstance(r, list) for r in results), results
    assert len({tuple(r) for r in results}) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Licence)) == 3


def test_issue_and_release_racing_on_a_pool_line_never_lose_or_share_a_key(app, run_at_once):
    with app.app_context():
        plan = make_plan(make_product(plans=[]), sku="POOL-RACE", fulfilment=Fulfilment.POOL)
        make_pool(plan, 3)
        order = make_order(plan, quantity=2)
        db.session.commit()
        order_id, line_id = order.id, order.lines[0].id
        with use_case() as uow:
            services.reserve(db.session.get(OrderLine, line_id), 2,
                             until=utcnow() + timedelta(minutes=30))
            uow.commit()

    def issue_or_release(i: int):
        with use_case() as uow:
            if i % 2:
                services.release(db.session.get(type(order), order_id))
                uow.commit()
                return "released"
            licences = sorted(
                lic.pool_key_id for lic in services.issue(db.session.get(OrderLine, line_id))
            )
            uow.commit()
        return licences

    results = run_at_once(10, issue_or_release)

    issued = [r for r in results if isinstance(r, list)]
    assert len(issued) == 5 and len({tuple(r) for r in issued}) == 1, results
    with app.app_context():
        rows = db.session.execute(sa.select(PoolKey.state, PoolKey.order_line_id)).all()
        licences = db.session.scalars(sa.select(Licence)).all()
    assert sorted(state for state, _ in rows) == ["available", "issued", "issued"]
    assert {line for state, line in rows if state == "issued"} == {line_id}
    assert sorted(lic.pool_key_id for lic in licences) == issued[0]
