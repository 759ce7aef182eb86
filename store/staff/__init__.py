"""Staff: the second factor every staff member uses, the access policy of staff pages,
and the support home page (the admin home is the back office's dashboard)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("staff", __name__)


def init_app(app: Flask) -> None:
    """Load the second-factor tables, attach the staff pages and the support home."""
    from store.accounts.models import Role
    from store.accounts.views import register_home
    from store.staff import models, views  # noqa: F401 - views attach the routes
    from store.staff.policy import guard_staff_account_pages

    app.register_blueprint(bp)
    app.before_request(guard_staff_account_pages)
    # Staff land on their home page after signing in; it asks for the second factor.
    register_home(app, Role.SUPPORT, "staff.support_home")
