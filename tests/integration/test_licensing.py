"""Licensing services against the database: reserve, release, issue, revoke, reissue."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from store.audit.models import AuditEvent
from store.catalogue.models import Fulfilment
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing import keys, services
from store.licensing.stock import stock
from store.licensing.models import Licence, LicenceStatus, PoolKey, PoolKeyState
from store.licensing.services import LicenceNotActive, OutOfStock
from store.unit_of_work import require_write
from store.vault import reveal
from tests.factories import make_order, make_plan, make_pool, make_product

pytestmark = pytest.mark.usefixtures("app_context")
SOON = utcnow() + timedelta(minutes=30)


@pytest.fixture
def pool_plan():
    product = make_product(plans=[])
    plan = make_plan(product, sku="POOL-1", fulfilment=Fulfilment.POOL, seats=3,
                     duration_days=180, low_stock_threshold=2)
    commit()
    return plan


@pytest.fixture
def generated_plan():
    product = make_product(plans=[])
    plan = make_plan(product, sku="GEN-1", seats=5, duration_days=365)
    commit()
    return plan


def commit() -> None:
    """Commit, then open the next transaction as the steps need it (serial on SQLite).

    These tests call the licensing steps on their own, as a use case would between its
    begin and its commit.
    """
    db.session.commit()
    require_write()


def test_reserve_claims_available_pool_keys_for_the_line(pool_plan):
    make_pool(pool_plan, 3)
    order = make_order(pool_plan, quantity=2)
    commit()

    claimed = services.reserve(order.lines[0], 2, until=SOON)
    commit()

    assert len(claimed) == 2
    assert {k.state for k in claimed} == {PoolKeyState.RESERVED}
    assert {k.order_line_id for k in claimed} == {order.lines[0].id}
    assert stock(pool_plan).available == 1
    assert stock(pool_plan).reserved == 2


def test_reserve_again_claims_only_what_is_missing_and_frees_any_surplus(pool_plan):
    make_pool(pool_plan, 5)
    order = make_order(pool_plan, quantity=3)
    commit()
    first = services.reserve(order.lines[0], 1, until=SOON)
    grown = services.reserve(order.lines[0], 3, until=SOON)
    commit()
    assert grown[0].id == first[0].id and len({k.id for k in grown}) == 3
    assert stock(pool_plan).reserved == 3

    shrunk = services.reserve(order.lines[0], 2, until=SOON)
    commit()
    assert [k.id for k in shrunk] == [k.id for k in grown[:2]]
    assert (stock(pool_plan).reserved, stock(pool_plan).available) == (2, 3)


def test_out_of_stock_claims_nothing_and_says_how_many_are_left(pool_plan, count):
    make_pool(pool_plan, 2)
    order = make_order(pool_plan, quantity=3)
    commit()

    with pytest.raises(OutOfStock) as caught:
        services.reserve(order.lines[0], 3, until=SOON)
    db.session.rollback()

    assert (caught.value.available, caught.value.requested) == (2, 3)
    assert stock(pool_plan).available == 2
    assert count(PoolKey, PoolKey.order_line_id.is_not(None)) == 0


def test_reserve_does_nothing_for_generated_plans(generated_plan):
    order = make_order(generated_plan, quantity=2)
    commit()
    assert services.reserve(order.lines[0], 2, until=SOON) == []


def test_release_frees_reserved_keys_and_is_idempotent(pool_plan, count):
    make_pool(pool_plan, 3)
    order = make_order(pool_plan, quantity=2)
    commit()
    services.reserve(order.lines[0], 2, until=SOON)
    commit()

    released = services.release(order)
    commit()
    again = services.release(order)
    commit()

    assert (released, again) == (2, 0)
    assert stock(pool_plan).available == 3
    assert count(PoolKey, PoolKey.reserved_until.is_not(None)) == 0


def test_issue_creates_one_licence_per_unit_with_seats_and_expiry(generated_plan):
    order = make_order(generated_plan, quantity=3)
    commit()
    start = utcnow()

    licences = services.issue(order.lines[0], now=start)
    commit()

    assert [lic.unit for lic in licences] == [0, 1, 2]
    assert {lic.seats for lic in licences} == {5}
    assert {lic.expires_at - lic.starts_at for lic in licences} == {timedelta(days=365)}
    assert {lic.status for lic in licences} == {LicenceStatus.ACTIVE}
    plain = [reveal(lic) for lic in licences]
    assert len(set(plain)) == 3
    assert all(keys.normalise(key) == key for key in plain)


def test_issue_twice_returns_the_same_licences_and_creates_nothing(generated_plan, count):
    order = make_order(generated_plan, quantity=2)
    commit()
    first = services.issue(order.lines[0])
    commit()

    second = services.issue(order.lines[0])
    commit()

    assert [lic.id for lic in second] == [lic.id for lic in first]
    assert count(Licence) == 2


def test_issue_for_a_pool_line_uses_its_reserved_keys(pool_plan):
    plain = make_pool(pool_plan, 3)
    order = make_order(pool_plan, quantity=2)
    commit()
    reserved = services.reserve(order.lines[0], 2, until=SOON)
    commit()

    licences = services.issue(order.lines[0])
    commit()

    assert [lic.pool_key_id for lic in licences] == [k.id for k in reserved]
    assert [reveal(lic) for lic in licences] == plain[:2]
    assert {k.state for k in reserved} == {PoolKeyState.ISSUED}
    levels = stock(pool_plan)
    assert (levels.available, levels.reserved, levels.issued) == (1, 0, 2)


def test_issue_after_the_reservation_lapsed_claims_keys_again(pool_plan):
    make_pool(pool_plan, 2)
    order = make_order(pool_plan, quantity=1)
    commit()
    services.reserve(order.lines[0], 1, until=SOON)
    services.release(order)
    commit()

    licences = services.issue(order.lines[0])
    commit()

    assert len(licences) == 1 and licences[0].pool_key is not None
    assert stock(pool_plan).issued == 1


def test_issue_raises_out_of_stock_when_the_pool_cannot_cover_a_paid_line(pool_plan, count):
    make_pool(pool_plan, 1)
    order = make_order(pool_plan, quantity=2)
    commit()

    with pytest.raises(OutOfStock):
        services.issue(order.lines[0])
    db.session.rollback()

    assert count(Licence) == 0
    assert stock(pool_plan).available == 1


def test_revoke_stops_a_licence_and_audits_the_reason(generated_plan, count):
    order = make_order(generated_plan)
    commit()
    licence = services.issue(order.lines[0])[0]
    commit()

    services.revoke(licence, reason="chargeback", actor="support:ana")
    commit()

    assert licence.status == LicenceStatus.REVOKED and licence.status_reason == "chargeback"
    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.subject_id, event.reason, event.actor) == (
        "licence.revoked", licence.id, "chargeback", "support:ana"
    )
    with pytest.raises(LicenceNotActive):
        services.revoke(licence, reason="again", actor="support:ana")
    db.session.rollback()
    assert count(AuditEvent) == 1


def test_reissue_gives_a_new_key_with_the_same_terms_and_revokes_the_old(generated_plan):
    order = make_order(generated_plan)
    commit()
    old = services.issue(order.lines[0])[0]
    commit()
    old_key = reveal(old)

    new = services.reissue(old, reason="key leaked", actor="support:ana")
    commit()

    assert reveal(new) != old_key
    assert (new.seats, new.starts_at, new.expires_at, new.unit) == (
        old.seats, old.starts_at, old.expires_at, old.unit
    )
    assert (new.generation, new.status) == (1, LicenceStatus.ACTIVE)
    assert (old.status, old.replaced_by_id) == (LicenceStatus.REVOKED, new.id)
    assert services.current_licences(order.lines[0]) == [new]
    assert services.issue(order.lines[0]) == [new]  # issuing again still creates nothing
    assert db.session.scalar(sa.select(AuditEvent.action)) == "licence.reissue"
    with pytest.raises(LicenceNotActive):
        services.reissue(old, reason="twice", actor="support:ana")


def test_reissue_of_a_pool_licence_takes_another_pool_key(pool_plan):
    plain = make_pool(pool_plan, 2)
    order = make_order(pool_plan)
    commit()
    old = services.issue(order.lines[0])[0]
    commit()

    new = services.reissue(old, reason="vendor revoked the key", actor="support:ana")
    commit()

    assert reveal(new) == plain[1] and new.pool_key_id != old.pool_key_id
    with pytest.raises(OutOfStock):
        services.reissue(new, reason="again", actor="support:ana")


def test_find_licence_by_the_key_as_typed(generated_plan, pool_plan):
    plain = make_pool(pool_plan, 1)
    order = make_order(generated_plan)
    pool_order = make_order(pool_plan)
    commit()
    licence = services.issue(order.lines[0])[0]
    pool_licence = services.issue(pool_order.lines[0])[0]
    commit()
    key = reveal(licence)

    typed = key.lower().replace("-", " ").replace("0", "o")
    assert services.find_licence(typed) == licence
    assert services.find_licence(plain[0].lower()) == pool_licence
    assert services.find_licence(keys.generate()) is None


def test_stock_says_when_a_pool_runs_low(pool_plan):
    make_pool(pool_plan, 2)
    commit()
    assert not stock(pool_plan).is_low
    order = make_order(pool_plan)
    commit()
    services.reserve(order.lines[0], 1, until=SOON)
    commit()
    assert stock(pool_plan).is_low


def test_the_database_refuses_the_same_key_twice(pool_plan, count):
    make_pool(pool_plan, 1, prefix="SAME")
    commit()
    make_pool(pool_plan, 1, prefix="SAME")
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(PoolKey) == 1


def test_the_database_refuses_a_pool_key_in_two_licences(pool_plan):
    make_pool(pool_plan, 1)
    order = make_order(pool_plan, quantity=1)
    commit()
    licence = services.issue(order.lines[0])[0]
    commit()
    other = make_order(pool_plan)
    commit()
    sealed_copy = Licence(
        order_line_id=other.lines[0].id, plan_id=pool_plan.id, unit=0, pool_key_id=licence.pool_key_id,
        seats=1, starts_at=utcnow(), expires_at=utcnow(), ciphertext=b"x", vault_key_id="k",
        lookup_hash="0" * 64,
    )
    db.session.add(sealed_copy)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_database_refuses_a_second_licence_for_the_same_unit(generated_plan, count):
    order = make_order(generated_plan)
    commit()
    first = services.issue(order.lines[0])[0]
    commit()
    db.session.add(Licence(
        order_line_id=first.order_line_id, plan_id=first.plan_id, unit=0, generation=0,
        seats=1, starts_at=utcnow(), expires_at=utcnow(), ciphertext=b"x", vault_key_id="k",
        lookup_hash="1" * 64,
    ))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(Licence) == 1


def test_a_line_keeps_the_fulfilment_it_was_ordered_with(pool_plan):
    make_pool(pool_plan, 2)
    order = make_order(pool_plan)
    commit()
    services.reserve(order.lines[0], 1, until=SOON)
    pool_plan.fulfilment = Fulfilment.GENERATED  # an admin switches the plan afterwards
    commit()

    licence = services.issue(order.lines[0])[0]
    commit()

    assert licence.pool_key is not None
    assert stock(pool_plan).issued == 1 and stock(pool_plan).reserved == 0


def test_release_lapsed_frees_only_reservations_whose_time_ran_out(pool_plan, count):
    make_pool(pool_plan, 3)
    late, current = make_order(pool_plan), make_order(pool_plan)
    commit()
    services.reserve(late.lines[0], 1, until=utcnow() - timedelta(minutes=1))
    services.reserve(current.lines[0], 1, until=SOON)
    commit()

    freed = services.release_lapsed()
    commit()

    assert freed == 1
    assert count(PoolKey, PoolKey.order_line_id == current.lines[0].id) == 1
    assert count(PoolKey, PoolKey.order_line_id == late.lines[0].id) == 0
    assert services.issue(late.lines[0])[0].pool_key is not None  # a late payment still works


def test_services_refuse_to_join_a_plain_sqlite_transaction(generated_plan, count):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific: PostgreSQL serialises with row locks")
    order = make_order(generated_plan)
    db.session.commit()
    db.session.get(type(order), order.id)  # a read opens a plain (deferred) transaction

    with pytest.raises(RuntimeError, match="use_case"):
        services.issue(order.lines[0])
    db.session.rollback()
    assert count(Licence) == 0


def test_a_reservation_that_ran_out_goes_to_the_next_buyer_when_no_key_is_free(pool_plan, count):
    make_pool(pool_plan, 1)
    abandoned, next_buyer = make_order(pool_plan), make_order(pool_plan)
    commit()
    services.reserve(abandoned.lines[0], 1, until=utcnow() - timedelta(minutes=1))
    commit()

    claimed = services.reserve(next_buyer.lines[0], 1, until=SOON)
    commit()

    assert [key.order_line_id for key in claimed] == [next_buyer.lines[0].id]
    assert count(PoolKey, PoolKey.order_line_id == abandoned.lines[0].id) == 0
    # While its time has not run out, a reservation is never taken.
    with pytest.raises(OutOfStock):
        services.reserve(abandoned.lines[0], 1, until=SOON)
    db.session.rollback()
