"""Licensing: key format, pools of vendor keys, reservation, issuance, revocation.

Licensing sits below orders: it knows order lines only as rows with an id, a plan, a
quantity, seats, a duration and a fulfilment mode, and never imports the orders area.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Load the licensing tables and register the low-stock email (the area has no pages);
    let templates ask whether a licence gets a signed file."""
    from store.licensing import emails, files, models  # noqa: F401

    emails.register(app)
    app.jinja_env.globals["has_licence_file"] = files.has_licence_file
