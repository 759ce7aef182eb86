"""Account pages: register, sign in and out, verify the email, reset the password, and
the customer's orders. Each POST calls one use case; links from emails open a page whose
button does the change (a GET changes nothing)."""

from __future__ import annotations

from flask import (
    Flask,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from store.accounts import bp
from store.accounts.forms import (
    ConfirmForm,
    ForgotPasswordForm,
    RegisterForm,
    ResetPasswordForm,
    SignInForm,
)
from store.accounts.models import Role, User
from store.accounts.services import (
    BadCredentials,
    EmailTaken,
    InvalidLink,
    NewAccount,
    WeakPassword,
    authenticate,
    register as register_account,
    request_password_reset,
    reset_password,
    verify_email,
)
from store.orders.services import customer_orders, owner_of
from store.visitor import renew_session


def _locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def _start_session(user: User, *, remember: bool = False) -> None:
    """Sign ``user`` in on a fresh session (no fixation), keeping the cart."""
    renew_session()
    login_user(user, remember=remember)


HOMES = "store_role_homes"


def register_home(app: Flask, role: Role, endpoint: str) -> None:
    """Send ``role`` to ``endpoint`` after signing in (an area above says where staff go)."""
    app.extensions.setdefault(HOMES, {})[role] = endpoint


def _home(user: User) -> str:
    """Where ``user`` lands after signing in: customers see their orders."""
    return url_for(current_app.extensions.get(HOMES, {}).get(user.role, "accounts.my_orders"))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cuenta/registro", methods=["GET", "POST"])
def register():
    form = RegisterForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = register_account(NewAccount(
                email=form.email.data, name=form.name.data, password=form.password.data,
                locale=_locale(),
            ))
        except (EmailTaken, WeakPassword) as error:
            field = form.email if isinstance(error, EmailTaken) else form.password
            field.errors.append(str(error.detail))
        else:
            _start_session(user)
            flash(_("Welcome! We sent a link to %(email)s: open it to confirm your email.",
                    email=user.email), "success")
            return redirect(form.safe_next() or url_for("accounts.my_orders"))
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template("accounts/register.html", form=form), status))


@bp.route("/cuenta/entrar", methods=["GET", "POST"])
def sign_in():
    form = SignInForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except BadCredentials as error:
            flash(str(error.title), "error")
        else:
            _start_session(user, remember=form.remember.data)
            return redirect(form.safe_next() or _home(user))
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template("accounts/sign_in.html", form=form), status))


@bp.post("/cuenta/salir")
def sign_out():
    # CSRFProtect has checked the token: nobody signs a visitor out from another site.
    renew_session()
    logout_user()  # after the renewal, which would drop its order to clear the remember cookie
    flash(_("You are signed out."), "success")
    return redirect(url_for("catalogue.home"))


@bp.route("/cuenta/verificar/<token>", methods=["GET", "POST"])
def verify(token: str):
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            user = verify_email(token)
        except InvalidLink as error:
            flash(str(error.title), "error")
            return redirect(url_for("accounts.my_orders"))
        flash(_("Thank you: %(email)s is confirmed.", email=user.email), "success")
        return redirect(url_for("accounts.my_orders"))
    return _no_store(make_response(render_template("accounts/verify.html", form=form)))


@bp.route("/cuenta/olvide", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data, locale=_locale())
        flash(_("If %(email)s has an account, we sent it a link to choose a new password. "
                "It works once, for one hour.", email=form.email.data), "success")
        return redirect(url_for("accounts.sign_in"))
    status = 400 if form.is_submitted() else 200
    return make_response(render_template("accounts/forgot.html", form=form), status)


@bp.route("/cuenta/restablecer/<token>", methods=["GET", "POST"])
def reset(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password(token, form.password.data)
        except InvalidLink as error:
            flash(str(error.title), "error")
            return redirect(url_for("accounts.forgot_password"))
        except WeakPassword as error:
            form.password.errors.append(str(error.detail))
        else:
            _start_session(user)
            flash(_("Your new password is saved, and you are signed in."), "success")
            return redirect(url_for("accounts.my_orders"))
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template("accounts/reset.html", form=form), status))


@bp.get("/cuenta/pedidos")
@login_required
def my_orders():
    page = request.args.get("page", "1")
    results = customer_orders(owner_of(current_user),
                              page=int(page) if page.isdigit() and len(page) < 6 else 1)
    return _no_store(make_response(render_template("accounts/orders.html", results=results)))
