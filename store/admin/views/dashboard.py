"""The back office's first page: sales of the last 30 days, top plans, low stock, and the
orders that wait for payment or need attention."""

from __future__ import annotations

from flask import render_template

from store.admin import bp
from store.admin.services.dashboard import dashboard as dashboard_numbers
from store.orders.models import OrderStatus


@bp.get("/")
def dashboard():
    return render_template("admin/dashboard.html", board=dashboard_numbers(),
                           statuses=OrderStatus)
