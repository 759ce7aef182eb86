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
                "STORE_REDIS_URL": "redis://127.0.0.1:1/0",
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
                "STORE_STAFF_EMAIL": "ventas@example.test",
                "STORE_BASE_URL": "https://tienda.example.test",
                "STORE_SECRET_KEY": "s" * 48,
                "STORE_INSTANCE_PATH": str(tmp_path),
                "STORE_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
                "STORE_REDIS_URL": "redis://127.0.0.1:1/0",
            }
        )
    assert not (tmp_path / "vault.json").exists()


def production_config(tmp_path, **extra) -> dict:
    from store.signing import new_signing_seed
    from store.vault import new_secret

    return {
        "STORE_ENV": "production",
        "STORE_SECRET_KEY": "s" * 48,
        "STORE_INSTANCE_PATH": str(tmp_path),
        "STORE_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
        "STORE_VAULT_KEYS": f"2026a:{new_secret()}",
        "STORE_VAULT_LOOKUP_KEY": new_secret(),
        "STORE_SIGNING_KEYS": f"sk-2026:{new_signing_seed()}",
        "STORE_SMTP_HOST": "smtp.example.test",
        "STORE_STAFF_EMAIL": "ventas@example.test",
        "STORE_BASE_URL": "https://tienda.example.test",
        "STORE_REDIS_URL": "redis://127.0.0.1:1/0",  # never reached: nothing is requested
        **extra,
    }


def test_create_app_refuses_production_without_a_signing_key(tmp_path):
    config = production_config(tmp_path, STORE_ALLOW_SANDBOX_IN_PRODUCTION="1")
    del config["STORE_SIGNING_KEYS"]

    with pytest.raises(ConfigurationError, match="STORE_SIGNING_KEYS must be set in production"):
        create_app(config)
    assert not (tmp_path / "signing.json").exists()


def test_the_flask_command_explains_a_missing_production_signing_key(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STORE_")}
    environ.update(production_config(tmp_path))
    del environ["STORE_SIGNING_KEYS"]

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "store", "store", "verify-licence", "x.json"],
        env=environ, capture_output=True, text=True, timeout=60,
    )

    assert result.returncode != 0
    assert "STORE_SIGNING_KEYS must be set in production" in result.stderr
    assert "flask store new-signing-key" in result.stderr
    assert not (tmp_path / "signing.json").exists()


def test_production_signs_with_the_configured_key_and_creates_no_key_file(tmp_path):
    app = create_app(production_config(tmp_path, STORE_ALLOW_SANDBOX_IN_PRODUCTION="1"))

    assert [key["key_id"] for key in app.extensions["store_signer"].public_keys()] == ["sk-2026"]
    assert not (tmp_path / "signing.json").exists()


def test_production_refuses_the_sandbox_payment_provider_unless_allowed(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_ALLOW_SANDBOX_IN_PRODUCTION"):
        create_app(production_config(tmp_path))
    app = create_app(production_config(tmp_path, STORE_ALLOW_SANDBOX_IN_PRODUCTION="1"))
    assert list(app.extensions["store_payment_providers"]) == ["sandbox"]


def test_production_starts_with_every_secret_set(tmp_path):
    from store.mail.transports import SmtpTransport

    app = create_app(production_config(tmp_path, STORE_ALLOW_SANDBOX_IN_PRODUCTION="1"))
    assert app.extensions["store_vault"].newest_id == "2026a"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert isinstance(app.extensions["store_mail_transport"], SmtpTransport)


def test_production_needs_an_smtp_host_for_email(tmp_path):
    config = production_config(tmp_path, STORE_ALLOW_SANDBOX_IN_PRODUCTION="1")
    del config["STORE_SMTP_HOST"]
    with pytest.raises(ConfigurationError, match="STORE_SMTP_HOST"):
        create_app(config)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("STORE_PAYMENT_PROVIDERS", "sandbox,paypal", "known providers: sandbox"),
        ("STORE_PAYMENT_PROVIDERS", " , ", "at least one provider"),
        ("STORE_MAIL_TRANSPORT", "pigeon", "STORE_MAIL_TRANSPORT must be smtp, file or memory"),
    ],
)
def test_unknown_providers_and_transports_stop_start_up(tmp_path, setting, value, message):
    with pytest.raises(ConfigurationError, match=message):
        create_app({"STORE_INSTANCE_PATH": str(tmp_path), "STORE_SECRET_KEY": "x", setting: value})
