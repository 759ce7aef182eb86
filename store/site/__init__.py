"""Site-wide routes: health checks and the language switch."""

from flask import Blueprint

bp = Blueprint("site", __name__)

# The routes live in views.py, imported by store.register_blueprints (importing the
# package for its models or services stays free of view imports and their cycles).
