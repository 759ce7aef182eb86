"""Signed licence files through the licence API: the public keys, and a licence's file.

A program fetches /api/v1/signing-keys once, asks /api/v1/licences/file for its licence's
file, and verifies it offline; the tests verify each file with the published keys only.
"""

from __future__ import annotations

import json

import pytest

from store.extensions import db
from store.licensing.files import InvalidLicenceFile, verify_licence_file
from store.licensing.models import Licence, LicenceStatus
from store.signing import new_signing_seed
from tests.factories import issue_licence

FILE, KEYS = "/api/v1/licences/file", "/api/v1/signing-keys"
PROBLEM = "application/problem+json"


@pytest.fixture
def licence(app) -> tuple[str, int]:
    """A two-seat licence: (key, id)."""
    with app.app_context():
        return issue_licence(seats=2)


def published(client) -> list[dict]:
    response = client.get(KEYS)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()["keys"]


def test_a_program_gets_its_licence_file_and_verifies_it_with_the_published_keys(
    client, licence
):
    key, licence_id = licence
    typed = key.lower().replace("-", " ")  # as a customer may type it

    response = client.post(FILE, json={"key": typed})

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    document = response.get_json()
    signed = verify_licence_file(document, published(client))
    assert (signed["licence_id"], signed["seats"], signed["format"]) == (licence_id, 2, 1)
    assert signed["expires_at"].endswith("Z")
    assert key not in response.get_data(as_text=True)  # the file never carries the key


def test_a_file_from_the_api_fails_verification_once_edited(
    client, licence
):
    key, _ = licence
    document = client.post(FILE, json={"key": key}).get_json()

    document["licence"]["seats"] += 1  # what a customer editing the file would do

    with pytest.raises(InvalidLicenceFile, match="altered"):
        verify_licence_file(document, published(client))


def test_the_signing_keys_are_public_and_cacheable(client):
    response = client.get(KEYS)

    assert response.headers["Cache-Control"] == "public, max-age=3600"
    (key,) = response.get_json()["keys"]
    assert key["algorithm"] == "Ed25519" and key["key_id"] and len(key["public_key"]) == 43
    assert "Set-Cookie" not in response.headers


def test_after_a_rotation_both_keys_are_published_and_the_new_one_signs(make_app):
    old, new = f"old:{new_signing_seed()}", f"new:{new_signing_seed()}"
    app = make_app(STORE_SIGNING_KEYS=f"{new},{old}")
    with app.app_context():
        key, _ = issue_licence(seats=1)
    client = app.test_client()

    keys = published(client)
    signed = verify_licence_file(client.post(FILE, json={"key": key}).get_json(), keys)

    assert [k["key_id"] for k in keys] == ["new", "old"]
    assert signed["key_id"] == "new"


@pytest.mark.parametrize("status, code", [
    (LicenceStatus.REVOKED, "REVOKED"), (LicenceStatus.REFUNDED, "REFUNDED"),
])
def test_a_revoked_or_refunded_licence_gets_no_file_but_a_409_with_its_code(
    app, client, licence, status, code
):
    key, licence_id = licence
    with app.app_context():
        db.session.get(Licence, licence_id).status = status
        db.session.commit()

    response = client.post(FILE, json={"key": key})

    assert (response.status_code, response.mimetype) == (409, PROBLEM)
    assert response.get_json()["code"] == code


def test_an_unknown_key_is_a_404_and_a_typo_a_400(client, licence):
    key, _ = licence
    typo = ("0" if key[0] != "0" else "1") + key[1:]

    unknown = client.post(FILE, json={"key": "VENDOR-UNKNOWN-0001"})
    mistyped = client.post(FILE, json={"key": typo})

    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "NOT_FOUND")
    assert (mistyped.status_code, mistyped.get_json()["code"]) == (400, "INVALID_KEY")


@pytest.mark.parametrize("body", [
    {}, {"key": 5}, {"key": "x", "fingerprint": "y"}, [1], "no json",
], ids=["empty", "wrong-type", "unknown-field", "a-list", "not-json"])
def test_a_bad_body_is_a_400_invalid_request(client, licence, body):
    data = body if isinstance(body, str) else json.dumps(body)

    response = client.post(FILE, data=data, content_type="application/json")

    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    assert response.get_json()["code"] == "INVALID_REQUEST"
