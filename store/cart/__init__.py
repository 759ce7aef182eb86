"""The cart: plan ids and quantities kept in the session; prices always from the database."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("cart", __name__)


def init_app(app: Flask) -> None:
    """Attach the cart pages."""
    from store.cart import views  # noqa: F401 - views attach the routes to bp

    app.register_blueprint(bp)
