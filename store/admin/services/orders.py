"""The back office's view of orders: the filtered list, its CSV export, and one order's
page with its full timeline.

Reads only. Each page costs a fixed number of queries whatever the number of orders; the
export walks the filtered orders in batches by id (keyset), so a large export holds one
batch of plain rows in memory at a time. Date filters are days in the store's time zone
(STORE_TIMEZONE); the export writes times in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from math import ceil

from sqlalchemy import case, exists, func, select

from store.errors import NotFound
from store.extensions import db
from store.money import Money
from store.orders.models import Order, OrderLine, OrderStatus
from store.pagination import Paginated
from store.payments.models import Payment, PaymentStatus
from store.payments.registry import enabled_providers, method_label

EXPORT_BATCH = 500
SETTLED = (PaymentStatus.APPROVED, PaymentStatus.REFUNDED)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = ("number", "placed_at", "status", "email", "total", "currency",
              "payment_method", "lines")


@dataclass(frozen=True)
class OrderFilter:
    """What the admin filters the list by; empty values filter nothing."""

    status: OrderStatus | None = None
    placed_from: date | None = None  # first day, inclusive
    placed_to: date | None = None  # last day, inclusive
    email: str = ""  # part of the address, any case
    method: str = ""  # a payment provider's name: orders with a payment there
    number: str = ""  # part of the order number, any case
    zone: tzinfo = UTC  # the time zone of the days

    def query_args(self) -> dict[str, str]:
        """The filter as query-string arguments, for pagination and the export link."""
        args = {
            "status": self.status.value if self.status else "",
            "placed_from": self.placed_from.isoformat() if self.placed_from else "",
            "placed_to": self.placed_to.isoformat() if self.placed_to else "",
            "email": self.email, "method": self.method, "number": self.number,
        }
        return {name: value for name, value in args.items() if value}

    def clauses(self) -> list:
        where = []
        if self.status is not None:
            where.append(Order.status == self.status)
        if self.placed_from is not None:
            where.append(Order.created_at >= _start_of(self.placed_from, self.zone))
        if self.placed_to is not None:
            where.append(Order.created_at < _start_of(self.placed_to + timedelta(days=1), self.zone))
        if self.email:
            where.append(func.lower(Order.email).contains(self.email.lower(), autoescape=True))
        if self.number:
            where.append(func.upper(Order.number).contains(self.number.upper(), autoescape=True))
        if self.method:
            where.append(exists().where(Payment.order_id == Order.id,
                                        Payment.provider == self.method))
        return where


def _start_of(day: date, zone: tzinfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC (as the database keeps times)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class OrderRow:
    order: Order
    method: str  # the provider it was paid with, else the one last tried ("" when none)
    lines: int


@dataclass(frozen=True)
class OrderListPage(Paginated):
    rows: list[OrderRow]
    page: int
    per_page: int
    total: int


def list_orders(filters: OrderFilter, *, page: int = 1, per_page: int = 50) -> OrderListPage:
    """One page of the filtered orders: needs_attention first, then newest (four queries)."""
    where = filters.clauses()
    total = db.session.scalar(select(func.count()).select_from(Order).where(*where)) or 0
    page = min(max(page, 1), max(1, ceil(total / per_page)))
    orders = list(db.session.scalars(
        select(Order).where(*where)
        .order_by(case((Order.status == OrderStatus.NEEDS_ATTENTION, 0), else_=1),
                  Order.created_at.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ))
    ids = [order.id for order in orders]
    methods, lines = _methods_of(ids), _line_counts(ids)
    rows = [OrderRow(order, methods.get(order.id, ""), lines.get(order.id, 0))
            for order in orders]
    return OrderListPage(rows, page, per_page, total)


def _methods_of(order_ids: list[int]) -> dict[int, str]:
    """Each order's payment provider: the settled payment's, else the last one tried."""
    if not order_ids:
        return {}
    payments = db.session.execute(
        select(Payment.order_id, Payment.provider, Payment.status)
        .where(Payment.order_id.in_(order_ids)).order_by(Payment.id)
    )
    chosen: dict[int, tuple[bool, str]] = {}
    for order_id, provider, status in payments:
        settled = status in SETTLED
        if not chosen.get(order_id, (False, ""))[0]:  # a settled payment stays chosen
            chosen[order_id] = (settled, provider)
    return {order_id: provider for order_id, (_, provider) in chosen.items()}


def _line_counts(order_ids: list[int]) -> dict[int, int]:
    if not order_ids:
        return {}
    return dict(db.session.execute(
        select(OrderLine.order_id, func.count()).where(OrderLine.order_id.in_(order_ids))
        .group_by(OrderLine.order_id)
    ).all())


def export_rows(filters: OrderFilter, *, batch: int | None = None) -> Iterator[list[tuple]]:
    """The filtered orders as CSV rows, newest first, one batch (EXPORT_BATCH) at a time.

    Keyset pagination by id: each batch is one query for plain rows (no ORM objects kept
    by the session) plus two for their payment methods and line counts.
    """
    where, batch = filters.clauses(), batch or EXPORT_BATCH
    last_id = None
    while True:
        query = select(Order.id, Order.number, Order.created_at, Order.status, Order.email,
                       Order.total_minor, Order.currency).where(*where)
        if last_id is not None:
            query = query.where(Order.id < last_id)
        found = db.session.execute(query.order_by(Order.id.desc()).limit(batch)).all()
        if not found:
            return
        ids = [row.id for row in found]
        methods, lines = _methods_of(ids), _line_counts(ids)
        yield [_csv_row(row, methods.get(row.id, ""), lines.get(row.id, 0)) for row in found]
        last_id = ids[-1]


def _csv_row(row, method: str, lines: int) -> tuple:
    total = Money(row.total_minor, row.currency)
    placed = row.created_at.astimezone(UTC).isoformat(timespec="seconds")
    return tuple(safe_cell(value) for value in (
        row.number, placed, row.status.value, row.email, f"{total.to_decimal():f}",
        row.currency, method, str(lines),
    ))


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a leading ' before a formula start."""
    return "'" + value if value.startswith(FORMULA_START) else value


def find_order_id(number: str) -> int:
    """The id of the order with this number. Raises NotFound."""
    order_id = db.session.scalar(select(Order.id).where(Order.number == number))
    if order_id is None:
        raise NotFound()
    return order_id


def payment_methods() -> list[tuple[str, str]]:
    """(provider name, label) of the enabled providers, for the filter."""
    return [(name, method_label(name)) for name in enabled_providers()]
