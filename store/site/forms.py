"""The language switch in the page header."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

from store.config import LOCALES


class LanguageForm(FlaskForm):
    # Rendered as one submit button per language, each with name="language".
    language = StringField(validators=[DataRequired(), AnyOf(LOCALES)])
    next = HiddenField()

    def safe_next(self) -> str | None:
        """Return ``next`` only when it is a path on this site (no open redirect)."""
        target = (self.next.data or "").strip()
        parts = urlsplit(target)
        if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
            return None
        if "\\" in target or any(ord(ch) < 32 for ch in target):
            return None
        return target
