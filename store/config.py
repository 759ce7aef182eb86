"""Settings read from ``STORE_*`` environment variables, with safe development defaults.

Every setting the store reads is listed in ``SETTINGS`` (and in the README). Development
works with no configuration at all; production refuses to start on an unsafe default.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many


class ConfigurationError(RuntimeError):
    """The environment does not describe a store that can start safely."""


REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
ENVIRONMENTS = ("development", "production", "testing")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})

# STORE_* variable -> (Flask config key, type, default). None means "derived below".
SETTINGS: dict[str, tuple[str, type, Any]] = {
    "STORE_ENV": ("STORE_ENV", str, "development"),
    "STORE_DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str, None),
    "STORE_SECRET_KEY": ("SECRET_KEY", str, None),
    "STORE_NAME": ("STORE_NAME", str, "Tienda Almiquí"),
    "STORE_DEFAULT_LOCALE": ("BABEL_DEFAULT_LOCALE", str, "es"),
    "STORE_CATALOGUE_LOCALE": ("STORE_CATALOGUE_LOCALE", str, "es"),
    "STORE_TIMEZONE": ("BABEL_DEFAULT_TIMEZONE", str, "America/Havana"),
    "STORE_PAGE_SIZE": ("STORE_PAGE_SIZE", int, 12),
    "STORE_ALLOW_SQLITE_IN_PRODUCTION": ("STORE_ALLOW_SQLITE_IN_PRODUCTION", bool, False),
    "STORE_SECURE_COOKIES": ("SESSION_COOKIE_SECURE", bool, None),
    # Licence key vault (store/vault.py): encryption keys and the lookup secret.
    "STORE_VAULT_KEYS": ("STORE_VAULT_KEYS", str, None),
    "STORE_VAULT_LOOKUP_KEY": ("STORE_VAULT_LOOKUP_KEY", str, None),
    # Ed25519 keys that sign licence files (store/signing.py): "id:seed,...", newest first.
    "STORE_SIGNING_KEYS": ("STORE_SIGNING_KEYS", str, None),
    "STORE_IMPORT_BATCH_SIZE": ("STORE_IMPORT_BATCH_SIZE", int, 1000),
    # Cart, checkout and payments.
    "STORE_CART_MAX_QUANTITY": ("STORE_CART_MAX_QUANTITY", int, 50),
    "STORE_CART_MAX_LINES": ("STORE_CART_MAX_LINES", int, 20),
    "STORE_PAYMENT_WINDOW_MINUTES": ("STORE_PAYMENT_WINDOW_MINUTES", int, 30),
    # How long after expiry a licence can still be renewed (and its reminder link works).
    "STORE_RENEWAL_WINDOW_DAYS": ("STORE_RENEWAL_WINDOW_DAYS", int, 90),
    # Renewal reminders: days before expiry ("30,7,1", read as a tuple of whole numbers,
    # largest first), and days after it (one reminder, within the renewal window).
    "STORE_REMINDER_DAYS_BEFORE": ("STORE_REMINDER_DAYS_BEFORE", str, "30,7,1"),
    "STORE_REMINDER_DAYS_AFTER": ("STORE_REMINDER_DAYS_AFTER", int, 3),
    "STORE_PAYMENT_PROVIDERS": ("STORE_PAYMENT_PROVIDERS", list, ("sandbox",)),
    "STORE_SANDBOX_SECRET": ("STORE_SANDBOX_SECRET", str, None),
    "STORE_ALLOW_SANDBOX_IN_PRODUCTION": ("STORE_ALLOW_SANDBOX_IN_PRODUCTION", bool, False),
    # EnZona (store/payments/providers/enzona.py): OAuth2 client credentials, seconds per call.
    "STORE_ENZONA_API_BASE": (
        "STORE_ENZONA_API_BASE", str, "https://api.enzona.net/payment/v1.0.0",
    ),
    "STORE_ENZONA_CONSUMER_KEY": ("STORE_ENZONA_CONSUMER_KEY", str, None),
    "STORE_ENZONA_CONSUMER_SECRET": ("STORE_ENZONA_CONSUMER_SECRET", str, None),
    "STORE_ENZONA_TIMEOUT": ("STORE_ENZONA_TIMEOUT", int, 10),
    # Stripe Checkout (store/payments/providers/stripe.py), when "stripe" is enabled.
    "STORE_STRIPE_SECRET_KEY": ("STORE_STRIPE_SECRET_KEY", str, None),
    "STORE_STRIPE_WEBHOOK_SECRET": ("STORE_STRIPE_WEBHOOK_SECRET", str, None),
    "STORE_STRIPE_CURRENCY": ("STORE_STRIPE_CURRENCY", str, "usd"),
    "STORE_STRIPE_API_BASE": ("STORE_STRIPE_API_BASE", str, "https://api.stripe.com"),
    "STORE_STRIPE_TIMEOUT": ("STORE_STRIPE_TIMEOUT", int, 20),
    # CUP per unit of each currency a provider settles in: "USD:120.00,EUR:130.50".
    "STORE_EXCHANGE_RATES": ("STORE_EXCHANGE_RATES", dict, {}),
    # Public address of the store, for every link that leaves it (store/urls.py).
    "STORE_BASE_URL": ("STORE_BASE_URL", str, None),
    # How customers reach the store: shown in every page's footer, the emails and receipts.
    "STORE_CONTACT_EMAIL": ("STORE_CONTACT_EMAIL", str, "ayuda@tienda-almiqui.example"),
    "STORE_CONTACT_PHONE": ("STORE_CONTACT_PHONE", str, "+53 7 555 0100"),
    "STORE_CONTACT_HOURS": ("STORE_CONTACT_HOURS", str, "Lunes a viernes, 9:00–17:00"),
    "STORE_ADDRESS": ("STORE_ADDRESS", str, "Calle 23 n.º 1000, Vedado, La Habana"),
    # Where buyers get help activating (the delivery email and the order page): an address,
    # STORE_CONTACT_EMAIL when unset, and optionally a help page or chat link (https://).
    "STORE_SUPPORT_EMAIL": ("STORE_SUPPORT_EMAIL", str, None),
    "STORE_SUPPORT_URL": ("STORE_SUPPORT_URL", str, None),
    # Email.
    "STORE_MAIL_TRANSPORT": ("STORE_MAIL_TRANSPORT", str, None),
    "STORE_MAIL_FROM": ("STORE_MAIL_FROM", str, "Tienda Almiquí <tienda@localhost>"),
    "STORE_STAFF_EMAIL": ("STORE_STAFF_EMAIL", str, None),
    "STORE_STAFF_LOCALE": ("STORE_STAFF_LOCALE", str, None),
    "STORE_SMTP_HOST": ("STORE_SMTP_HOST", str, None),
    "STORE_SMTP_PORT": ("STORE_SMTP_PORT", int, 587),
    "STORE_SMTP_USERNAME": ("STORE_SMTP_USERNAME", str, ""),
    "STORE_SMTP_PASSWORD": ("STORE_SMTP_PASSWORD", str, ""),
    "STORE_SMTP_STARTTLS": ("STORE_SMTP_STARTTLS", bool, True),
    # Shared storage (rate limits now; caches and the task queue later). Without it,
    # each process keeps its own counters in memory.
    "STORE_REDIS_URL": ("STORE_REDIS_URL", str, None),
    # Start of every key the store writes, so several stores (or test runs) share one Redis.
    "STORE_REDIS_PREFIX": ("STORE_REDIS_PREFIX", str, "store"),
    "STORE_ALLOW_MEMORY_LIMITS_IN_PRODUCTION": (
        "STORE_ALLOW_MEMORY_LIMITS_IN_PRODUCTION", bool, False,
    ),
    # Proxies in front of the store that set X-Forwarded-For (0: none, the peer is the client).
    "STORE_PROXY_HOPS": ("STORE_PROXY_HOPS", int, 0),
    # Rate limits (store/ratelimit.py): "N per period", several joined by ";".
    "STORE_LIMIT_CHECKOUT_PER_VISITOR": (
        "STORE_LIMIT_CHECKOUT_PER_VISITOR", str, "10 per 10 minutes",
    ),
    "STORE_LIMIT_CHECKOUT_PER_ADDRESS": ("STORE_LIMIT_CHECKOUT_PER_ADDRESS", str, "30 per hour"),
    "STORE_LIMIT_ORDER_LINK": ("STORE_LIMIT_ORDER_LINK", str, "20 per 10 minutes"),
    "STORE_LIMIT_NOTIFICATION": ("STORE_LIMIT_NOTIFICATION", str, "600 per minute"),
    "STORE_LIMIT_ACCOUNT_PER_ADDRESS": (
        "STORE_LIMIT_ACCOUNT_PER_ADDRESS", str, "20 per 15 minutes",
    ),
    "STORE_LIMIT_ACCOUNT_PER_ACCOUNT": ("STORE_LIMIT_ACCOUNT_PER_ACCOUNT", str, "5 per 15 minutes"),
    # Fresh order links (/pedido/perdido): per client address, and per email asked about.
    "STORE_LIMIT_LOST_KEYS_PER_ADDRESS": (
        "STORE_LIMIT_LOST_KEYS_PER_ADDRESS", str, "20 per hour",
    ),
    "STORE_LIMIT_LOST_KEYS_PER_EMAIL": ("STORE_LIMIT_LOST_KEYS_PER_EMAIL", str, "5 per hour"),
    # The renewal page's key box (/renovar/), per client address: keys are not guessable,
    # and this keeps the page from being used to test lists of leaked keys.
    "STORE_LIMIT_RENEWAL_KEY": ("STORE_LIMIT_RENEWAL_KEY", str, "20 per hour"),
    # The licence API (docs/api.md): per client address, and per licence key (its hash).
    "STORE_LIMIT_API_PER_ADDRESS": ("STORE_LIMIT_API_PER_ADDRESS", str, "60 per minute"),
    "STORE_LIMIT_API_PER_KEY": ("STORE_LIMIT_API_PER_KEY", str, "20 per minute"),
    # What unpaid orders may hold of a pool plan's keys (key hoarding).
    "STORE_POOL_MAX_PER_LINE": ("STORE_POOL_MAX_PER_LINE", int, 5),
    "STORE_POOL_MAX_HELD_PER_BUYER": ("STORE_POOL_MAX_HELD_PER_BUYER", int, 10),
    "STORE_POOL_MAX_SHARE_PERCENT": ("STORE_POOL_MAX_SHARE_PERCENT", int, 50),
}

# Whole-number settings where 0 means "none".
ZERO_ALLOWED = frozenset({"STORE_PROXY_HOPS"})

# Languages the interface is translated into; the first is the fallback.
LOCALES = ("es", "en")
# Babel locale used to format numbers and money for each interface language. Cuban
# usage (and CLDR's es_CU) writes 1,234.50, so a price reads "50.00 CUP" in both.
NUMBER_LOCALES = {"es": "es_CU", "en": "en_US"}


def _parse(name: str, raw: str, kind: type) -> Any:
    """Convert one raw variable to ``kind``; raise ConfigurationError when it does not fit."""
    if kind is bool:
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ConfigurationError(f"{name} must be one of 1/0, true/false, yes/no; got {raw!r}")
    if kind is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if kind is dict:
        return _rates(name, raw)
    if kind is int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number; got {raw!r}") from None
        if value < (0 if name in ZERO_ALLOWED else 1):
            raise ConfigurationError(
                f"{name} must be at least {0 if name in ZERO_ALLOWED else 1}; got {value}"
            )
        return value
    return raw


RATE = re.compile(r"([A-Z]{3}):([0-9]{1,9}(?:\.[0-9]{1,6})?)")


def _rates(name: str, raw: str) -> dict[str, Decimal]:
    """Parse "USD:120.00,EUR:130.50" into {"USD": Decimal("120.00"), ...}, all positive."""
    rates = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        match = RATE.fullmatch(item)
        if match is None or Decimal(match[2]) <= 0:
            raise ConfigurationError(
                f"{name} must list CODE:rate pairs such as USD:120.00 (CUP per unit, "
                f"positive, at most 6 decimals); got {item!r}"
            )
        rates[match[1]] = Decimal(match[2])
    return rates


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """Return the text of ``path``, first writing ``make()`` to it (mode 0600) if it is missing.

    Safe when several workers start at once: the file appears whole or not at all
    (written aside, then hard-linked into place), and the first one to land wins.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker got there first; use its file
        finally:
            os.unlink(draft)
    return path.read_text()


