"""Signed licence files: what a licence is, signed so the antivirus client checks it offline.

A file is ``{"licence": {...}, "signature": "..."}``. The ``licence`` object holds strings
and integers only (times in RFC 3339 UTC, ending in ``Z``), and never the licence key; the
signature is Ed25519 over its canonical encoding (store/signing.py), made with the newest
signing key, whose id is inside the object. See docs/api.md ("Signed licence files").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sqlalchemy import select

from store.errors import InvalidInput, StoreError
from store.extensions import db
from store.licensing.activations import Code, LicenceNotFound, key_lookup
from store.licensing.models import Licence, LicenceStatus
from store.signing import BadSignature, UnknownSigningKey, get_signer, verify

FORMAT = 1
# Every field of the signed object and the JSON type it must have.
FIELDS: dict[str, type] = {
    "format": int, "licence_id": int, "product": str, "plan": str, "seats": int,
    "starts_at": str, "expires_at": str, "issued_at": str, "key_id": str,
}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_TEXT = 200  # longest string field accepted when verifying
# Integers are exact in every JSON reader (and RFC 8785 writes them as Python does) below 2^53.
MAX_INTEGER = 2**53 - 1


class NoLicenceFile(StoreError):
    """The licence gets no signed file: it was replaced, revoked or refunded (``code``
    says which, as the licence API answers it: REVOKED or REFUNDED)."""

    status = 409
    title = _l("This licence has no licence file")

    def __init__(self, detail: object, code: str) -> None:
        super().__init__(detail)
        self.code = code


class InvalidLicenceFile(InvalidInput):
    """A licence file is malformed, signed with an unknown key, or was altered."""

    title = _l("The licence file is not valid")


def rfc3339(moment: datetime) -> str:
    """A timezone-aware time as RFC 3339 UTC to the second, e.g. 2027-11-29T00:00:00Z."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _check_gets_a_file(licence: Licence) -> None:
    if licence.replaced_by_id is not None:
        raise NoLicenceFile(_l("This key was replaced by a new one: download the new "
                               "licence's file instead."), Code.REVOKED.value)
    if licence.status == LicenceStatus.REVOKED:
        raise NoLicenceFile(_l("This licence was revoked: it no longer works."),
                            Code.REVOKED.value)
    if licence.status == LicenceStatus.REFUNDED:
        raise NoLicenceFile(_l("This licence was refunded: it no longer works."),
                            Code.REFUNDED.value)


def has_licence_file(licence: Licence) -> bool:
    """True when ``licence`` gets a signed file (current, not revoked or refunded)."""
    try:
        _check_gets_a_file(licence)
    except NoLicenceFile:
        return False
    return True


def licence_file(licence: Licence, *, now: datetime) -> dict[str, Any]:
    """The signed licence file of ``licence``, issued at ``now``.

    Product and plan are the names the buyer saw (the order line's snapshot). Raises
    NoLicenceFile for a licence replaced by a reissue, revoked or refunded.
    """
    _check_gets_a_file(licence)
    line = licence.order_line
    signed, signature = get_signer().sign({
        "format": FORMAT,
        "licence_id": licence.id,
        "product": line.product_name,
        "plan": line.plan_name,
        "seats": licence.seats,
        "starts_at": rfc3339(licence.starts_at),
        "expires_at": rfc3339(licence.expires_at),
        "issued_at": rfc3339(now),
    })
    return {"licence": signed, "signature": signature}


def licence_file_for_key(key_text: str, *, now: datetime) -> dict[str, Any]:
    """The signed licence file of the licence with this key (the licence API).

    Raises InvalidKey (a typo in a key of the store's format, before any query),
    LicenceNotFound, or NoLicenceFile.
    """
    licence = db.session.scalar(
        select(Licence).where(Licence.lookup_hash == key_lookup(key_text)))
    if licence is None:
        raise LicenceNotFound()
    return licence_file(licence, now=now)


def licence_file_text(document: Mapping[str, Any]) -> str:
    """A licence file as saved: indented UTF-8 JSON (whitespace is not signed)."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def licence_file_name(licence: Licence) -> str:
    """The name a downloaded licence file is saved under, e.g. licencia-42.json."""
    return _("licence-%(id)d.json", id=licence.id)


def _parse_time(name: str, text: str) -> datetime:
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidLicenceFile(
            _l("The field %(field)s is not a UTC time like 2027-11-29T00:00:00Z.", field=name)
        ) from None


def _checked_shape(document: object) -> tuple[dict[str, Any], str]:
    """The licence object and signature of a well-formed file. Raises InvalidLicenceFile."""
    if not isinstance(document, dict) or set(document) != {"licence", "signature"}:
        raise InvalidLicenceFile(_l('A licence file holds exactly "licence" and "signature".'))
    licence, signature = document["licence"], document["signature"]
    if not isinstance(licence, dict) or set(licence) != set(FIELDS):
        raise InvalidLicenceFile(_l("The licence in the file does not have the expected fields."))
    for name, kind in FIELDS.items():
        value = licence[name]
        # bool is an int in Python, never in a licence file.
        if type(value) is not kind or (kind is str and len(value) > MAX_TEXT) or (
                kind is int and not 0 <= value <= MAX_INTEGER):
            raise InvalidLicenceFile(_l("The field %(field)s has the wrong type.", field=name))
    if licence["format"] != FORMAT:
        raise InvalidLicenceFile(_l("This licence file format is not known."))
    for name in ("starts_at", "expires_at", "issued_at"):
        _parse_time(name, licence[name])
    if not isinstance(signature, str):
        raise InvalidLicenceFile(_l("The signature has the wrong type."))
    return licence, signature


def verify_licence_file(
    document: object, public_keys: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Return the licence object of ``document`` when its signature holds.

    Does not judge expiry (the caller compares ``expires_at`` with its clock). Raises
    InvalidLicenceFile for a malformed file, an unknown key id or any alteration.
    """
    licence, signature = _checked_shape(document)
    try:
        verify(licence, signature, public_keys)
    except UnknownSigningKey:
        raise InvalidLicenceFile(
            _l("The file was signed with a key this store does not know (%(key_id)s).",
               key_id=licence["key_id"])
        ) from None
    except BadSignature:
        raise InvalidLicenceFile(
            _l("The signature does not match: the file was altered.")
        ) from None
    return licence


def expires_at(licence: Mapping[str, Any]) -> datetime:
    """The expiry of a verified licence object, as a timezone-aware datetime."""
    return _parse_time("expires_at", licence["expires_at"])
