"""Who may open a staff page: the one rule every staff route uses.

``/admin/...`` pages are ``@staff_only(Role.ADMIN)``; ``/support/...`` pages are
``@staff_only(Role.SUPPORT, Role.ADMIN)``. A visitor who is not signed in is sent to sign
in (and back); a signed-in user without one of the roles gets 403; a staff member without
a second factor is sent to set one up, and one who has not entered a code in this
session is sent to enter one. Only then does the page open.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from store.accounts.models import Role
from store.accounts.services import login_manager
from store.staff.services import STAFF_ROLES, is_enrolled
from store.urls import safe_local_path
from store.visitor import second_factor_verified

SUPPORT = (Role.SUPPORT, Role.ADMIN)
ADMIN = (Role.ADMIN,)


def staff_only(*roles: Role, second_factor: bool = True) -> Callable:
    """Open the view only for signed-in users with one of ``roles`` (staff roles only)
    who entered their second factor in this session.

    ``second_factor=False`` is for the pages that set up and check the second factor.
    """
    if not roles or not set(roles) <= set(STAFF_ROLES):
        raise ValueError("staff_only takes staff roles")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            if second_factor and not second_factor_verified(current_user.get_id()):
                step = "staff.verify" if is_enrolled(current_user.id) else "staff.enrol"
                return redirect(url_for(step, next=_here()))
            return view(*args, **kwargs)

        return guarded

    return decorator


def _here() -> str | None:
    """This page, to come back to after the code (GET only: a form would be lost)."""
    return safe_local_path(request.full_path.rstrip("?")) if request.method == "GET" else None


# Account pages a staff member may use with the password alone: signing in and out, and
# the links from emails. Every other account page waits for the second factor, or a
# stolen password would be enough to change an admin's email or password.
OPEN_ACCOUNT_PAGES = frozenset({
    "accounts.sign_in", "accounts.sign_out", "accounts.register", "accounts.forgot_password",
    "accounts.reset", "accounts.verify",
})


def guard_staff_account_pages():
    """before_request: a staff member's own account pages need the second factor too."""
    endpoint = request.endpoint or ""
    if (not endpoint.startswith("accounts.") or endpoint in OPEN_ACCOUNT_PAGES
            or not current_user.is_authenticated or current_user.role not in STAFF_ROLES
            or second_factor_verified(current_user.get_id())):
        return None
    step = "staff.verify" if is_enrolled(current_user.id) else "staff.enrol"
    return redirect(url_for(step, next=_here()))
