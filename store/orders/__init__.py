"""Orders: the buyer's order page; models and services for the other areas."""

from flask import Blueprint

bp = Blueprint("orders", __name__)

from store.orders import views  # noqa: E402,F401  (registers the routes on bp)
