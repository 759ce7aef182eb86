"""Payments: provider seam and registry, payment records, notifications, the sandbox page."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("payments", __name__)


def init_app(app: Flask) -> None:
    """Build the enabled providers, attach the payment routes, and give the order page its
    pay-again form (the orders area shows it without importing payments)."""
    from store.payments import models, registry, views  # noqa: F401 - views attach the routes
    from store.payments.forms import pay_again_form

    registry.init_app(app)
    app.register_blueprint(bp)
    app.jinja_env.globals["pay_again_form"] = pay_again_form
