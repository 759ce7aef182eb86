"""Start-up through create_app and the real command line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from store import create_app
from store.config import ConfigurationError


def test_create_app_refuses_production_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_SECRET_KEY"):
        create_app(
            {
                "STORE_ENV": "production",
                "STORE_INSTANCE_PATH": str(tmp_path),
                "STORE_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
            }
        )


def test_the_flask_command_explains_a_missing_production_secret_key(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STORE_")}
    environ.update(STORE_ENV="production", STORE_INSTANCE_PATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "store", "store", "seed-demo"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "STORE_SECRET_KEY is not set" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing created, no database touched


def test_create_app_refuses_production_without_vault_secrets(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_VAULT_KEYS and STORE_VAULT_LOOKUP_KEY"):
        create_app(
            {
                "STORE_ENV": "production",
                "STORE_SECRET_KEY": "s" * 48,
                "STORE_INSTANCE_PATH": str(tmp_path),
                "STORE_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
            }
        )
    assert not (tmp_path / "vault.json").exists()


def test_production_starts_with_every_secret_set(tmp_path):
    from store.licensing.vault import new_secret

    app = create_app(
        {
            "STORE_ENV": "production",
            "STORE_SECRET_KEY": "s" * 48,
            "STORE_INSTANCE_PATH": str(tmp_path),
            "STORE_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
            "STORE_VAULT_KEYS": f"2026a:{new_secret()}",
            "STORE_VAULT_LOOKUP_KEY": new_secret(),
        }
    )
    assert app.extensions["store_vault"].newest_id == "2026a"
    assert app.config["SESSION_COOKIE_SECURE"] is True
