"""The licence routes: validate a key, activate and deactivate a device.

Each route parses its JSON body with a schema (400 for anything else), calls one
licensing use case and answers with a schema; a StoreError becomes problem+json with its
code (store/errors.py). Limits: per client address, and per key, counted by the key's
lookup hash so no key reaches the limiter's storage.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import HTTPException

from store.api import bp
from store.api.schemas import (
    KEY_LENGTH, ActivateRequest, DeactivateAnswer, DeactivateRequest, LicenceAnswer,
    ValidateRequest,
)
from store.api.spec import MAX_BODY, problem
from store.errors import InvalidInput
from store.licensing import activations
from store.ratelimit import limited
from store.vault import get_vault

KEY_SCOPE = "licence-api-key"
ADDRESS_SCOPE = "licence-api"


def licence_key() -> str:
    """Rate-limit key: the posted licence key's lookup hash (never the key itself)."""
    request.max_content_length = MAX_BODY  # the limiter reads the body before the route
    try:
        body = request.get_json(silent=True)
    except (HTTPException, RecursionError):  # too large or too deep: the route answers
        body = None
    key = body.get("key") if isinstance(body, dict) else None
    if not isinstance(key, str):
        return "licence-key:none"
    key = key[:KEY_LENGTH]  # longer is refused by the route; it still counts
    try:
        lookup = activations.key_lookup(key)
    except InvalidInput:  # a typo: count it by what was typed
        lookup = get_vault().lookup_hash(key)
    except UnicodeError:
        return "licence-key:none"
    return f"licence-key:{lookup}"


def licence_limits(view):
    """Limit a licence route per address and per key (shared by every licence route)."""
    view = limited("STORE_LIMIT_API_PER_KEY", per=licence_key, scope=KEY_SCOPE)(view)
    return limited("STORE_LIMIT_API_PER_ADDRESS", scope=ADDRESS_SCOPE)(view)


COMMON_ERRORS = (
    (413, problem("The request body is over 8 KB (REQUEST_TOO_LARGE).")),
    (429, problem("Too many requests (RATE_LIMITED); the Retry-After header says when to "
                  "try again.")),
)


def with_errors(*extra):
    """Document the ``extra`` (status, options) errors and the 413 and 429 of every route."""
    def decorate(view):
        for status, options in (*extra, *COMMON_ERRORS):
            view = bp.alt_response(status, **options)(view)
        return view
    return decorate


INVALID = (400, problem("The body is not a JSON object of the documented fields "
                        "(INVALID_REQUEST), or a key in the store's format has a typo "
                        "(INVALID_KEY)."))
NOT_FOUND = (404, problem("No licence has this key (NOT_FOUND)."))
CONFLICT = (409, problem("The licence cannot take this device: EXPIRED, REVOKED, REFUNDED "
                         "or TOO_MANY_ACTIVATIONS."))


@bp.post("/licences/validate")
@licence_limits
@bp.arguments(ValidateRequest)
@bp.response(200, LicenceAnswer)
@with_errors(INVALID)
def validate(body: dict):
    """Say whether a key is usable (and on this device, when a fingerprint is given).

    Changes nothing. An unknown key is an answer (`valid` false, code `NOT_FOUND`).
    """
    return activations.check(body["key"], body.get("fingerprint"))


@bp.post("/licences/activate")
@licence_limits
@bp.arguments(ActivateRequest)
@bp.response(200, LicenceAnswer)
@with_errors(INVALID, NOT_FOUND, CONFLICT)
def activate(body: dict):
    """Give this device a seat of the licence; a device that has one keeps it."""
    return activations.activate(body["key"], body["fingerprint"], body.get("label"))


@bp.post("/licences/deactivate")
@licence_limits
@bp.arguments(DeactivateRequest)
@bp.response(200, DeactivateAnswer)
@with_errors(INVALID, NOT_FOUND)
def deactivate(body: dict):
    """Free this device's seat (when uninstalling); asking again changes nothing."""
    return activations.deactivate(body["key"], body["fingerprint"])
