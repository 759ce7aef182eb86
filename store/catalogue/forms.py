"""Forms of the catalogue: the filters of the product list (read from the query string)."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import Form, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from store.catalogue.models import Audience, Platform
from store.catalogue.services import MAX_PAGE, MAX_QUERY_LENGTH, ProductFilter
from store.forms import WholeNumberField

# Multi-platform suites are found through every platform filter, so they are no choice here.
FILTER_PLATFORMS = [p for p in Platform if p is not Platform.MULTI]


def printable(text: str) -> str:
    """Drop control characters (NUL, escapes, ...): PostgreSQL refuses NUL in text."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")


class ProductFilterForm(Form):
    """GET filters; no CSRF since they change nothing."""

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=MAX_QUERY_LENGTH)])
    platform = SelectField(
        _l("Platform"),
        choices=[SelectChoice("", _l("All platforms"))]
        + [SelectChoice(p.value, p.label) for p in FILTER_PLATFORMS],
        default="",
        validate_choice=True,
    )
    audience = SelectField(
        _l("For"),
        choices=[SelectChoice("", _l("Home and business"))]
        + [SelectChoice(a.value, a.label) for a in Audience],
        default="",
        validate_choice=True,
    )
    page = WholeNumberField(validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])

    def to_filter(self) -> tuple[ProductFilter, int]:
        """Return the filter and page, ignoring any field that failed validation."""
        self.validate()
        errors = self.errors
        platform = self.platform.data if "platform" not in errors else ""
        audience = self.audience.data if "audience" not in errors else ""
        query = printable(self.q.data or "").strip()[:MAX_QUERY_LENGTH]
        self.q.data = query  # echo back only what was searched for
        page = self.page.data if "page" not in errors and self.page.data else 1
        return (
            ProductFilter(
                platform=Platform(platform) if platform else None,
                audience=Audience(audience) if audience else None,
                query=query,
            ),
            page,
        )
