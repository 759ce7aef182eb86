"""The catalogue: home page, product list and product pages."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from store.catalogue import views  # noqa: E402,F401  (registers the routes on bp)
