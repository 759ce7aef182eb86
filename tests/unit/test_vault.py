"""The vault: authenticated encryption, keyed lookup hashes, several keys, rotation."""

from __future__ import annotations

import base64
import stat

import pytest

from store.config import ConfigurationError
from store.licensing.keys import generate
from store.vault import Vault, VaultError, new_secret, vault_from_config


def raw(secret: str) -> bytes:
    return base64.urlsafe_b64decode(secret)


@pytest.fixture
def old_vault():
    return Vault([("k1", raw(new_secret()))], raw(new_secret()))


def test_a_sealed_key_opens_and_its_ciphertext_does_not_contain_it(old_vault):
    key = generate()
    sealed = old_vault.seal(key)
    assert old_vault.open(sealed.ciphertext, sealed.key_id, sealed.lookup_hash) == key
    assert key.encode() not in sealed.ciphertext
    assert key.replace("-", "").encode() not in sealed.ciphertext
    assert sealed.key_id == "k1" and len(sealed.lookup_hash) == 64


def test_sealing_twice_gives_different_ciphertexts_and_the_same_lookup_hash(old_vault):
    key = generate()
    first, second = old_vault.seal(key), old_vault.seal(key)
    assert first.ciphertext != second.ciphertext
    assert first.lookup_hash == second.lookup_hash


def test_the_lookup_hash_ignores_case_spaces_and_dashes_but_not_the_key(old_vault):
    key = generate()
    assert old_vault.lookup_hash(key) == old_vault.lookup_hash(key.lower().replace("-", " "))
    assert old_vault.lookup_hash(key) != old_vault.lookup_hash(generate())


def test_the_lookup_hash_depends_on_the_secret():
    key = generate()
    a = Vault([("k1", raw(new_secret()))], raw(new_secret()))
    b = Vault([("k1", raw(new_secret()))], raw(new_secret()))
    assert a.lookup_hash(key) != b.lookup_hash(key)


def test_a_ciphertext_moved_to_another_row_does_not_open(old_vault):
    sealed, other = old_vault.seal(generate()), old_vault.seal(generate())
    with pytest.raises(VaultError):
        old_vault.open(sealed.ciphertext, sealed.key_id, other.lookup_hash)


def test_a_tampered_ciphertext_does_not_open(old_vault):
    sealed = old_vault.seal(generate())
    tampered = sealed.ciphertext[:-1] + bytes([sealed.ciphertext[-1] ^ 1])
    with pytest.raises(VaultError):
        old_vault.open(tampered, sealed.key_id, sealed.lookup_hash)


def test_the_newest_key_seals_and_every_configured_key_opens():
    k1, k2, lookup_key = raw(new_secret()), raw(new_secret()), raw(new_secret())
    sealed = Vault([("k1", k1)], lookup_key).seal("VENDOR-KEY-1")
    stored = (sealed.ciphertext, sealed.key_id, sealed.lookup_hash)

    rotated = Vault([("k2", k2), ("k1", k1)], lookup_key)

    assert rotated.newest_id == "k2"
    assert rotated.seal("x").key_id == "k2"
    assert rotated.open(*stored) == "VENDOR-KEY-1"
    resealed = rotated.reseal(*stored)
    assert resealed.key_id == "k2" and resealed.lookup_hash == sealed.lookup_hash
    assert Vault([("k2", k2)], lookup_key).open(
        resealed.ciphertext, resealed.key_id, resealed.lookup_hash
    ) == "VENDOR-KEY-1"
    with pytest.raises(VaultError, match="no encryption key with id 'k1'"):
        Vault([("k2", k2)], lookup_key).open(*stored)


def test_development_generates_vault_secrets_once_under_instance(tmp_path):
    first = vault_from_config({"STORE_ENV": "development"}, tmp_path)
    second = vault_from_config({"STORE_ENV": "development"}, tmp_path)
    sealed = first.seal("KEY")
    assert second.open(sealed.ciphertext, sealed.key_id, sealed.lookup_hash) == "KEY"
    assert stat.S_IMODE((tmp_path / "vault.json").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "config",
    [
        {"STORE_ENV": "production"},
        {"STORE_ENV": "production", "STORE_VAULT_KEYS": f"k1:{new_secret()}"},
        {"STORE_ENV": "production", "STORE_VAULT_LOOKUP_KEY": new_secret()},
    ],
)
def test_production_refuses_to_start_without_vault_secrets(tmp_path, config):
    with pytest.raises(ConfigurationError, match="STORE_VAULT_KEYS and STORE_VAULT_LOOKUP_KEY"):
        vault_from_config(config, tmp_path)
    assert not (tmp_path / "vault.json").exists()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("no-colon-here", "comma-separated list of id:key"),
        ("bad id:" + new_secret(), "comma-separated list of id:key"),
        ("k1:c2hvcnQ=", "must hold 32 random bytes"),
        ("k1:!!!notbase64!!!", "must hold 32 random bytes"),
        (f"k1:{new_secret()},k1:{new_secret()}", "same key id twice"),
    ],
)
def test_malformed_vault_keys_stop_start_up_with_a_clear_message(tmp_path, keys, message):
    config = {"STORE_VAULT_KEYS": keys, "STORE_VAULT_LOOKUP_KEY": new_secret()}
    with pytest.raises(ConfigurationError, match=message):
        vault_from_config(config, tmp_path)
