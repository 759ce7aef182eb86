"""The sandbox gateway's buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import AnyOf, InputRequired


class SandboxDecisionForm(FlaskForm):
    # Rendered as two submit buttons named "decision".
    decision = StringField(validators=[InputRequired(), AnyOf(["approved", "declined"])])