def _development_secret(instance_path: Path) -> str:
    """Return the development secret key, creating it under instance/ on first use."""
    return read_or_create(
        instance_path / "secret_key", lambda: secrets.token_urlsafe(48) + "\n"
    ).strip()


def _mailbox(name: str, value: str) -> str:
    """One plain email address, trimmed; anything else could never be delivered to."""
    try:
        return Address(addr_spec=value.strip()).addr_spec
    except (ValueError, IndexError, HeaderParseError):
        raise ConfigurationError(
            f"{name} must be one plain email address such as ventas@example.cu "
            f"(no name, no list); got {value!r}"
        ) from None


DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def _base_url(raw: str | None, production: bool) -> str:
    """STORE_BASE_URL without a trailing slash; production needs an https:// address.

    Links in emails and the addresses given to payment providers are built from it, so a
    production store must never fall back to a development address.
    """
    if not raw:
        if production:
            raise ConfigurationError(
                "STORE_BASE_URL is not set. Production builds the links in emails and the "
                "addresses given to payment providers from it: set it to the store's public "
                "https:// address, for example https://tienda.example.cu"
            )
        return DEVELOPMENT_BASE_URL
    parts = urlsplit(raw.strip())
    if (
        parts.scheme not in ("http", "https") or not parts.hostname or parts.username
        or parts.query or parts.fragment or " " in raw.strip()
    ):
        raise ConfigurationError(
            f"STORE_BASE_URL must be an address such as https://tienda.example.cu; got {raw!r}"
        )
    if production and parts.scheme != "https":
        raise ConfigurationError(
            f"STORE_BASE_URL must start with https:// in production; got {raw!r}"
        )
    return raw.strip().rstrip("/")


