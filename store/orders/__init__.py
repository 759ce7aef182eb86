"""Orders: what a customer bought, its states and page, and the order emails."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("orders", __name__)


def init_app(app: Flask) -> None:
    """Attach the order page, register the order emails, and let the header show the
    visitor's order waiting for payment."""
    from store.orders import emails, models, views  # noqa: F401 - views attach the routes

    app.register_blueprint(bp)
    emails.register(app)
    app.jinja_env.globals["pending_order"] = views.pending_order
