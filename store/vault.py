"""The key vault: licence keys encrypted at rest, with a keyed hash to find them.

Every key is stored as AES-256-GCM ciphertext (random 96-bit nonce, the lookup hash as
associated data, so a ciphertext moved to another row no longer decrypts) together with
the id of the encryption key that sealed it. The lookup hash is HMAC-SHA256 of the key's
lookup form under a separate secret; a unique index on it makes double issuance
impossible and lets the store find a key without decrypting anything.

Configuration holds several encryption keys, newest first: the newest seals, all of them
open, and ``flask store rotate-keys`` re-seals old rows under the newest.

Every sealed secret (licence keys, pool keys, order link tokens) is a row with the columns
of ``SealedKeyMixin``; ``seal_into`` fills them and ``reveal`` opens them. This module is
shared by the areas and imports none of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from store.config import ConfigurationError, read_or_create

NONCE_BYTES = 12
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,16}")
# Spaces, dashes and their look-alikes, ignored wherever a key is compared.
SEPARATORS = str.maketrans("", "", " -_\t\u00a0\u2010\u2011\u2012\u2013\u2014\u2212")


def lookup_form(text: str) -> str:
    """The form a secret is hashed in: upper case, without spaces or dashes.

    Works for this store's keys (already normalised) and for imported vendor keys,
    whose format is the vendor's.
    """
    return str(text).strip().upper().translate(SEPARATORS)


class VaultError(RuntimeError):
    """A stored key cannot be opened: unknown key id or tampered ciphertext."""


@dataclass(frozen=True)
class Sealed:
    """A key as stored: ciphertext, the id of the key that sealed it, and its lookup hash."""

    ciphertext: bytes
    key_id: str
    lookup_hash: str


def new_secret() -> str:
    """Return fresh key material for STORE_VAULT_KEYS or STORE_VAULT_LOOKUP_KEY."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def decode_secret(name: str, text: str, command: str = "new-vault-secret") -> bytes:
    """Return the 32 bytes of a URL-safe base64 secret. Raises ConfigurationError naming
    the setting ``name`` and the ``flask store`` command that makes one."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError(
            f"{name} must hold 32 random bytes in URL-safe base64; "
            f"create one with `flask store {command}`"
        )
    return raw


class Vault:
    """Seals and opens licence keys. ``keys`` are (id, 32-byte key) pairs, newest first."""

    def __init__(self, keys: list[tuple[str, bytes]], lookup_key: bytes) -> None:
        if not keys:
            raise ConfigurationError("the vault needs at least one encryption key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}
        if len(self._ciphers) != len(keys):
            raise ConfigurationError("STORE_VAULT_KEYS has the same key id twice")
        self.newest_id = keys[0][0]
        self._lookup_key = lookup_key

    def lookup_hash(self, key: str) -> str:
        """Return the hex HMAC of the key's lookup form (spaces, dashes, case ignored)."""
        form = lookup_form(key).encode("utf-8")
        return hmac.new(self._lookup_key, form, hashlib.sha256).hexdigest()

    def keyed_hash(self, purpose: str, text: str) -> str:
        """Return the hex HMAC of ``purpose:text`` exactly as given (say, a device's
        fingerprint), under the lookup secret. Lookup forms are upper case, so a lower-case
        ``purpose`` never hashes like a key."""
        message = f"{purpose}:{text}".encode("utf-8", "surrogatepass")
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()

    def seal(self, key: str) -> Sealed:
        """Encrypt ``key`` under the newest encryption key."""
        lookup = self.lookup_hash(key)
        nonce = os.urandom(NONCE_BYTES)
        cipher = self._ciphers[self.newest_id]
        ciphertext = nonce + cipher.encrypt(nonce, key.encode("utf-8"), lookup.encode("ascii"))
        return Sealed(ciphertext, self.newest_id, lookup)

    def open(self, ciphertext: bytes, key_id: str, lookup_hash: str) -> str:
        """Decrypt a stored key. Raises VaultError for an unknown key id or altered data."""
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise VaultError(f"no encryption key with id {key_id!r} is configured")
        nonce, body = bytes(ciphertext[:NONCE_BYTES]), bytes(ciphertext[NONCE_BYTES:])
        try:
            return cipher.decrypt(nonce, body, lookup_hash.encode("ascii")).decode("utf-8")
        except InvalidTag:
            raise VaultError("stored key failed authentication (altered or misplaced)") from None

    def reseal(self, ciphertext: bytes, key_id: str, lookup_hash: str) -> Sealed:
        """Re-encrypt a stored key under the newest encryption key."""
        return self.seal(self.open(ciphertext, key_id, lookup_hash))


