"""The language switch in the page header."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

from store.config import LOCALES
from store.urls import safe_local_path


class LanguageForm(FlaskForm):
    # Rendered as one submit button per language, each with name="language".
    language = StringField(validators=[DataRequired(), AnyOf(LOCALES)])
    next = HiddenField()

    def safe_next(self) -> str | None:
        """Return ``next`` only when it is a short path on this site (no open redirect)."""
        return safe_local_path(self.next.data)
