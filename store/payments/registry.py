"""The enabled payment providers of an app, built at start-up from STORE_PAYMENT_PROVIDERS."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from store.config import ConfigurationError
from store.errors import NotFound
from store.payments.gateway import PaymentProvider
from store.payments.providers import PROVIDER_TYPES

EXTENSION = "store_payment_providers"


def init_app(app: Flask) -> None:
    """Build the enabled providers, in the configured order. Raises ConfigurationError."""
    providers: dict[str, PaymentProvider] = {}
    for name in app.config["STORE_PAYMENT_PROVIDERS"]:
        factory = PROVIDER_TYPES.get(name)
        if factory is None:
            raise ConfigurationError(
                f"STORE_PAYMENT_PROVIDERS names {name!r}; "
                f"known providers: {', '.join(PROVIDER_TYPES)}"
            )
        providers[name] = factory(app.config)
    if not providers:
        raise ConfigurationError("STORE_PAYMENT_PROVIDERS must enable at least one provider")
    app.extensions[EXTENSION] = providers


def enabled_providers() -> dict[str, PaymentProvider]:
    return current_app.extensions[EXTENSION]


def provider_choices() -> list[tuple[str, object]]:
    """(name, label) of each enabled provider, for a form's payment method field."""
    return [(name, provider.label) for name, provider in enabled_providers().items()]


def method_names() -> list[str]:
    """The names buyers read for the accepted payment methods, in the configured order."""
    return [str(provider.label) for provider in enabled_providers().values()]


def method_label(name: str) -> str:
    """What buyers read for provider ``name`` (its name when it is no longer enabled)."""
    provider = enabled_providers().get(name)
    return str(provider.label) if provider is not None else name


def get_provider(name: str) -> PaymentProvider:
    """Return an enabled provider. Raises NotFound for any other name."""
    provider = enabled_providers().get(name)
    if provider is None:
        raise NotFound(_l("Unknown payment method."))
    return provider
