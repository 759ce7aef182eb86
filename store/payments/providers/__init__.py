"""The payment providers this store can offer, by the name STORE_PAYMENT_PROVIDERS uses.

A new provider is a module here implementing store.payments.gateway.PaymentProvider, plus
one line in ``PROVIDER_TYPES``; nothing else changes.
"""

from __future__ import annotations

from store.payments.gateway import ProviderFactory
from store.payments.providers.enzona import EnZonaProvider
from store.payments.providers.sandbox import SandboxProvider
from store.payments.providers.stripe import StripeProvider

PROVIDER_TYPES: dict[str, ProviderFactory] = {
    SandboxProvider.name: SandboxProvider.from_config,
    EnZonaProvider.name: EnZonaProvider.from_config,
    StripeProvider.name: StripeProvider.from_config,
}
