"""Payments: provider seam, payment records, notifications, the sandbox gateway page."""

from flask import Blueprint

bp = Blueprint("payments", __name__)

from store.payments import views  # noqa: E402,F401  (registers the routes on bp)
