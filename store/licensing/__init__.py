"""Licensing: key format, the vault, pools of vendor keys, reservation and issuance."""

from flask import current_app

from store.licensing.vault import Vault


def get_vault() -> Vault:
    """The vault of the current app (built from configuration in create_app)."""
    return current_app.extensions["store_vault"]
