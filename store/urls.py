"""Addresses: public URLs built from STORE_BASE_URL, and safe local redirect targets.

Every address that leaves the store (links in emails, the return, cancel and notification
addresses given to payment providers) is built by ``public_url`` from the configured base
URL, never from the request's Host header, so it is right in a worker with no request and
cannot be steered by a forged header. Pages redirect with ``url_for`` as usual.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import IntegerConverter

# Row ids are 32-bit integers in the database: a larger number in an address is no row.
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in routes: a non-negative number up to MAX_ROW_ID, else a 404.

    Without the cap, /admin/productos/99999999999999999999/ reaches the database and
    fails there (an overflow, so a 500) instead of finding nothing.
    """

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


# Longest redirect target the store will send back in a Location header; proxies refuse
# huge headers, so anything longer falls back to a default page.
MAX_REDIRECT_LENGTH = 500


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute public address of ``endpoint`` under STORE_BASE_URL.

    Needs an app context, not a request. Raises werkzeug.routing.BuildError for an
    unknown endpoint or missing values.
    """
    base = urlsplit(current_app.config["STORE_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def safe_local_path(target: str | None) -> str | None:
    """Return ``target`` only when it is a short path on this site (no open redirect)."""
    target = (target or "").strip()
    if not target or len(target) > MAX_REDIRECT_LENGTH:
        return None
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    return target
