"""Staff pages: set up and enter the second factor, and the support home.

Every route here goes through ``store.staff.policy.staff_only``. Pages showing a secret
(the enrolment page, the recovery codes) are never stored by the browser (no-store).
"""

from __future__ import annotations

import segno
from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup

from store.accounts.models import Role
from store.ratelimit import failures, limited
from store.staff import bp
from store.staff.forms import CodeForm, EnrolForm
from store.staff.policy import SUPPORT, staff_only
from store.staff.services import (
    AlreadyEnrolled,
    NotEnrolled,
    WrongCode,
    enrol as enrol_second_factor,
    is_enrolled,
    new_secret,
    pending_secret,
    pending_secret_token,
    provisioning_uri,
    verify as verify_code,
)
from store.visitor import (
    keep_pending_second_factor,
    pending_second_factor,
    remember_second_factor,
    second_factor_verified,
)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _home() -> str:
    return url_for("admin.dashboard" if current_user.role == Role.ADMIN
                   else "staff.support_home")


def _qr_code(uri: str) -> Markup:
    """The otpauth address as an inline SVG QR code (no style: the CSP forbids inline style)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, svgclass="qr-code", title=_("QR code to scan with your app"))
    return Markup(svg)


def _secret_for_enrolment() -> str:
    """The secret this session is enrolling, made on the first visit (sealed in the session)."""
    secret = pending_secret(pending_second_factor())
    if secret is None:
        secret = new_secret()
        keep_pending_second_factor(pending_secret_token(secret))
    return secret


def _signed_in_user() -> str:
    """Rate-limit key: the signed-in staff member (codes are guessed per account)."""
    return f"user:{current_user.get_id()}"


def code_limits(view):
    """Six-digit codes are guessed per account and per address: only refused POSTs count."""
    view = limited("STORE_LIMIT_ACCOUNT_PER_ACCOUNT", per=_signed_in_user,
                   scope="second-factor-account", methods=["POST"], deduct_when=failures)(view)
    return limited("STORE_LIMIT_ACCOUNT_PER_ADDRESS", scope="second-factor", methods=["POST"],
                   deduct_when=failures)(view)


@bp.route("/staff/segundo-factor/alta", methods=["GET", "POST"])
@code_limits
@staff_only(*SUPPORT, second_factor=False)
def enrol():
    form = EnrolForm(next=request.args.get("next"))
    if is_enrolled(current_user.id):
        return redirect(url_for("staff.verify", next=form.safe_next()))
    secret = _secret_for_enrolment()
    if form.validate_on_submit():
        try:
            codes = enrol_second_factor(current_user.id, secret, form.code.data)
        except WrongCode as error:
            form.code.errors.append(str(error.title))
        except AlreadyEnrolled as error:
            flash(str(error.title), "error")
            return redirect(url_for("staff.verify", next=form.safe_next()))
        else:
            remember_second_factor(current_user.get_id())
            return _no_store(make_response(render_template(
                "staff/recovery_codes.html", codes=codes, next=form.safe_next() or _home())))
    uri = provisioning_uri(secret, email=current_user.email,
                           issuer=current_app.config["STORE_NAME"])
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template(
        "staff/enrol.html", form=form, qr_code=_qr_code(uri),
        secret_groups=[secret[i:i + 4] for i in range(0, len(secret), 4)],
    ), status))


@bp.route("/staff/segundo-factor", methods=["GET", "POST"])
@code_limits
@staff_only(*SUPPORT, second_factor=False)
def verify():
    form = CodeForm(next=request.args.get("next"))
    if not is_enrolled(current_user.id):
        return redirect(url_for("staff.enrol", next=form.safe_next()))
    if request.method == "GET" and second_factor_verified(current_user.get_id()):
        return redirect(form.safe_next() or _home())
    if form.validate_on_submit():
        try:
            result = verify_code(current_user.id, form.code.data)
        except (WrongCode, NotEnrolled) as error:
            form.code.errors.append(str(error.title))
        else:
            remember_second_factor(current_user.get_id())
            if result.used_recovery_code:
                flash(ngettext(
                    "You used a recovery code; %(num)d is left.",
                    "You used a recovery code; %(num)d are left.",
                    result.recovery_codes_left), "success")
            return redirect(form.safe_next() or _home())
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template("staff/verify.html", form=form), status))


@bp.get("/support")
@staff_only(*SUPPORT)
def support_home():
    return _no_store(make_response(render_template("staff/support_home.html")))
