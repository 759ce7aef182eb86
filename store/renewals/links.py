"""The signed links of renewal emails: renew a licence, and stop the reminders.

A renewal link names the licence by id (never its key) and stops working when the
licence's renewal window ends; an opt-out link names an email address. Both are signed
with the app's secret key (itsdangerous), each with its own salt, so one cannot pass for
the other. Addresses are built from STORE_BASE_URL (store/urls.py).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from store.dbtypes import utcnow
from store.licensing.models import Licence
from store.licensing.renewals import renewable_until, renewal_window  # noqa: F401 - re-exported
from store.urls import public_url

RENEWAL_SALT = "store.renewals.link"
OPT_OUT_SALT = "store.renewals.opt-out"


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def renewal_token(licence: Licence) -> str:
    """A token naming ``licence`` until the end of its renewal window."""
    until = int(renewable_until(licence).timestamp())
    return _serializer(RENEWAL_SALT).dumps({"l": licence.id, "u": until})


def licence_id_from_token(token: str, now: datetime | None = None) -> int | None:
    """The licence id a renewal token names, or None when forged, malformed or expired."""
    try:
        data = _serializer(RENEWAL_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("l"), int) \
            or not isinstance(data.get("u"), int):
        return None
    if (now or utcnow()).timestamp() > data["u"]:
        return None
    return data["l"]


def renewal_link(licence: Licence) -> str:
    """The emailed one-click address that opens the renewal of ``licence``."""
    return public_url("renewals.from_link", token=renewal_token(licence))


def opt_out_token(email: str) -> str:
    return _serializer(OPT_OUT_SALT).dumps(email.lower())


def email_from_opt_out_token(token: str) -> str | None:
    """The address an opt-out token names, or None when forged or malformed."""
    try:
        email = _serializer(OPT_OUT_SALT).loads(token)
    except BadSignature:
        return None
    return email if isinstance(email, str) and "@" in email else None


def opt_out_link(email: str) -> str:
    """The emailed one-click address that stops the reminders to ``email``."""
    return public_url("renewals.opt_out", token=opt_out_token(email))
