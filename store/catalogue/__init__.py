"""The catalogue: home page, product list and product pages."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)

# The routes live in views.py, imported by store.register_blueprints (importing the
# package for its models or services stays free of view imports and their cycles).