def parse_keys(
    text: str, setting: str = "STORE_VAULT_KEYS", command: str = "new-vault-secret"
) -> list[tuple[str, bytes]]:
    """Parse "id:secret,id:secret" (newest first) into (id, 32 bytes) pairs.

    Raises ConfigurationError naming ``setting`` for a malformed entry or a repeated id.
    """
    keys = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key_id, sep, secret = item.partition(":")
        if not sep or not KEY_ID.fullmatch(key_id):
            raise ConfigurationError(
                f"{setting} must be a comma-separated list of id:key, newest first "
                "(ids of 1-16 letters, digits, '.', '_' or '-')"
            )
        keys.append((key_id, decode_secret(f"{setting} ({key_id})", secret, command)))
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise ConfigurationError(f"{setting} has the same key id twice")
    return keys


def _development_material(instance_path: Path) -> dict[str, str]:
    """Read the development vault secrets from instance/, creating them on first use."""
    text = read_or_create(
        instance_path / "vault.json",
        lambda: json.dumps({"keys": f"dev1:{new_secret()}", "lookup_key": new_secret()}),
    )
    return json.loads(text)


def vault_from_config(config: Mapping[str, object], instance_path: Path) -> Vault:
    """Build the vault from STORE_VAULT_KEYS and STORE_VAULT_LOOKUP_KEY.

    Development generates both once under instance/; production refuses to start without
    them. Raises ConfigurationError with the variable named.
    """
    keys_text = config.get("STORE_VAULT_KEYS")
    lookup_text = config.get("STORE_VAULT_LOOKUP_KEY")
    if not keys_text or not lookup_text:
        if config.get("STORE_ENV") == "production":
            raise ConfigurationError(
                "STORE_VAULT_KEYS and STORE_VAULT_LOOKUP_KEY must be set in production: "
                "they encrypt and index the licence keys. Create each secret with "
                "`flask store new-vault-secret`; STORE_VAULT_KEYS takes id:secret pairs."
            )
        material = _development_material(instance_path)
        keys_text = keys_text or material["keys"]
        lookup_text = lookup_text or material["lookup_key"]
    return Vault(
        parse_keys(str(keys_text)),
        decode_secret("STORE_VAULT_LOOKUP_KEY", str(lookup_text)),
    )


class SealedKeyMixin:
    """Columns of a secret kept in the vault: never plain text."""

    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    vault_key_id: Mapped[str] = mapped_column(String(16))
    lookup_hash: Mapped[str] = mapped_column(String(64), unique=True)


def get_vault() -> Vault:
    """The vault of the current app (built from configuration in create_app)."""
    return current_app.extensions["store_vault"]


def seal_into(row: SealedKeyMixin, secret: str) -> SealedKeyMixin:
    """Fill ``row``'s sealed columns with ``secret`` under the newest key; return the row."""
    sealed = get_vault().seal(secret)
    row.ciphertext, row.vault_key_id, row.lookup_hash = (
        sealed.ciphertext, sealed.key_id, sealed.lookup_hash
    )
    return row


def reveal(row: SealedKeyMixin) -> str:
    """Decrypt a sealed row's secret, to show it to its owner or to staff."""
    return get_vault().open(row.ciphertext, row.vault_key_id, row.lookup_hash)
