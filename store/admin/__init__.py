"""The back office under /admin: catalogue, key stock, orders and refunds, users,
exchange rates, the dashboard and the audit log.

Every page here is for admins who entered their second factor in this session: the
blueprint's guard applies ``store.staff.policy.staff_only(ADMIN)`` before any view runs,
so a new page cannot forget it. The use cases live in the areas they change (catalogue,
licensing, orders, payments, accounts, audit); this area only parses forms and renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, current_app
from flask_babel import lazy_gettext as _l

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The back office menu, in order: (endpoint, label). The layout shows the entries whose
# page exists, so a section appears in the menu as soon as its views are registered. A
# section is a module of store/admin/views: every page of the module marks its entry.
SECTIONS = (
    ("admin.dashboard", _l("Dashboard")),
    ("admin.products", _l("Products")),
    ("admin.stock", _l("Key stock")),
    ("admin.orders", _l("Orders")),
    ("admin.users", _l("Users")),
    ("admin.rates", _l("Exchange rates")),
    ("admin.audit_log", _l("Audit log")),
)


@dataclass(frozen=True)
class MenuEntry:
    endpoint: str
    label: object
    current: bool  # the page shown belongs to this section


def admin_sections(shown: str | None) -> list[MenuEntry]:
    """The menu entries whose pages are registered; the one whose view module also
    serves the endpoint ``shown`` (a product's plan, an order, a user) is current."""
    views = current_app.view_functions
    here = views[shown].__module__ if shown in views else None
    return [MenuEntry(endpoint, label, views[endpoint].__module__ == here)
            for endpoint, label in SECTIONS if endpoint in views]


def init_app(app: Flask) -> None:
    """Attach the back office pages; admins land on the dashboard after signing in."""
    from store.accounts.models import Role
    from store.accounts.views import register_home
    from store.admin import views  # noqa: F401 - the modules attach their routes

    app.register_blueprint(bp)
    app.jinja_env.globals["admin_sections"] = admin_sections
    register_home(app, Role.ADMIN, "admin.dashboard")
