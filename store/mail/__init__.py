"""Email: an outbox written in the same transaction as the change, delivered by a worker.

Mail knows no area: each area registers its own email kinds (store/mail/kinds.py).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def init_app(app: Flask) -> None:
    """Load the outbox model and choose the transport from configuration."""
    from store.mail import models  # noqa: F401 - the outbox table
    from store.mail.transports import transport_from_config

    app.extensions["store_mail_transport"] = transport_from_config(
        app.config, Path(app.instance_path)
    )
