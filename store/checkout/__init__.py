"""Checkout: the one page where a cart becomes an order, handed to a payment provider."""

from flask import Blueprint

bp = Blueprint("checkout", __name__)

from store.checkout import views  # noqa: E402,F401  (registers the routes on bp)
