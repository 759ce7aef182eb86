"""Rate limits: the limiter's set-up, who a request counts as, and the 429 page.

The limiter is Flask-Limiter (``store.extensions.limiter``). Its counters live in Redis
when STORE_REDIS_URL is set, so every app server shares them; otherwise in this
process's memory (development, tests, or a one-process store). Each limit is a setting
(``STORE_LIMIT_*``, "N per period"), read on every request, so tests and operators change
it without touching code. A refused request gets a 429 page in the visitor's language
("Inténtalo de nuevo en N minutos") or a problem+json under /api/, with Retry-After.

To limit a route, stack ``limited`` under the route decorator, once per key::

    @bp.post("/entrar")
    @limited("STORE_LIMIT_ACCOUNT_PER_ADDRESS", scope="sign-in")
    @limited("STORE_LIMIT_ACCOUNT_PER_ACCOUNT", per=form_value("email"), scope="sign-in")
    def sign_in(): ...

Keys: ``client_address`` (the default), ``visitor`` (this browser session) and
``form_value(name)`` (a posted field, such as the account's email). Behind a proxy the
client's address is right only when STORE_PROXY_HOPS says how many proxies to trust.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from flask_limiter import RateLimitExceeded
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.strategies import MovingWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

from store.errors import error_response
from store.extensions import client_address, limiter
from store.visitor import visitor_id

log = logging.getLogger(__name__)

__all__ = ["client_address", "failures", "form_value", "limited", "visitor"]

# Longest value of a posted field used as a key (an email address is at most 254).
MAX_KEY_VALUE = 254


def visitor() -> str:
    """Key: this browser session (a new session is a new visitor; pair it with an address)."""
    return f"visitor:{visitor_id()}"


def form_value(name: str) -> Callable[[], str]:
    """Key: the posted field ``name``, trimmed and lower-cased (say, the account's email)."""

    def key() -> str:
        value = request.form.get(name, "").strip().lower()[:MAX_KEY_VALUE]
        return f"{name}:{value}"

    return key


def limited(
    setting: str, *, per: Callable[[], str] = client_address, scope: str | None = None,
    methods: list[str] | None = None, exempt_when: Callable[[], bool] | None = None,
    deduct_when: Callable | None = None,
):
    """Decorate a view (under its route) with the limit named by ``setting``, counted per ``per``.

    Routes that share a ``scope`` share one count; without it each route counts alone.
    ``methods`` limits only those methods; ``exempt_when`` skips requests it returns True for;
    ``deduct_when(response)`` counts only the responses it returns True for (``failures``).
    """
    def limit() -> str:
        return current_app.config[setting]

    options = {"key_func": per, "methods": methods, "exempt_when": exempt_when,
               "deduct_when": deduct_when}
    if scope is None:
        return limiter.limit(limit, **options)
    return limiter.shared_limit(limit, scope, **options)


def failures(response) -> bool:
    """Count a sign-in or a code only when it was refused (a success redirects): otherwise
    anyone could lock a person out by signing in as them a few times."""
    return response.status_code != 302


def seconds_to_wait() -> int:
    """How long the refused request's limit has left (at least one second)."""
    current = limiter.current_limit
    if current is None:
        return 60
    reset_time, _remaining = current.window
    return max(1, math.ceil(reset_time - time.time()))


def too_many_requests(error: RateLimitExceeded):
    wait = seconds_to_wait()
    minutes = max(1, math.ceil(wait / 60))
    response = error_response(429, _l("Too many requests"), _ln(
        "You have tried too many times. Please try again in %(num)d minute.",
        "You have tried too many times. Please try again in %(num)d minutes.",
        minutes,
    ))
    response.headers["Retry-After"] = str(wait)
    return response


def register_rate_limits(app: Flask) -> None:
    """Trust STORE_PROXY_HOPS proxies for the client's address, start the limiter, and
    answer a breached limit with the 429 page."""
    hops = app.config["STORE_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, too_many_requests)


# Pool keys reserved through one address, counted over the payment window (see
# store/orders/caps.py): a sliding count in the limiter's storage, not a limit.
HELD_KEYS = "pool-keys-held"
COUNT_CEILING = 1_000_000


def _held_item(window: timedelta) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(COUNT_CEILING, max(1, int(window.total_seconds())))


def pool_keys_held(address: str, window: timedelta) -> int:
    """Pool keys that orders placed from ``address`` reserved during the last ``window``.

    Returns 0 (and logs) when the storage does not answer: sales go on without this cap.
    """
    try:
        counter = MovingWindowRateLimiter(limiter.storage)
        _reset, remaining = counter.get_window_stats(_held_item(window), HELD_KEYS, address)
    except StorageError as error:
        log.warning("pool keys held by address not counted: %s", error)
        return 0
    return COUNT_CEILING - remaining


def note_pool_keys_held(address: str, count: int, window: timedelta) -> None:
    """Count ``count`` more pool keys reserved from ``address`` (for ``window``)."""
    if count <= 0:
        return
    try:
        counter = MovingWindowRateLimiter(limiter.storage)
        counter.hit(_held_item(window), HELD_KEYS, address, cost=count)
    except StorageError as error:
        log.warning("pool keys held by address not noted: %s", error)
