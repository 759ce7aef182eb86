"""The renewal pages."""

from __future__ import annotations

from store.renewals import bp  # noqa: F401 - routes attach here
