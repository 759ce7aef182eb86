"""Back office pages, one module per section; each attaches its routes to ``bp``.

The guard below runs before every view of the blueprint: admins with the second factor
of this session only. Pages are never stored by the browser (they show customers' data).
"""

from __future__ import annotations

from store.admin import bp
from store.staff.policy import ADMIN, staff_only


@bp.before_request
@staff_only(*ADMIN)
def _admins_only():
    return None


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


from store.admin.views import dashboard  # noqa: E402,F401 - attach the routes
from store.admin.views import audit_log, users  # noqa: E402,F401
