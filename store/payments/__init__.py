"""Payments: provider seam and registry, payment records, notifications, the sandbox page."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("payments", __name__)


def init_app(app: Flask) -> None:
    """Build the enabled providers and attach the notification and sandbox routes."""
    from store.payments import models, registry, views  # noqa: F401 - views attach the routes

    registry.init_app(app)
    app.register_blueprint(bp)