def _check_locales(config: dict[str, Any]) -> None:
    config["STORE_STAFF_LOCALE"] = config["STORE_STAFF_LOCALE"] or config["BABEL_DEFAULT_LOCALE"]
    for name, key in (("STORE_DEFAULT_LOCALE", "BABEL_DEFAULT_LOCALE"),
                      ("STORE_STAFF_LOCALE", "STORE_STAFF_LOCALE")):
        if config[key] not in LOCALES:
            raise ConfigurationError(
                f"{name} must be one of {', '.join(LOCALES)}; got {config[key]!r}"
            )


MAX_REMINDER_DAYS = 365


def _check_reminders(config: dict[str, Any]) -> None:
    """Reminder offsets: whole days from 1 to 365 before expiry (read as a tuple, largest
    first), and an after-expiry reminder that falls inside the renewal window."""
    raw = config["STORE_REMINDER_DAYS_BEFORE"]
    parts = [part.strip() for part in raw.split(",")]
    if not all(part.isascii() and part.isdigit() and 1 <= int(part) <= MAX_REMINDER_DAYS
               for part in parts):
        raise ConfigurationError(
            "STORE_REMINDER_DAYS_BEFORE must list whole numbers of days from 1 to "
            f"{MAX_REMINDER_DAYS}, separated by commas, such as 30,7,1; got {raw!r}"
        )
    config["STORE_REMINDER_DAYS_BEFORE"] = tuple(sorted({int(part) for part in parts},
                                                        reverse=True))
    if config["STORE_REMINDER_DAYS_AFTER"] >= config["STORE_RENEWAL_WINDOW_DAYS"]:
        raise ConfigurationError(
            "STORE_REMINDER_DAYS_AFTER must be fewer days than STORE_RENEWAL_WINDOW_DAYS "
            "(a licence cannot be renewed after its window); got "
            f"{config['STORE_REMINDER_DAYS_AFTER']} and {config['STORE_RENEWAL_WINDOW_DAYS']}"
        )


