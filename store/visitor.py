"""What this browser session holds: the cart, the checkout token, the orders it may open.

Views read and write the session only through these helpers, so no view imports another
area's views, and signing in (accounts) can merge a guest's cart and orders in one place.
Services never read the session: views pass them what these return.
"""

from __future__ import annotations

import secrets

from flask import session

Cart = dict[str, dict[str, int]]  # {"<plan id>": {"q": quantity, "p": price seen}}

MAX_REMEMBERED_ORDERS = 20
CHECKOUT_TOKEN_BYTES = 24


def current_cart() -> Cart:
    cart = session.get("cart")
    return cart if isinstance(cart, dict) else {}


def _new_checkout_token() -> str:
    token = session["checkout_token"] = secrets.token_urlsafe(CHECKOUT_TOKEN_BYTES)
    return token


def save_cart(cart: Cart) -> None:
    session["cart"] = cart
    # A new cart means a new checkout: the next order gets a new idempotency key.
    _new_checkout_token()


def checkout_token() -> str:
    """The idempotency key of this session's next order (made on first use)."""
    token = session.get("checkout_token")
    return token if isinstance(token, str) and token else _new_checkout_token()


def remembered_orders() -> list[str]:
    """Numbers of the orders this session placed or opened with their emailed link."""
    numbers = session.get("orders", [])
    return [n for n in numbers if isinstance(n, str)] if isinstance(numbers, list) else []


def remember_order(number: str) -> None:
    """Let this session open the order page without the emailed link."""
    numbers = [n for n in remembered_orders() if n != number]
    session["orders"] = (numbers + [number])[-MAX_REMEMBERED_ORDERS:]


MAX_PROVEN_LICENCES = 20


def proven_licences() -> list[int]:
    """Licences this session may renew: it typed their key or followed their renewal link."""
    ids = session.get("renewable", [])
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def prove_licence(licence_id: int) -> None:
    """Let this session renew licence ``licence_id``."""
    ids = [i for i in proven_licences() if i != licence_id]
    session["renewable"] = (ids + [licence_id])[-MAX_PROVEN_LICENCES:]


def visitor_id() -> str:
    """A random id for this browser session (made on first use), to count its requests."""
    value = session.get("visitor")
    if not isinstance(value, str) or not value:
        value = session["visitor"] = secrets.token_urlsafe(12)
    return value


KEPT_ACROSS_SIGN_IN = ("cart", "orders", "locale")


def renew_session(keep: tuple[str, ...] = KEPT_ACROSS_SIGN_IN) -> None:
    """Start a fresh session, keeping only ``keep``: signing in keeps the cart, the orders
    this browser may open and the language; nothing an attacker planted survives it."""
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    session.update(kept)
    _new_checkout_token()


# A staff member's second factor, checked in this session for "<user id>:<auth version>".
# renew_session drops both (signing in again asks for a code again).
SECOND_FACTOR = "second_factor_user"
PENDING_SECOND_FACTOR = "second_factor_pending"


def second_factor_verified(session_id: str) -> bool:
    """Whether a code was accepted in this session for this user and auth version."""
    return session.get(SECOND_FACTOR) == session_id


def remember_second_factor(session_id: str) -> None:
    session[SECOND_FACTOR] = session_id
    session.pop(PENDING_SECOND_FACTOR, None)


def pending_second_factor() -> str | None:
    """The sealed TOTP secret being enrolled in this session (see store.staff.services)."""
    token = session.get(PENDING_SECOND_FACTOR)
    return token if isinstance(token, str) else None


def keep_pending_second_factor(token: str) -> None:
    session[PENDING_SECOND_FACTOR] = token
