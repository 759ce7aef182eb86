"""The checkout form: who is buying, how they pay, and the terms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, TelField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from store.forms import buyer_email_field, strip_text


class CheckoutForm(FlaskForm):
    email = buyer_email_field(_l("Your licence keys are sent here."))
    full_name = StringField(
        _l("Full name"),
        filters=[strip_text],
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