def _check_secrets_and_services(
    config: dict[str, Any], instance_path: Path, production: bool
) -> None:
    """The secret key, the database and the staff mailbox: development defaults, or refusal."""
    if not config["SECRET_KEY"]:
        if production:
            raise ConfigurationError(
                "STORE_SECRET_KEY is not set. Production needs a long random secret key, "
                'for example: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        config["SECRET_KEY"] = _development_secret(instance_path)

    url = config["SQLALCHEMY_DATABASE_URI"] or f"sqlite:///{instance_path / 'store.sqlite3'}"
    if production and url.startswith("sqlite") and not config["STORE_ALLOW_SQLITE_IN_PRODUCTION"]:
        raise ConfigurationError(
            "Production is configured with SQLite. Set STORE_DATABASE_URL to a PostgreSQL URL, "
            "or set STORE_ALLOW_SQLITE_IN_PRODUCTION=1 to accept a single-server SQLite store."
        )
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}

    if not config["STORE_STAFF_EMAIL"]:
        if production:
            raise ConfigurationError(
                "STORE_STAFF_EMAIL is not set. Paid orders that cannot be fulfilled alert staff "
                "at this address; production needs a mailbox someone reads."
            )
        config["STORE_STAFF_EMAIL"] = "staff@localhost"
    config["STORE_STAFF_EMAIL"] = _mailbox("STORE_STAFF_EMAIL", config["STORE_STAFF_EMAIL"])


