"""Payments: provider seam and registry, payment records, notifications, the sandbox page."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("payments", __name__)


def init_app(app: Flask) -> None:
    """Build the enabled providers, attach the payment routes, and give the order page its
    pay-again form and every page the names of the accepted methods (the areas below show
    them without importing payments)."""
    from store.payments import models, registry, views  # noqa: F401 - views attach the routes
    from store.payments.forms import charged_as_it_is, pay_again_form
    from store.payments.services import payment_method_of

    registry.init_app(app)
    app.register_blueprint(bp)
    app.jinja_env.globals["pay_again_form"] = pay_again_form
    app.jinja_env.globals["charged_as_it_is"] = charged_as_it_is
    app.jinja_env.globals["payment_methods"] = registry.method_names
    app.jinja_env.globals["payment_method_of"] = payment_method_of
    app.jinja_env.globals["confirming_payment"] = views.confirming_payment
