"""The cart: plan ids and quantities kept in the session; prices always from the database."""

from flask import Blueprint

bp = Blueprint("cart", __name__)

# The routes live in views.py, imported by store.register_blueprints (importing the
# package for its models or services stays free of view imports and their cycles).
