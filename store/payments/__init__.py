"""Payments: provider seam, payment records, notifications, the sandbox gateway page."""

from flask import Blueprint

bp = Blueprint("payments", __name__)

# The routes live in views.py, imported by store.register_blueprints (importing the
# package for its models or services stays free of view imports and their cycles).
