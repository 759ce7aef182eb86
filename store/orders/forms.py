"""Paying again for a pending order, choosing how."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired


class PayAgainForm(FlaskForm):
    method = RadioField(
        _l("Payment method"), validators=[InputRequired(_l("Choose how to pay."))], choices=[]
    )
