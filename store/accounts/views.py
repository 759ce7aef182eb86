"""Account pages: register, sign in and out, verify the email, reset the password, and
the customer's orders. Each POST calls one use case; links from emails open a page whose
button does the change (a GET changes nothing)."""

from __future__ import annotations

from flask import (
    Flask,
    Response,
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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from store.accounts import bp
from store.accounts.forms import (
    ConfirmForm,
    EmailForm,
    ForgotPasswordForm,
    NameForm,
    PasswordForm,
    RegisterForm,
    ResetPasswordForm,
    SignInForm,
)
from store.accounts.models import Role, User
from store.accounts.services import (
    AccountDisabled,
    BadCredentials,
    EmailTaken,
    InvalidLink,
    NewAccount,
    WeakPassword,
    authenticate,
    change_email,
    change_name,
    change_password,
    register as register_account,
    request_password_reset,
    reset_password,
    verify_email,
)
from store.dbtypes import utcnow
from store.licensing.files import licence_file, licence_file_name, licence_file_text
from store.licensing.renewals import plans_with_renewals
from store.orders.services import (
    customer_licences,
    customer_orders,
    LicenceState,
    owner_of,
    pick_licence,
)
from store.ratelimit import failures, form_value, limited
from store.visitor import renew_session


LICENCE_STATES = {
    LicenceState.ACTIVE: _l("Active"),
    LicenceState.EXPIRES_SOON: _l("Expires soon: renew it in time"),
    LicenceState.EXPIRED: _l("Expired"),
    LicenceState.REVOKED: _l("Revoked: this key no longer works"),
    LicenceState.REFUNDED: _l("Refunded"),
}


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


# Guessing passwords, trying addresses and flooding mailboxes are slowed per address and
# per account (the email typed); GETs are never counted. Limits are settings.
POST = ["POST"]


@bp.route("/cuenta/registro", methods=["GET", "POST"])
@limited("STORE_LIMIT_ACCOUNT_PER_ADDRESS", scope="register", methods=POST)
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
@limited("STORE_LIMIT_ACCOUNT_PER_ADDRESS", scope="sign-in", methods=POST, deduct_when=failures)
@limited("STORE_LIMIT_ACCOUNT_PER_ACCOUNT", per=form_value("email"), scope="sign-in-account",
         methods=POST, deduct_when=failures)
def sign_in():
    form = SignInForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except (BadCredentials, AccountDisabled) as error:
            flash(str(error.title), "error")
        else:
            _start_session(user, remember=form.remember.data)
            return redirect(form.safe_next() or _home(user))
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template("accounts/sign_in.html", form=form), status))


@bp.post("/cuenta/salir")
def sign_out():
    # CSRFProtect has checked the token: nobody signs a visitor out from another site.
    # The next person at this browser (a shared phone, an internet café) gets nothing of
    # this customer: no cart, no order pages; only the language stays.
    renew_session(keep=("locale",))
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
@limited("STORE_LIMIT_ACCOUNT_PER_ADDRESS", scope="reset", methods=POST)
@limited("STORE_LIMIT_ACCOUNT_PER_ACCOUNT", per=form_value("email"), scope="reset-account",
         methods=POST)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        flash(_("If %(email)s has an account, we sent it a link to choose a new password. "
                "It works once, for one hour.", email=form.email.data), "success")
        return redirect(url_for("accounts.sign_in"))
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template("accounts/forgot.html", form=form), status))


@bp.route("/cuenta/restablecer/<token>", methods=["GET", "POST"])
@limited("STORE_LIMIT_ACCOUNT_PER_ADDRESS", scope="reset", methods=POST)
def reset(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password(token, form.password.data)
        except (InvalidLink, AccountDisabled) as error:
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


def _licences_page(form: ConfirmForm, shown_id: int | None = None):
    """Mis licencias, with the key of licence ``shown_id`` shown (NotFound if not theirs)."""
    licences = customer_licences(owner_of(current_user), utcnow(), with_devices=True)
    shown = pick_licence(licences, shown_id) if shown_id is not None else None
    renewable = plans_with_renewals({owned.licence.plan_id for owned in licences})
    return _no_store(make_response(render_template(
        "accounts/licences.html", licences=licences, shown=shown, form=form,
        licence_states=LICENCE_STATES, renewable=renewable)))


@bp.get("/cuenta/licencias")
@login_required
def my_licences():
    return _licences_page(ConfirmForm())


@bp.post("/cuenta/licencias/<int:licence_id>/ver")
@login_required
def show_key(licence_id: int):
    """Show one key on the page this POST answers (never cached, never in a URL)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("accounts.my_licences"))
    return _licences_page(form, shown_id=licence_id)


@bp.get("/cuenta/licencias/<int:licence_id>/licencia.json")
@login_required
def licence_download(licence_id: int):
    """One of the customer's licences as a signed file (NotFound for anyone else's)."""
    now = utcnow()
    owned = pick_licence(customer_licences(owner_of(current_user), now), licence_id)
    response = Response(licence_file_text(licence_file(owned.licence, now=now)),
                        mimetype="application/json")
    response.headers.set("Content-Disposition", "attachment",
                         filename=licence_file_name(owned.licence))
    return _no_store(response)


def _account_page(status: int = 200, **forms):
    forms.setdefault("name_form", NameForm(name=current_user.name))
    forms.setdefault("email_form", EmailForm(email=current_user.email))
    forms.setdefault("password_form", PasswordForm())
    return _no_store(make_response(render_template("accounts/account.html", **forms), status))


@bp.get("/cuenta/")
@login_required
def account():
    return _account_page()


@bp.post("/cuenta/nombre")
@login_required
def update_name():
    form = NameForm()
    if not form.validate_on_submit():
        return _account_page(400, name_form=form)
    change_name(current_user.id, form.name.data)
    flash(_("Your name is saved."), "success")
    return redirect(url_for("accounts.account"))


@bp.post("/cuenta/correo")
@login_required
def update_email():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            user = change_email(current_user.id, form.email.data, form.password.data,
                                locale=_locale())
        except BadCredentials as error:
            form.password.errors.append(str(error.title))
        except EmailTaken as error:
            form.email.errors.append(str(error.detail))
        else:
            _start_session(user)  # a new address signs out the other sessions, not this one
            if not user.email_verified:
                flash(_("We sent a link to %(email)s: open it to confirm your new email.",
                        email=user.email), "success")
            return redirect(url_for("accounts.account"))
    return _account_page(400, email_form=form)


@bp.post("/cuenta/contrasena")
@login_required
def update_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = change_password(current_user.id, form.current.data, form.password.data)
        except BadCredentials as error:
            form.current.errors.append(str(error.title))
        except WeakPassword as error:
            form.password.errors.append(str(error.detail))
        else:
            _start_session(user)  # this session goes on; every other one is signed out
            flash(_("Your new password is saved. Other devices are signed out."), "success")
            return redirect(url_for("accounts.account"))
    return _account_page(400, password_form=form)
