"""Lost order links: a buyer who lost the delivery email asks for fresh links by email.

Whoever asks learns nothing: the page says the same whether or not the email placed
orders, and the links go only to that address.
"""

from __future__ import annotations

from sqlalchemy import func, select

from store.extensions import db
from store.mail.models import queue
from store.orders.emails import ORDER_LINKS
from store.orders.models import Order, OrderStatus
from store.orders.services import grant_access
from store.unit_of_work import use_case

# Orders whose page is worth a link: the buyer paid (keys shown, being prepared, or
# staff completing the order). Refunded orders' keys no longer work; unpaid ones expire.
LINKED_STATUSES = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.NEEDS_ATTENTION)
MAX_LINKED_ORDERS = 20  # the newest ones; one email stays readable


def send_order_links(email: str, *, locale: str) -> int:
    """Give the paid orders placed with ``email`` new link tokens and queue one email
    listing them; return how many (0 queues nothing).

    The old emailed links stop working. One use case. ``email`` is matched without case,
    as checkout keeps it as typed; the email goes to that same address.
    """
    address = email.strip().lower()
    with use_case() as uow:
        orders = db.session.scalars(
            select(Order)
            .where(func.lower(Order.email) == address, Order.status.in_(LINKED_STATUSES))
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(MAX_LINKED_ORDERS)
        ).all()
        if not orders:
            return 0
        for order in orders:
            grant_access(order)
        queue(ORDER_LINKS, orders[0].email, locale=locale,
              order_ids=[order.id for order in orders])
        uow.commit()
    return len(orders)
