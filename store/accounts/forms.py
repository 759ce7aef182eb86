"""Account forms: they check shape; the services check the password rule and the accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from store.accounts.passwords import MAX_LENGTH
from store.forms import EmailAddress, StopOnFailure
from store.urls import safe_local_path

MAX_EMAIL_LENGTH = 254


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email_field():
    return EmailField(
        _l("Email"), filters=[_strip],
        validators=[
            InputRequired(_l("Enter your email address.")),
            StopOnFailure(Length(max=MAX_EMAIL_LENGTH,
                                 message=_l("An email address has at most %(max)d characters."))),
            EmailAddress(),
        ],
    )


def _password_field(label, description=""):
    return PasswordField(label, description=description, validators=[
        InputRequired(_l("Enter a password.")),
        Length(max=MAX_LENGTH, message=_l("Use at most %(max)d characters.")),
    ])


class NextMixin:
    next = HiddenField()

    def safe_next(self) -> str | None:
        """``next`` only when it is a short path on this site (no open redirect)."""
        return safe_local_path(self.next.data)


class RegisterForm(NextMixin, FlaskForm):
    name = StringField(_l("Full name"), filters=[_strip],
                       validators=[DataRequired(_l("Enter your name.")), Length(max=120)])
    email = _email_field()
    password = _password_field(_l("Password"), _l(
        "At least 10 characters. A few unrelated words make a strong password."
    ))


class SignInForm(NextMixin, FlaskForm):
    email = _email_field()
    password = _password_field(_l("Password"))
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password = _password_field(_l("New password"), _l(
        "At least 10 characters. A few unrelated words make a strong password."
    ))


class ConfirmForm(FlaskForm):
    """A button that confirms a link's action (links are opened with GET, which changes nothing)."""


class NameForm(FlaskForm):
    name = StringField(_l("Full name"), filters=[_strip],
                       validators=[DataRequired(_l("Enter your name.")), Length(max=120)])


class EmailForm(FlaskForm):
    email = _email_field()
    password = _password_field(_l("Your password"))


class PasswordForm(FlaskForm):
    current = _password_field(_l("Your password"))
    password = _password_field(_l("New password"), _l(
        "At least 10 characters. A few unrelated words make a strong password."
    ))
