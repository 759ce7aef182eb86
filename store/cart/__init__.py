"""The cart: plan ids and quantities kept in the session; prices always from the database."""

from flask import Blueprint

bp = Blueprint("cart", __name__)

from store.cart import views  # noqa: E402,F401  (registers the routes on bp)
