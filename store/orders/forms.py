"""Paying again for a pending order."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.validators import InputRequired


class PayAgainForm(FlaskForm):
    token = HiddenField()
    method = RadioField(validators=[InputRequired()], choices=[])
