"""The renewal page's form: a licence key, typed or pasted."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

MAX_KEY = 120


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class KeyForm(FlaskForm):
    key = StringField(_l("Your licence key"), filters=[_stripped], validators=[
        DataRequired(_l("Type or paste your licence key.")),
        Length(max=MAX_KEY, message=_l("At most %(max)d characters.")),
    ])
