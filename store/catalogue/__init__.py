"""The catalogue: home page, product list and product pages."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("catalogue", __name__)


def init_app(app: Flask) -> None:
    """Attach the catalogue pages."""
    from store.catalogue import models, views  # noqa: F401 - views attach the routes to bp

    app.register_blueprint(bp)
