"""The checkout form: who is buying, how they pay, and the terms."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, StringField, TelField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


def email_address(form, field) -> None:
    field.data = (field.data or "").strip()
    if not EMAIL.fullmatch(field.data):
        raise ValidationError(_l("Enter a valid email address, like ana@example.com."))


class CheckoutForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[InputRequired(_l("Enter your email address.")), Length(max=254), email_address],
        description=_l("Your licence keys are sent here."),
    )
    full_name = StringField(
        _l("Full name"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired(_l("Enter your name.")), Length(max=120)],
    )
    phone = TelField(
        _l("Phone (optional)"),
        validators=[
            Optional(),
            Length(max=30),
            Regexp(r"^[0-9+() -]+$", message=_l("Use only digits, spaces and + ( ) -.")),
        ],
    )
    payment_method = RadioField(
        _l("Payment method"), validators=[InputRequired(_l("Choose how to pay."))], choices=[]
    )
    accept_terms = BooleanField(
        _l("I accept the terms of sale"),
        validators=[DataRequired(_l("Please accept the terms of sale to continue."))],
    )
    checkout_token = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])
