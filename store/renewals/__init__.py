"""Renewals: extend a licence the buyer has, keeping its key.

A renewal plan (kind ``renewal``) renews the plans linked to it in the back office
(``Plan.renews``). It is bought for one licence only: from "Mis licencias" ("Renovar"),
from the link in a reminder email, or by typing the key on the renewal page (guests).
The rules (which plan renews which licence, extending it on payment) live in
store/licensing/renewals.py; this area holds the pages, the reminder emails and their
unsubscribe link.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("renewals", __name__)


def init_app(app: Flask) -> None:
    """Load the reminder tables, register the reminder email and attach the pages."""
    from store.renewals import emails, models, opt_out, views  # noqa: F401 - routes attach

    emails.register(app)
    app.register_blueprint(bp)
