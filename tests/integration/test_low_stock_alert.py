"""The low-stock email: pool plans on sale under their threshold, to staff, once a UTC day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment, Plan
from store.extensions import db
from store.licensing.alerts import send_low_stock_alert
from store.licensing.models import LowStockAlert
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.mail.transports import MemoryTransport
from tests.factories import make_plan, make_pool, make_product

MORNING = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@pytest.fixture
def low_plan(app) -> int:
    """A pool plan on sale with 2 keys for a threshold of 5, and one with enough keys."""
    with app.app_context():
        product = make_product(name="Almiquí Hogar", plans=[])
        low = make_plan(product, sku="AM-LOW", name="1 año · 1 PC",
                        fulfilment=Fulfilment.POOL, low_stock_threshold=5)
        plenty = make_plan(product, sku="AM-OK", fulfilment=Fulfilment.POOL,
                           low_stock_threshold=1)
        db.session.flush()
        make_pool(low, 2)
        make_pool(plenty, 3)
        db.session.commit()
        return low.id


def alerts(count) -> int:
    return count(OutboxMessage, OutboxMessage.kind == "low_stock_alert")


def run(app, now):
    with app.app_context():
        return send_low_stock_alert(now)


def test_the_alert_lists_the_low_plans_and_goes_to_the_staff_address(app, low_plan):
    with app.app_context():
        message = send_low_stock_alert(MORNING)
        assert message.recipient == app.config["STORE_STAFF_EMAIL"]
        assert message.payload == {"day": "2026-11-29", "plans": [
            {"plan_id": low_plan, "available": 2, "threshold": 5}]}
        transport = MemoryTransport()
        assert send_pending(transport=transport).sent == 1
    email = transport.sent[0]
    assert email["Subject"] == "Existencias de claves bajas: 1 plan"
    body = email.get_body(("plain",)).get_content()
    assert "Almiquí Hogar · 1 año · 1 PC (AM-LOW): 2 disponibles, umbral 5" in body
    assert "AM-OK" not in body


def test_running_twice_the_same_day_queues_one_email(app, low_plan, count):
    run(app, MORNING)
    assert run(app, MORNING.replace(hour=23, minute=59)) is None

    assert alerts(count) == 1


def test_the_next_utc_day_queues_another_email(app, low_plan, count):
    run(app, MORNING)
    # 20:00 in Havana on the 29th is already the 30th in UTC.
    run(app, datetime(2026, 11, 30, 1, 0, tzinfo=UTC))

    assert alerts(count) == 2


def test_nothing_low_queues_nothing_and_a_later_run_that_day_still_may(app, low_plan, count):
    with app.app_context():
        make_pool(db.session.get(Plan, low_plan), 5, prefix="MORE")
        db.session.commit()

    assert run(app, MORNING) is None
    assert (alerts(count), count(LowStockAlert)) == (0, 0)


def test_plans_not_on_sale_are_not_reported(app, low_plan, count):
    with app.app_context():
        db.session.get(Plan, low_plan).is_active = False
        db.session.commit()

    assert run(app, MORNING) is None
    assert alerts(count) == 0


def test_runs_at_once_queue_one_email(app, low_plan, count, run_at_once):
    results = run_at_once(6, lambda _i: send_low_stock_alert(MORNING))

    assert not [r for r in results if isinstance(r, Exception)]
    assert alerts(count) == 1
    assert count(LowStockAlert) == 1


def test_the_command_queues_the_alert_once(app, low_plan, count):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["store", "low-stock-alert"])
    second = runner.invoke(args=["store", "low-stock-alert"])

    assert first.exit_code == second.exit_code == 0
    assert "Correo de existencias bajas en cola para" in first.output
    assert "el de hoy ya estaba en cola" in second.output
    assert alerts(count) == 1


def test_the_alert_row_of_a_day_is_unique(app, low_plan):
    run(app, MORNING)
    with app.app_context():
        db.session.add(LowStockAlert(day=MORNING.date(), plans=1))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
