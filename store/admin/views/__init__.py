"""Back office pages, one module per section; each attaches its routes to ``bp``.

The guard below runs before every view of the blueprint: admins with the second factor
of this session only. Pages are never stored by the browser (they show customers' data).
"""

from __future__ import annotations

from flask import request
from flask_login import current_user

from store.accounts.models import Role
from store.admin import bp
from store.staff.policy import ADMIN, staff_only
from store.visitor import second_factor_verified

# Pages that take files larger than the app's MAX_CONTENT_LENGTH: endpoint -> body limit.
# Each section adds its own; the limit is raised for admins with the second factor only.
BODY_LIMITS: dict[str, int] = {}


def admin_with_second_factor() -> bool:
    return (current_user.is_authenticated and current_user.role == Role.ADMIN
            and second_factor_verified(current_user.get_id()))


def page_number() -> int:
    """The ``page`` query argument: a plain number of a few digits, else 1."""
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and len(page) < 6 else 1


@bp.url_value_preprocessor
def _room_for_uploads(endpoint: str | None, values: dict | None) -> None:
    # URL value preprocessors run before every before_request function, including the
    # CSRF check and the NUL-byte guard that read the body: the limit is raised here.
    limit = BODY_LIMITS.get(endpoint or "")
    if limit and request.method == "POST" and admin_with_second_factor():
        request.max_content_length = limit


@bp.before_request
@staff_only(*ADMIN)
def _admins_only():
    return None


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


from store.admin.views import (  # noqa: E402,F401 - attach the routes
    audit_log,
    dashboard,
    orders,
    products,
    rates,
    stock,
    users,
)