def _check_support(config: dict[str, Any]) -> None:
    """The support address (the contact address by default) and an optional https:// link."""
    config["STORE_SUPPORT_EMAIL"] = _mailbox(
        "STORE_SUPPORT_EMAIL", config["STORE_SUPPORT_EMAIL"] or config["STORE_CONTACT_EMAIL"])
    url = (config["STORE_SUPPORT_URL"] or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or " " in url:
            raise ConfigurationError(
                "STORE_SUPPORT_URL must be an https:// address, such as a help page or "
                f"https://wa.me/5355550100; got {url!r}"
            )
    config["STORE_SUPPORT_URL"] = url or None


def _check_rate_limits(config: dict[str, Any], production: bool) -> None:
    """Limit strings that parse, a percentage, and shared storage for several servers."""
    for name, (key, _kind, _default) in SETTINGS.items():
        if name.startswith("STORE_LIMIT_"):
            try:
                parse_many(config[key])
            except ValueError:
                raise ConfigurationError(
                    f"{name} must be a rate such as \"10 per 10 minutes\" (several joined "
                    f"by \";\"); got {config[key]!r}"
                ) from None
    if config["STORE_POOL_MAX_SHARE_PERCENT"] > 100:
        raise ConfigurationError(
            "STORE_POOL_MAX_SHARE_PERCENT is a percentage from 1 to 100; "
            f"got {config['STORE_POOL_MAX_SHARE_PERCENT']}"
        )
    url = config["STORE_REDIS_URL"] or ""
    if url and urlsplit(url).scheme not in REDIS_SCHEMES:
        raise ConfigurationError(
            f"STORE_REDIS_URL must be an address such as redis://127.0.0.1:6379/0; got {url!r}"
        )
    if production and not url and not config["STORE_ALLOW_MEMORY_LIMITS_IN_PRODUCTION"]:
        raise ConfigurationError(
            "STORE_REDIS_URL is not set. Without it every server process counts rate limits "
            "on its own, so several processes multiply every limit. Set it to a Redis address "
            "such as redis://127.0.0.1:6379/0, or set STORE_ALLOW_MEMORY_LIMITS_IN_PRODUCTION=1 "
            "to accept per-process limits (one process only)."
        )
    config["STORE_REDIS_URL"] = url or None
    config["RATELIMIT_STORAGE_URI"] = url or "memory://"
    if url:
        # A Redis that stops answering must not hold a page for long (see store/ratelimit.py).
        config["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_connect_timeout": 1, "socket_timeout": 1, "wrap_exceptions": True,
            "key_prefix": f"{config['STORE_REDIS_PREFIX']}:limits",
        }


def _check_enzona(config: dict[str, Any], production: bool) -> None:
    """When EnZona is enabled: its credentials, and an https:// API address in production."""
    if "enzona" not in config["STORE_PAYMENT_PROVIDERS"]:
        return
    for name in ("STORE_ENZONA_CONSUMER_KEY", "STORE_ENZONA_CONSUMER_SECRET"):
        if not (config[name] or "").strip():
            raise ConfigurationError(
                f"{name} is not set. EnZona is enabled in STORE_PAYMENT_PROVIDERS and needs "
                "the consumer key and secret of the store's application on EnZona's API store."
            )
    base = config["STORE_ENZONA_API_BASE"].strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigurationError(
            "STORE_ENZONA_API_BASE must be an address such as "
            f"https://api.enzona.net/payment/v1.0.0; got {base!r}"
        )
    if production and parts.scheme != "https":
        raise ConfigurationError(
            f"STORE_ENZONA_API_BASE must start with https:// in production; got {base!r}"
        )
    config["STORE_ENZONA_API_BASE"] = base
STRIPE_CURRENCIES = ("usd", "eur")


def _check_stripe(config: dict[str, Any], production: bool) -> None:
    """Keys, webhook secret, currency and API address of Stripe, when it is enabled."""
    if "stripe" not in config["STORE_PAYMENT_PROVIDERS"]:
        return
    key = (config["STORE_STRIPE_SECRET_KEY"] or "").strip()
    if not key.startswith(("sk_", "rk_")):
        raise ConfigurationError(
            "Stripe is enabled but STORE_STRIPE_SECRET_KEY is not a Stripe secret key "
            "(sk_live_..., sk_test_... or a restricted rk_... key from the Dashboard)."
        )
    if production and "_test_" in key and not config["STORE_ALLOW_SANDBOX_IN_PRODUCTION"]:
        raise ConfigurationError(
            "STORE_STRIPE_SECRET_KEY is a test-mode key: production would take no money. "
            "Use a live key, or set STORE_ALLOW_SANDBOX_IN_PRODUCTION=1 for a demo store."
        )
    if not (config["STORE_STRIPE_WEBHOOK_SECRET"] or "").strip().startswith("whsec_"):
        raise ConfigurationError(
            "Stripe is enabled but STORE_STRIPE_WEBHOOK_SECRET is not set: create a webhook "
            "endpoint in the Stripe Dashboard for <STORE_BASE_URL>/api/pagos/notificacion/"
            "stripe and copy its signing secret (whsec_...)."
        )
    currency = config["STORE_STRIPE_CURRENCY"].strip().lower()
    if currency not in STRIPE_CURRENCIES:
        raise ConfigurationError(
            f"STORE_STRIPE_CURRENCY must be one of {', '.join(STRIPE_CURRENCIES)}; "
            f"got {config['STORE_STRIPE_CURRENCY']!r}"
        )
    config["STORE_STRIPE_CURRENCY"] = currency
    base = urlsplit(config["STORE_STRIPE_API_BASE"].strip())
    if base.scheme not in ("http", "https") or not base.hostname or (
        production and base.scheme != "https"
    ):
        raise ConfigurationError(
            "STORE_STRIPE_API_BASE must be an https:// address (Stripe's own by default); "
            f"got {config['STORE_STRIPE_API_BASE']!r}"
        )


def load_config(environ: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    """Build the Flask config from ``environ``.

    Raises ConfigurationError when a value is malformed or production is unsafe.
    """
    config: dict[str, Any] = {}
    for name, (key, kind, default) in SETTINGS.items():
        raw = environ.get(name)
        config[key] = default if raw is None else _parse(name, raw, kind)

    env = config["STORE_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigurationError(f"STORE_ENV must be one of {', '.join(ENVIRONMENTS)}; got {env!r}")
    production = env == "production"

    _check_locales(config)
    _check_secrets_and_services(config, instance_path, production)
    config["STORE_BASE_URL"] = _base_url(config["STORE_BASE_URL"], production)
    _check_support(config)
    _check_reminders(config)
    _check_rate_limits(config, production)
    _check_enzona(config, production)
    _check_stripe(config, production)
    for name in ("STORE_ENZONA_TIMEOUT", "STORE_STRIPE_TIMEOUT"):
        if not 1 <= config[name] <= 120:
            raise ConfigurationError(f"{name} must be from 1 to 120 seconds; got {config[name]}")

    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = production
    config.update(
        TESTING=env == "testing",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # "Keep me signed in" (Flask-Login): the same care as the session cookie, 30 days.
        REMEMBER_COOKIE_SECURE=config["SESSION_COOKIE_SECURE"],
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    return config
