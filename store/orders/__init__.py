"""Orders: the buyer's order page; models and services for the other areas."""

from flask import Blueprint

bp = Blueprint("orders", __name__)

# The routes live in views.py, imported by store.register_blueprints (importing the
# package for its models or services stays free of view imports and their cycles).
