"""The dashboard's numbers: sales of the last 30 days, top plans, low stock, open orders.

Read only, in a constant number of queries whatever the number of orders (five: sales by
day, sales by plan, orders by status, and the two of ``low_stock()``). Days are UTC days,
grouped in SQL.

Revenue counts orders whose money the store keeps: paid, fulfilled and needs_attention
(paid, not yet delivered), on the day they were paid. Refunded orders do not count: the
money went back. Orders pending payment, expired, cancelled or failed never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.stock import low_stock
from store.money import Money
from store.orders.models import Order, OrderLine, OrderStatus

DAYS = 30
TOP = 5
CURRENCY = "CUP"
PAID = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.NEEDS_ATTENTION)
OPEN = (OrderStatus.PENDING_PAYMENT, OrderStatus.NEEDS_ATTENTION)


class utc_day(FunctionElement):  # noqa: N801 - an SQL function, named as SQL names them
    """The UTC day of a timestamp column as text, "YYYY-MM-DD", on SQLite and PostgreSQL."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element, compiler, **kw) -> str:
    # SQLite keeps UTCDateTime as UTC text ("YYYY-MM-DD HH:MM:SS..."): its date part.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class Day:
    day: date
    revenue: Money
    orders: int


@dataclass(frozen=True)
class PlanSales:
    plan_id: int
    product_name: str
    plan_name: str
    units: int
    revenue: Money


@dataclass(frozen=True)
class Dashboard:
    days: list[Day]
    by_units: list[PlanSales]
    by_revenue: list[PlanSales]
    low_stock: list  # (Plan, Stock) pairs
    open_orders: dict[OrderStatus, int]

    @property
    def revenue(self) -> Money:
        return Money(sum(day.revenue.minor for day in self.days), CURRENCY)

    @property
    def orders(self) -> int:
        return sum(day.orders for day in self.days)


def dashboard(now: datetime | None = None) -> Dashboard:
    """The dashboard for the 30 UTC days up to ``now`` (today included)."""
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=DAYS - 1)
    start = datetime.combine(first, time(), UTC)
    plans = _sales_by_plan(start)
    return Dashboard(
        days=_sales_by_day(start, first),
        by_units=sorted(plans, key=lambda p: (-p.units, -p.revenue.minor, p.plan_id))[:TOP],
        by_revenue=sorted(plans, key=lambda p: (-p.revenue.minor, -p.units, p.plan_id))[:TOP],
        low_stock=low_stock(),
        open_orders=_open_orders(now),
    )


def _paid_since(start: datetime):
    return (Order.status.in_(PAID), Order.currency == CURRENCY, Order.paid_at >= start)


def _sales_by_day(start: datetime, first: date) -> list[Day]:
    """Revenue and paid orders for each of the 30 days, days without sales included."""
    day = utc_day(Order.paid_at)
    rows = db.session.execute(
        select(day, func.coalesce(func.sum(Order.total_minor), 0), func.count(Order.id))
        .where(*_paid_since(start)).group_by(day))
    found = {date.fromisoformat(text): (int(revenue), n) for text, revenue, n in rows}
    days = [first + timedelta(days=i) for i in range(DAYS)]
    return [Day(d, Money(found.get(d, (0, 0))[0], CURRENCY), found.get(d, (0, 0))[1])
            for d in days]


def _sales_by_plan(start: datetime) -> list[PlanSales]:
    """Units and revenue of each plan sold in paid orders since ``start`` (one query)."""
    rows = db.session.execute(
        select(OrderLine.plan_id, func.max(OrderLine.product_name), func.max(OrderLine.plan_name),
               func.sum(OrderLine.quantity),
               func.sum(OrderLine.quantity * OrderLine.unit_price_minor))
        .join(Order, Order.id == OrderLine.order_id)
        .where(*_paid_since(start)).group_by(OrderLine.plan_id))
    return [PlanSales(plan_id, product, plan, int(units), Money(int(revenue), CURRENCY))
            for plan_id, product, plan, units, revenue in rows]


def _open_orders(now: datetime) -> dict[OrderStatus, int]:
    """How many orders need attention, and how many still wait for payment at ``now``
    (one query). An order past its payment window waits for the sweep, not for money."""
    waiting = and_(Order.status == OrderStatus.PENDING_PAYMENT,
                   or_(Order.expires_at.is_(None), Order.expires_at > now))
    counts = dict.fromkeys(OPEN, 0)
    rows = db.session.execute(
        select(Order.status, func.count())
        .where(or_(Order.status == OrderStatus.NEEDS_ATTENTION, waiting))
        .group_by(Order.status))
    for status, n in rows:
        counts[OrderStatus(status)] = n
    return counts
