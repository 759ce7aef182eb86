"""Back office forms, one module per section: they check shape; services check rules."""

from __future__ import annotations

import unicodedata


def clean_text(value):
    """A field filter: trimmed, without control characters but line breaks and tabs
    (PostgreSQL refuses NUL). Anything not text is left as it is."""
    if not isinstance(value, str):
        return value
    return "".join(ch for ch in value
                   if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
