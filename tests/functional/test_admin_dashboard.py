"""The dashboard page: the orders to watch, counted as the orders list will find them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from store.extensions import db
from store.orders.models import OrderStatus
from tests.factories import make_order, make_plan, make_product


def watched(html: str) -> dict[str, tuple[str, int]]:
    """The dashboard's counts: {what they are: (the link, the number)}."""
    return {what: (href, int(number)) for href, number, what in re.findall(
        r'<li><a href="([^"]+)"><strong>(\d+)</strong> ([^<]+)</a></li>', html)}


def test_orders_past_their_payment_window_do_not_count_as_waiting_for_payment(app, admin):
    now = datetime.now(UTC)
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        make_order(plan, expires_at=now + timedelta(minutes=20))
        make_order(plan, expires_at=now + timedelta(minutes=5))
        make_order(plan, expires_at=now - timedelta(minutes=1))  # not swept yet
        make_order(plan, status=OrderStatus.NEEDS_ATTENTION)
        db.session.commit()

    counts = watched(admin.page("/admin/"))

    assert counts == {
        "necesitan atención": ("/admin/pedidos?status=needs_attention", 1),
        "esperan el pago": ("/admin/pedidos?status=pending_payment", 2),
    }


def test_the_counts_link_to_the_orders_list_wherever_the_store_is_mounted(admin):
    page = admin.client.get("/admin/", environ_overrides={"SCRIPT_NAME": "/tienda"})

    links = [href for href, _ in watched(page.get_data(as_text=True)).values()]
    assert page.status_code == 200
    assert sorted(links) == ["/tienda/admin/pedidos?status=needs_attention",
                             "/tienda/admin/pedidos?status=pending_payment"]
