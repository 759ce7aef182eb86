"""Site-wide routes: health checks, the store's information pages and the language switch."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("site", __name__)


def init_app(app: Flask) -> None:
    """Attach the site-wide routes."""
    from store.site import views  # noqa: F401 - views attach the routes to bp

    app.register_blueprint(bp)
