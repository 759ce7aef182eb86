"""The audit trail: an append-only record of staff and system actions."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Load the audit table and its append-only guards (the pages are in the back office)."""
    from store.audit import models  # noqa: F401
