"""The orders area's form: the email a buyer placed orders with, to get fresh links."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import InputRequired, Length

from store.forms import EmailAddress, StopOnFailure

MAX_EMAIL_LENGTH = 254


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LostLinksForm(FlaskForm):
    # Checked like checkout's email field, so any address an order has is accepted.
    email = EmailField(
        _l("Email"),
        filters=[_strip],
        validators=[
            InputRequired(_l("Enter your email address.")),
            StopOnFailure(Length(
                max=MAX_EMAIL_LENGTH,
                message=_l("An email address has at most %(max)d characters."),
            )),
            EmailAddress(),
        ],
        description=_l("The email you wrote when you bought."),
    )
