"""Users: find accounts, change a role, disable or enable, reset a second factor.

Every change asks for a reason and is audited by its use case; a refused change (the
last admin) is flashed on the user's page.
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from store.accounts.management import (
    LastAdmin,
    change_role,
    disable,
    enable,
    find_users,
    get_user,
)
from store.accounts.models import Role
from store.admin import bp
from store.admin.forms.users import ReasonForm, RecoveryCodesForm, RoleForm, UserSearchForm
from store.admin.views import page_number
from store.audit.models import Actor
from store.audit.services import AuditFilter, readable, search_events
from store.errors import StoreError
from store.staff.services import (
    STAFF_ROLES,
    NotEnrolled,
    WrongCode,
    is_enrolled,
    regenerate_recovery_codes,
    reset_second_factor,
)

RECENT_EVENTS = 10


@bp.get("/usuarios")
def users():
    form = UserSearchForm(request.args)
    valid = form.validate()
    results = find_users(search=form.q.data or "", role=form.role.data,
                         page=page_number()) if valid else find_users(page=1)
    args = {"q": form.q.data or "", "role": request.args.get("role", "")} if valid else {}
    return make_response(render_template("admin/users.html", form=form, results=results,
                                         args={k: v for k, v in args.items() if v}),
                         200 if valid else 400)


def _user_page(user_id: int, status: int = 200, **forms):
    user = get_user(user_id)
    forms.setdefault("role_form", RoleForm(prefix="role", role=user.role.value))
    forms.setdefault("status_form", ReasonForm(prefix="status"))
    forms.setdefault("factor_form", ReasonForm(prefix="factor"))
    forms.setdefault("codes_form", RecoveryCodesForm(prefix="codes"))
    events = search_events(AuditFilter(subject_type=user.__tablename__, subject_id=user.id),
                           per_page=RECENT_EVENTS)
    return make_response(render_template(
        "admin/user.html", user=user, events=events.events,
        is_staff=user.role in STAFF_ROLES, enrolled=is_enrolled(user.id), readable=readable,
        **forms), status)


@bp.get("/usuarios/<int:user_id>")
def user(user_id: int):
    return _user_page(user_id)


def _done(user_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("admin.user", user_id=user_id))


def _refused(user_id: int, error: StoreError):
    flash(str(error.detail if error.detail else error.title), "error")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/usuarios/<int:user_id>/rol")
def change_user_role(user_id: int):
    form = RoleForm(prefix="role")
    if not form.validate_on_submit():
        return _user_page(user_id, 400, role_form=form)
    try:
        user = change_role(Actor.of(current_user), user_id, Role(form.role.data),
                           reason=form.reason.data)
    except LastAdmin as error:
        return _refused(user_id, error)
    return _done(user_id, _("%(email)s is now %(role)s.", email=user.email,
                            role=user.role.label))


@bp.post("/usuarios/<int:user_id>/desactivar")
def disable_user(user_id: int):
    form = ReasonForm(prefix="status")
    if not form.validate_on_submit():
        return _user_page(user_id, 400, status_form=form)
    try:
        user = disable(Actor.of(current_user), user_id, reason=form.reason.data)
    except LastAdmin as error:
        return _refused(user_id, error)
    return _done(user_id, _("%(email)s is disabled and signed out everywhere.",
                            email=user.email))


@bp.post("/usuarios/<int:user_id>/activar")
def enable_user(user_id: int):
    form = ReasonForm(prefix="status")
    if not form.validate_on_submit():
        return _user_page(user_id, 400, status_form=form)
    user = enable(Actor.of(current_user), user_id, reason=form.reason.data)
    return _done(user_id, _("%(email)s can sign in again.", email=user.email))


@bp.post("/usuarios/<int:user_id>/segundo-factor")
def reset_user_second_factor(user_id: int):
    form = ReasonForm(prefix="factor")
    if not form.validate_on_submit():
        return _user_page(user_id, 400, factor_form=form)
    try:
        user = reset_second_factor(Actor.of(current_user), user_id, reason=form.reason.data)
    except NotEnrolled as error:
        return _refused(user_id, error)
    return _done(user_id, _("The second factor of %(email)s is removed: they set up a new "
                            "one at their next sign-in.", email=user.email))


@bp.post("/mis-codigos-de-recuperacion")
def new_recovery_codes():
    """Ten new recovery codes for the admin signed in, shown once (never stored: no-store),
    for a current code from the app."""
    form = RecoveryCodesForm(prefix="codes")
    if not form.validate_on_submit():
        return _user_page(current_user.id, 400, codes_form=form)
    try:
        codes = regenerate_recovery_codes(current_user.id, form.code.data)
    except NotEnrolled as error:
        return _refused(current_user.id, error)
    except WrongCode as error:
        form.code.errors.append(str(error.title))
        return _user_page(current_user.id, 400, codes_form=form)
    return render_template("admin/recovery_codes.html", codes=codes)
