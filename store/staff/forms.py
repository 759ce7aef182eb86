"""Second-factor forms: they check shape; the services check the codes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import InputRequired, Length

from store.urls import safe_local_path

MAX_CODE_LENGTH = 40  # a recovery code typed with spaces; a TOTP code is 6 digits


def _code_field(label, description=""):
    return StringField(label, description=description, filters=[
        lambda value: value.strip() if isinstance(value, str) else value,
    ], validators=[
        InputRequired(_l("Enter the code.")),
        Length(max=MAX_CODE_LENGTH, message=_l("A code has at most %(max)d characters.")),
    ])


class _NextForm(FlaskForm):
    next = HiddenField()

    def safe_next(self) -> str | None:
        """``next`` only when it is a short path on this site (no open redirect)."""
        return safe_local_path(self.next.data)


class EnrolForm(_NextForm):
    code = _code_field(_l("Code from the app"), _l("Six digits; a new one every 30 seconds."))


class CodeForm(_NextForm):
    code = _code_field(_l("Code"), _l(
        "The six digits your app shows now, or one of your recovery codes."
    ))
