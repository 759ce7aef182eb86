"""The HTTP client for EnZona's payment API: OAuth2 client credentials, timeouts, retries.

Only what the store uses, in the shapes of EnZona's OpenAPI description (v1.0.0):

    POST {host}/token                      client credentials, HTTP basic auth
    POST /payments                         create a payment; answers its transaction_uuid
    POST /payments/{uuid}/complete         the merchant completes what the payer confirmed
    POST /payments/{uuid}/cancel           stop a payment that was never finished
    GET  /payments/{uuid}                  read a payment and its status
    POST /payments/{uuid}/refunds          give money back

Every call has a timeout. Only idempotent calls (getting a token, reading a payment) are
sent again after a timeout, a connection error or a 5xx, at most ``RETRIES`` times in all;
creating, completing, cancelling and refunding are sent once. A 401 means the gateway
refused the token before acting, so the token is dropped and the call sent once more with
a new one; a second 401 is an error. The token is cached until shortly before it expires.
Neither the consumer secret nor a token is ever logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from flask_babel import lazy_gettext as _l

from store.payments.gateway import PaymentProviderError

log = logging.getLogger(__name__)

RETRIES = 3  # attempts in all for an idempotent call
RETRY_PAUSE = 0.2  # seconds, times the attempt number
TOKEN_SCOPE = "enzona_business_payment"
TOKEN_MARGIN = 60  # seconds before its expiry that a token is no longer used


class EnZonaUnavailable(PaymentProviderError):
    """EnZona timed out, failed (5xx), refused our credentials or answered nonsense."""


class EnZonaRefused(PaymentProviderError):
    """EnZona understood the call and refused it (a 4xx other than 401)."""

    def __init__(self, detail: object, status_code: int) -> None:
        super().__init__(detail)
        self.status_code = status_code


UNAVAILABLE = _l("EnZona did not answer. Your order is saved: try paying again in a few "
                 "minutes, or choose another payment method.")
REFUSED = _l("EnZona refused the payment. Try again, or choose another payment method.")


@dataclass(frozen=True)
class _Token:
    value: str
    good_until: float  # on the client's clock


class EnZonaClient:
    def __init__(
        self, api_base: str, consumer_key: str, consumer_secret: str, *, timeout: float,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic, retry_pause: float = RETRY_PAUSE,
    ) -> None:
        parts = urlsplit(api_base)
        self.token_url = f"{parts.scheme}://{parts.netloc}/token"
        self._credentials = (consumer_key, consumer_secret)
        self._http = httpx.Client(
            base_url=api_base.rstrip("/") + "/", timeout=timeout, transport=transport,
            headers={"Accept": "application/json"},
        )
        self._clock = clock
        self._retry_pause = retry_pause
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    # The calls the provider makes.

    def create_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "payments", body=body, idempotent=False)

    def complete_payment(self, transaction_uuid: str) -> dict[str, Any]:
        return self._call("POST", f"payments/{_segment(transaction_uuid)}/complete",
                          body={}, idempotent=False)

    def cancel_payment(self, transaction_uuid: str) -> dict[str, Any]:
        return self._call("POST", f"payments/{_segment(transaction_uuid)}/cancel",
                          body={}, idempotent=False)

    def payment(self, transaction_uuid: str) -> dict[str, Any]:
        return self._call("GET", f"payments/{_segment(transaction_uuid)}", idempotent=True)

    def refund(self, transaction_uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"payments/{_segment(transaction_uuid)}/refunds",
                          body=body, idempotent=False)

    # Tokens.

    def _access_token(self) -> str:
        with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.good_until:
                token = self._token = self._new_token()
            return token.value

    def _drop_token(self, value: str) -> None:
        with self._token_lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def _new_token(self) -> _Token:
        started = self._clock()
        response = self._send(
            "POST", self.token_url, attempts=RETRIES, auth=httpx.BasicAuth(*self._credentials),
            data={"grant_type": "client_credentials", "scope": TOKEN_SCOPE},
        )
        if response.status_code != 200:
            log.error("EnZona refused the store's consumer key and secret (HTTP %s)",
                      response.status_code)
            raise EnZonaUnavailable(UNAVAILABLE)
        data = _json_object(response)
        value, lifetime = data.get("access_token"), data.get("expires_in")
        if not isinstance(value, str) or not value or type(lifetime) is not int or lifetime <= 0:
            log.error("EnZona's token endpoint answered without a token or its lifetime")
            raise EnZonaUnavailable(UNAVAILABLE)
        return _Token(value, started + lifetime - min(TOKEN_MARGIN, lifetime // 2))

    # Transport.

    def _call(
        self, method: str, path: str, *, idempotent: bool, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One API call with a bearer token; a 401 renews the token and tries once more.

        Raises EnZonaUnavailable or EnZonaRefused.
        """
        for renewed in (False, True):
            token = self._access_token()
            response = self._send(
                method, path, attempts=RETRIES if idempotent else 1, json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code != 401:
                break
            self._drop_token(token)
            if renewed:
                log.error("EnZona refused a new token for %s %s", method, path)
                raise EnZonaUnavailable(UNAVAILABLE)
        if response.status_code >= 400:
            log.warning("EnZona refused %s %s: HTTP %s", method, path, response.status_code)
            raise EnZonaRefused(REFUSED, response.status_code)
        return _json_object(response)

    def _send(self, method: str, url: str, *, attempts: int, **options: Any) -> httpx.Response:
        """Send a request, again after a timeout, connection error or 5xx while ``attempts``
        last. Raises EnZonaUnavailable when none succeeded."""
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, url, **options)
            except httpx.HTTPError as error:
                log.warning("EnZona %s %s failed (attempt %d of %d): %s",
                            method, _path(url), attempt, attempts, type(error).__name__)
            else:
                if response.status_code < 500:
                    return response
                log.warning("EnZona %s %s answered HTTP %s (attempt %d of %d)",
                            method, _path(url), response.status_code, attempt, attempts)
            if attempt < attempts:
                time.sleep(self._retry_pause * attempt)
        raise EnZonaUnavailable(UNAVAILABLE)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, decimals kept exact. Raises EnZonaUnavailable."""
    try:
        data = json.loads(response.content, parse_float=Decimal)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        log.error("EnZona answered %s with a body that is not a JSON object",
                  _path(str(response.request.url)))
        raise EnZonaUnavailable(UNAVAILABLE)
    return data


def _segment(value: str) -> str:
    """``value`` as one path segment: an identifier can never reach another endpoint."""
    return quote(value, safe="")


def _path(url: str) -> str:
    return urlsplit(url).path or url
