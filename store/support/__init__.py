"""The support desk under /support: one search box (email, order number or key), the
order and licence pages with internal notes, and the support actions (reissue a
licence, resend the delivery email, free all seats of a licence).

Support staff and admins with the second factor of this session only: the blueprint's
guard applies ``store.staff.policy.staff_only(*SUPPORT)`` before any view runs. Refunds,
prices, products and roles stay in the back office (admins only).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("support", __name__, url_prefix="/support")


def init_app(app: Flask) -> None:
    """Load the notes table, register the desk's email and attach its pages."""
    from store.support import emails, models, views  # noqa: F401 - views attach the routes

    emails.register(app)
    app.register_blueprint(bp)
