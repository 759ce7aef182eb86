"""Checkout: the one page where a cart becomes an order, handed to a payment provider."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("checkout", __name__)


def init_app(app: Flask) -> None:
    """Attach the checkout page."""
    from store.checkout import views  # noqa: F401 - views attach the routes to bp

    app.register_blueprint(bp)
