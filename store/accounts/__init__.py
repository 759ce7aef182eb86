"""Accounts: customers who sign in to find their orders, and the staff roles."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("accounts", __name__)


def init_app(app: Flask) -> None:
    """Load the users table, attach the account pages, sign-in and the account emails."""
    from store.accounts import devices, emails, models, views  # noqa: F401 - they attach routes
    from store.accounts.services import login_manager

    login_manager.init_app(app)
    app.register_blueprint(bp)
    emails.register(app)
