"""Ed25519 signing keys: configuration, canonical encoding, verification and rotation."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from store.config import ConfigurationError
from store.signing import (
    BadSignature,
    Signer,
    UnknownSigningKey,
    b64decode,
    canonical,
    new_signing_seed,
    public_key_of,
    signer_from_config,
    verify,
)

FIELDS = {"licence_id": 42, "product": "Almiquí Antivirus Hogar", "plan": "1 año · 1 PC"}


def seed() -> bytes:
    return base64.urlsafe_b64decode(new_signing_seed())


@pytest.fixture
def old_key() -> tuple[str, bytes]:
    return ("sk-old", seed())


@pytest.fixture
def new_key() -> tuple[str, bytes]:
    return ("sk-new", seed())


def test_the_canonical_encoding_sorts_keys_drops_spaces_and_keeps_utf8():
    assert canonical({"b": 1, "a": "año"}) == '{"a":"año","b":1}'.encode()


def test_the_newest_key_signs_with_its_id_inside_what_is_signed(old_key, new_key):
    signer = Signer([new_key, old_key])

    signed, signature = signer.sign(FIELDS)

    assert signed == {**FIELDS, "key_id": "sk-new"}
    assert len(b64decode(signature)) == 64 and "=" not in signature
    verify(signed, signature, signer.public_keys())  # does not raise


def test_every_configured_key_is_published_newest_first_without_its_private_half(
    old_key, new_key
):
    keys = Signer([new_key, old_key]).public_keys()

    assert [k["key_id"] for k in keys] == ["sk-new", "sk-old"]
    assert {k["algorithm"] for k in keys} == {"Ed25519"}
    assert keys[1]["public_key"] == public_key_of(old_key[1])
    assert all(len(b64decode(k["public_key"])) == 32 for k in keys)
    published = json.dumps(keys)
    assert base64.urlsafe_b64encode(old_key[1]).decode().rstrip("=") not in published


def test_a_document_signed_by_the_old_key_verifies_until_that_key_is_removed(old_key, new_key):
    signed, signature = Signer([old_key]).sign(FIELDS)

    verify(signed, signature, Signer([new_key, old_key]).public_keys())  # rotated: still good
    with pytest.raises(UnknownSigningKey):
        verify(signed, signature, Signer([new_key]).public_keys())


@pytest.mark.parametrize("change", [
    # Naming the other configured key does not help either.
    {"licence_id": 43}, {"product": "Almiquí Antivirus Empresa"}, {"key_id": "sk-old"},
    {"extra": 1},
])
def test_any_change_to_the_signed_object_breaks_the_signature(old_key, new_key, change):
    signer = Signer([new_key, old_key])
    signed, signature = signer.sign(FIELDS)

    with pytest.raises(BadSignature):
        verify({**signed, **change}, signature, signer.public_keys())


@pytest.mark.parametrize("signature", ["", "!!!", "AAAA", 123, None])
def test_a_malformed_signature_is_a_bad_signature_not_a_crash(old_key, signature):
    signer = Signer([old_key])
    signed, _ = signer.sign(FIELDS)

    with pytest.raises(BadSignature):
        verify(signed, signature, signer.public_keys())


def test_a_signature_made_by_a_different_key_with_the_same_id_does_not_verify(old_key):
    signed, signature = Signer([("sk-old", seed())]).sign(FIELDS)

    with pytest.raises(BadSignature):
        verify(signed, signature, Signer([old_key]).public_keys())


@pytest.mark.parametrize(("text", "message"), [
    ("no-colon-here", "STORE_SIGNING_KEYS must be a comma-separated list of id:key"),
    ("bad id:" + new_signing_seed(), "comma-separated list of id:key"),
    ("k1:c2hvcnQ=", "must hold 32 random bytes"),
    ("k1:!!!notbase64!!!", "flask store new-signing-key"),
    (f"k1:{new_signing_seed()},k1:{new_signing_seed()}", "same key id twice"),
])
def test_malformed_signing_keys_are_refused_with_the_setting_named(tmp_path, text, message):
    with pytest.raises(ConfigurationError, match=message):
        signer_from_config({"STORE_SIGNING_KEYS": text}, tmp_path)


def test_production_refuses_to_start_without_a_signing_key(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_SIGNING_KEYS must be set in production"):
        signer_from_config({"STORE_ENV": "production", "STORE_SIGNING_KEYS": " "}, tmp_path)
    assert not (tmp_path / "signing.json").exists()


def test_configured_keys_are_used_newest_first(tmp_path, old_key, new_key):
    text = ",".join(f"{key_id}:{base64.urlsafe_b64encode(raw).decode()}"
                    for key_id, raw in (new_key, old_key))

    signer = signer_from_config({"STORE_ENV": "production", "STORE_SIGNING_KEYS": text}, tmp_path)

    assert signer.newest_id == "sk-new"
    assert [k["public_key"] for k in signer.public_keys()] == [
        public_key_of(new_key[1]), public_key_of(old_key[1])]


def test_development_creates_one_private_key_file_and_keeps_it(tmp_path):
    first = signer_from_config({}, tmp_path)
    again = signer_from_config({"STORE_ENV": "development"}, tmp_path)

    path = tmp_path / "signing.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.public_keys() == again.public_keys()
    assert first.newest_id == "dev1"
