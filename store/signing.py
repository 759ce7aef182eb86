"""Ed25519 signatures for documents the store hands out (signed licence files).

Configuration holds several signing keys, newest first, in the vault's format
(``STORE_SIGNING_KEYS="id:seed,id:seed"``, each seed 32 random bytes in URL-safe base64):
the newest signs, and the public key of every configured key is published, so a document
signed with an older key still verifies while that key stays configured. The id of the
signing key is part of what is signed, so it cannot be swapped.

What is signed is the canonical encoding of a JSON object (``canonical``): sorted keys, no
spaces, UTF-8. For objects of strings and integers only this equals RFC 8785 (JCS).
This module is shared by the areas and imports none of them.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

from store.config import ConfigurationError, read_or_create
from store.vault import parse_keys

ALGORITHM = "Ed25519"
SETTING = "STORE_SIGNING_KEYS"
COMMAND = "new-signing-key"


class SignatureError(ValueError):
    """A signed object does not verify: unknown key id, malformed or altered."""


class UnknownSigningKey(SignatureError):
    """The object names a signing key that is not among the public keys given."""


class BadSignature(SignatureError):
    """The signature is malformed or does not match the object (it was altered)."""


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding, as signatures and public keys are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str, *, padded: bool = True) -> bytes:
    """Decode URL-safe base64, without padding or (when ``padded``) with exactly the
    right padding. Raises ValueError when malformed.

    Only the canonical spellings pass: stray characters or unused low bits, which lenient
    decoders ignore, are refused. Signatures are read with ``padded=False``, so a
    signature has one spelling and changing any character of it makes it fail.
    """
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    spellings = {b64encode(data)}
    if padded:
        spellings.add(base64.urlsafe_b64encode(data).decode("ascii"))
    if text not in spellings:
        raise ValueError("not base64 as the store writes it")
    return data


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8 (not ASCII escapes)."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def new_signing_seed() -> str:
    """Return a fresh private seed for STORE_SIGNING_KEYS (padded URL-safe base64)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def public_key_of(seed: bytes) -> str:
    """The raw public key of a 32-byte private seed, in URL-safe base64."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


class Signer:
    """Signs with the newest of ``keys`` ((id, 32-byte seed) pairs, newest first)."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigurationError(f"{SETTING} needs at least one signing key")
        if len({key_id for key_id, _ in keys}) != len(keys):
            raise ConfigurationError(f"{SETTING} has the same key id twice")
        self._keys = {key_id: Ed25519PrivateKey.from_private_bytes(seed) for key_id, seed in keys}
        self.newest_id = keys[0][0]

    def sign(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """Return ``fields`` with ``key_id`` set to the newest key, and its signature.

        The signature (URL-safe base64, no padding) covers ``canonical`` of the returned
        object, key id included.
        """
        signed = {**fields, "key_id": self.newest_id}
        return signed, b64encode(self._keys[self.newest_id].sign(canonical(signed)))

    def public_keys(self) -> list[dict[str, str]]:
        """Every configured key's public half, newest first, as published to clients."""
        return [
            {
                "key_id": key_id,
                "algorithm": ALGORITHM,
                "public_key": b64encode(private.public_key().public_bytes(
                    Encoding.Raw, PublicFormat.Raw)),
            }
            for key_id, private in self._keys.items()
        ]


def _public_key(key_id: str, public_keys: Iterable[Mapping[str, Any]]) -> Ed25519PublicKey:
    for entry in public_keys:
        if entry.get("key_id") == key_id and entry.get("algorithm") == ALGORITHM:
            try:
                return Ed25519PublicKey.from_public_bytes(b64decode(entry.get("public_key")))
            except ValueError:
                raise UnknownSigningKey(f"the public key {key_id!r} is malformed") from None
    raise UnknownSigningKey(f"no public key with id {key_id!r}")


def verify(signed: Mapping[str, Any], signature: str,
           public_keys: Iterable[Mapping[str, Any]]) -> None:
    """Check ``signature`` over ``canonical(signed)`` with the key ``signed["key_id"]``.

    Raises UnknownSigningKey when that key is not among ``public_keys`` and BadSignature
    when the signature is malformed or does not match.
    """
    key = _public_key(signed.get("key_id"), public_keys)
    try:
        raw = b64decode(signature, padded=False)
        key.verify(raw, canonical(signed))
    except (ValueError, TypeError, InvalidSignature):
        raise BadSignature("the signature does not match: the document was altered") from None


def _development_keys(instance_path: Path) -> str:
    """Read the development signing key from instance/, creating it on first use."""
    text = read_or_create(
        instance_path / "signing.json",
        lambda: json.dumps({"keys": f"dev1:{new_signing_seed()}"}),
    )
    return json.loads(text)["keys"]


def signer_from_config(config: Mapping[str, object], instance_path: Path) -> Signer:
    """Build the signer from STORE_SIGNING_KEYS.

    Development generates a key once under instance/ (mode 0600); production refuses to
    start without one. Raises ConfigurationError with the variable named.
    """
    text = config.get(SETTING)
    if not text or not str(text).strip():
        if config.get("STORE_ENV") == "production":
            raise ConfigurationError(
                f"{SETTING} must be set in production: it signs the licence files that "
                f"customers download. Create a key with `flask store {COMMAND}` and set "
                f"{SETTING}=id:seed (several keys newest first, separated by commas)."
            )
        text = _development_keys(instance_path)
    return Signer(parse_keys(str(text), SETTING, COMMAND))


def get_signer() -> Signer:
    """The signer of the current app (built from configuration in create_app)."""
    return current_app.extensions["store_signer"]
