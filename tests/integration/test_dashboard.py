"""The dashboard's numbers: revenue and paid orders per UTC day, top plans, low stock, open
orders; and a constant number of queries whatever the number of orders."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from store.admin.services.dashboard import dashboard
from store.catalogue.models import Fulfilment, Plan
from store.extensions import db
from store.money import Money
from store.orders.models import Order, OrderLine, OrderStatus
from tests.factories import make_order, make_plan, make_pool, make_product

NOW = datetime(2026, 11, 29, 10, tzinfo=UTC)


def at(day: int, hour: int = 12, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def shop(app_context):
    product = make_product(name="Almiquí Total", plans=[])
    home = make_plan(product, name="1 año", price_minor=5000)
    family = make_plan(product, name="3 PCs", price_minor=12000)
    low = make_plan(product, name="Pool bajo", fulfilment=Fulfilment.POOL, low_stock_threshold=5)
    full = make_plan(product, name="Pool lleno", fulfilment=Fulfilment.POOL,
                     low_stock_threshold=5)
    make_pool(low, 2)
    make_pool(full, 6)
    paid = OrderStatus.PAID
    make_order(home, 2, status=OrderStatus.FULFILLED, paid_at=at(29, 1))
    make_order(family, 1, status=paid, paid_at=at(28, 23))
    make_order(home, 1, status=OrderStatus.NEEDS_ATTENTION, paid_at=at(28, 0))
    make_order(family, 3, status=OrderStatus.REFUNDED, paid_at=at(27))  # money went back
    make_order(home, 1)  # pending payment
    make_order(home, 1, status=paid, paid_at=at(30, 23, month=10))  # day 31 back: outside
    make_order(family, 1, status=paid, paid_at=at(31, 0, month=10))  # the first day
    db.session.commit()
    return {"home": home, "family": family, "low": low}


def test_revenue_and_paid_orders_are_grouped_by_utc_day_over_thirty_days(shop):
    board = dashboard(NOW)

    by_day = {d.day: (d.revenue.minor, d.orders) for d in board.days}
    assert len(board.days) == 30
    assert board.days[0].day == date(2026, 10, 31) and board.days[-1].day == date(2026, 11, 29)
    assert by_day[date(2026, 11, 29)] == (10000, 1)
    assert by_day[date(2026, 11, 28)] == (12000 + 5000, 2)  # paid and needs_attention
    assert by_day[date(2026, 11, 27)] == (0, 0)  # refunded does not count
    assert by_day[date(2026, 10, 31)] == (12000, 1)
    assert board.revenue == Money(39000, "CUP") and board.orders == 4


def test_top_plans_rank_by_units_and_by_revenue(shop):
    board = dashboard(NOW)

    assert [(p.plan_name, p.units, p.revenue.minor) for p in board.by_units] == [
        ("1 año", 3, 15000), ("3 PCs", 2, 24000)]
    assert [p.plan_name for p in board.by_revenue] == ["3 PCs", "1 año"]


def test_low_stock_and_open_orders_are_counted(shop):
    board = dashboard(NOW)

    assert [(plan.name, stock.available) for plan, stock in board.low_stock] == [("Pool bajo", 2)]
    assert board.open_orders == {OrderStatus.PENDING_PAYMENT: 1, OrderStatus.NEEDS_ATTENTION: 1}


def test_a_day_starts_at_midnight_utc_whatever_the_hour_of_now(shop):
    late = dashboard(datetime(2026, 11, 29, 23, 59, tzinfo=UTC))
    cuban_evening = dashboard(datetime(2026, 11, 28, 21, tzinfo=UTC) + timedelta(hours=4))

    assert late.days[-1].day == cuban_evening.days[-1].day == date(2026, 11, 29)


def _bulk_orders(plan, first_id: int, how_many: int) -> None:
    """Insert paid orders and their lines in two statements (fast, for volume)."""
    now = datetime.now(UTC)
    orders = [{"id": first_id + i, "number": f"B-{first_id + i:07d}", "email": "b@example.com",
               "status": OrderStatus.FULFILLED, "currency": "CUP", "total_minor": 5000,
               "paid_at": now - timedelta(days=i % 30, minutes=1), "created_at": now,
               "updated_at": now} for i in range(how_many)]
    line = OrderLine.snapshot(plan, 1)
    lines = [{"order_id": row["id"], "plan_id": plan.id, "quantity": 1,
              "product_name": line.product_name, "plan_name": line.plan_name, "sku": line.sku,
              "unit_price_minor": 5000, "currency": "CUP", "seats": 1, "duration_days": 365,
              "fulfilment": Fulfilment.GENERATED} for row in orders]
    db.session.execute(Order.__table__.insert(), orders)
    db.session.execute(OrderLine.__table__.insert(), lines)
    db.session.commit()


def test_the_dashboard_page_issues_as_many_queries_for_1000_orders_as_for_10(
    app, admin, count_queries, count
):
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        make_plan(plan.product, fulfilment=Fulfilment.POOL, low_stock_threshold=5)
        db.session.commit()
        plan_id = plan.id
        _bulk_orders(plan, 100_000, 10)
    admin.client.get("/admin/")  # warm up what a first request loads once

    with count_queries() as with_10:
        few = admin.page("/admin/")
    with app.app_context():
        _bulk_orders(db.session.get(Plan, plan_id), 200_000, 990)
    with count_queries() as with_1000:
        many = admin.page("/admin/")

    assert count(Order) == 1000
    assert with_10.count == with_1000.count
    assert "500.00 CUP en 10 pedidos pagados" in few
    assert "50,000.00 CUP en 1000 pedidos pagados" in many


def test_the_page_draws_one_bar_per_day_with_a_title_a_description_and_the_table(app, admin):
    html = admin.page("/admin/")

    charts = re.findall(r"<svg class=\"chart\".*?</svg>", html, re.S)
    assert len(charts) == 2
    for chart in charts:
        assert chart.count('<rect class="bar"') == 30
        assert "<title id=" in chart and "<desc id=" in chart and "style=" not in chart
    assert html.count("<tr><td>") >= 30  # the same numbers in a table
    assert "Ingresos por día" in html and "Pedidos pagados por día" in html
    assert 'href="/admin/pedidos?status=needs_attention"' in html
    assert 'href="/admin/pedidos?status=pending_payment"' in html
