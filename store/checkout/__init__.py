"""Checkout: the one page where a cart becomes an order, handed to a payment provider."""

from flask import Blueprint

bp = Blueprint("checkout", __name__)

# The routes live in views.py, imported by store.register_blueprints (importing the
# package for its models or services stays free of view imports and their cycles).
