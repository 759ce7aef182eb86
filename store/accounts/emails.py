"""The accounts area's emails: verify the address, and reset the password."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from store.accounts.models import User
from store.accounts.services import (
    ACCOUNT_VERIFICATION,
    PASSWORD_RESET,
    RESET_MAX_AGE,
    reset_token,
    verification_token,
)
from store.extensions import db
from store.mail.kinds import RenderedEmail, register_email_kind, render_email
from store.mail.models import OutboxMessage
from store.urls import public_url


def render_verification(message: OutboxMessage) -> RenderedEmail:
    """A signed link that verifies the address (signed when the email is rendered)."""
    user = db.session.get(User, message.payload["user_id"])
    # Signed for the address the message goes to: if the account moved to another address
    # since, this link verifies nothing.
    link = public_url("accounts.verify", token=verification_token(user, message.recipient))
    return render_email("account_verification", _("Confirm your email address"),
                        user=user, link=link)


def render_password_reset(message: OutboxMessage) -> RenderedEmail:
    """A single-use link to choose a new password, valid for an hour."""
    user = db.session.get(User, message.payload["user_id"])
    link = public_url("accounts.reset", token=reset_token(user, message.recipient))
    return render_email("password_reset", _("Choose a new password"), user=user, link=link,
                        minutes=RESET_MAX_AGE // 60)


def register(app: Flask) -> None:
    register_email_kind(app, ACCOUNT_VERIFICATION, render_verification)
    register_email_kind(app, PASSWORD_RESET, render_password_reset)
