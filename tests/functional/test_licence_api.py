"""The licence API through the test client: answers, refused bodies, limits, no cookies.

Every refusal is application/problem+json with a machine-readable ``code`` and changes
nothing in the database.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from store.dbtypes import utcnow
from store.extensions import db, limiter
from store.licensing import keys
from store.licensing.models import Activation, Licence
from tests.factories import issue_licence

VALIDATE, ACTIVATE, DEACTIVATE = (f"/api/v1/licences/{name}"
                                  for name in ("validate", "activate", "deactivate"))
PROBLEM = "application/problem+json"


@pytest.fixture
def licence(app) -> tuple[str, int]:
    """A two-seat licence with one device ("desk-pc") on it: (key, id)."""
    with app.app_context():
        key, licence_id = issue_licence(seats=2)
    assert app.test_client().post(ACTIVATE, json={"key": key, "fingerprint": "desk-pc"}).status_code == 200
    return key, licence_id


def seats(count, licence_id: int) -> int:
    return count(Activation, Activation.licence_id == licence_id)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == code and body["status"] == status and body["title"]
    return body


def typo(key: str) -> str:
    return keys.ALPHABET[(keys.ALPHABET.index(key[0]) + 1) % keys.BASE] + key[1:]


def test_validate_answers_a_usable_key_with_its_licence(client, licence):
    key, _ = licence

    response = client.post(VALIDATE, json={"key": key.lower()})

    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["valid"] is True and body["code"] == "VALID"
    assert (body["seats"], body["activations"]) == (2, 1)
    assert body["product"] and body["plan"] and body["expires_at"].endswith("+00:00")


def test_validate_with_a_fingerprint_says_whether_the_device_holds_a_seat(client, licence):
    key, _ = licence

    held = client.post(VALIDATE, json={"key": key, "fingerprint": "desk-pc"}).get_json()
    other = client.post(VALIDATE, json={"key": key, "fingerprint": "laptop"}).get_json()

    assert (held["valid"], held["code"]) == (True, "VALID")
    assert (other["valid"], other["code"]) == (False, "NOT_ACTIVATED")


def test_validate_answers_200_not_found_for_an_unknown_key(client, licence):
    response = client.post(VALIDATE, json={"key": "VENDOR-UNKNOWN-000001"})

    assert response.status_code == 200
    assert response.get_json() == {"valid": False, "code": "NOT_FOUND"}


def test_a_typo_in_a_store_key_is_a_400_invalid_key(client, licence):
    key, _ = licence

    body = assert_problem(client.post(VALIDATE, json={"key": typo(key)}), 400, "INVALID_KEY")

    assert "error" in body["detail"] or "typo" in body["detail"]


def test_activate_takes_a_seat_and_says_how_many_are_used(client, licence, count):
    key, licence_id = licence

    response = client.post(ACTIVATE, json={"key": key, "fingerprint": "laptop", "label": "Mi portátil"})

    assert response.status_code == 200
    assert response.get_json()["activations"] == 2 and response.get_json()["code"] == "VALID"
    assert seats(count, licence_id) == 2


def test_activate_beyond_the_seats_is_a_409_and_takes_nothing(client, licence, count):
    key, licence_id = licence
    client.post(ACTIVATE, json={"key": key, "fingerprint": "laptop"})

    response = client.post(ACTIVATE, json={"key": key, "fingerprint": "third"})

    assert_problem(response, 409, "TOO_MANY_ACTIVATIONS")
    assert seats(count, licence_id) == 2


def test_activate_an_expired_licence_is_a_409_expired(app, client, licence, count):
    key, licence_id = licence
    with app.app_context():
        db.session.execute(sa.update(Licence).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()

    assert_problem(client.post(ACTIVATE, json={"key": key, "fingerprint": "new"}), 409, "EXPIRED")
    assert client.post(VALIDATE, json={"key": key}).get_json()["code"] == "EXPIRED"
    assert seats(count, licence_id) == 1


def test_activate_and_deactivate_an_unknown_key_are_404(client, count):
    for path in (ACTIVATE, DEACTIVATE):
        response = client.post(path, json={"key": "VENDOR-UNKNOWN-000001", "fingerprint": "x"})
        assert_problem(response, 404, "NOT_FOUND")
    assert count(Activation) == 0


def test_deactivate_frees_the_seat_and_again_answers_released_false(client, licence, count):
    key, licence_id = licence

    first = client.post(DEACTIVATE, json={"key": key, "fingerprint": "desk-pc"})
    again = client.post(DEACTIVATE, json={"key": key, "fingerprint": "desk-pc"})

    assert first.status_code == again.status_code == 200
    assert (first.get_json()["released"], again.get_json()["released"]) == (True, False)
    assert first.get_json()["code"] == "NOT_ACTIVATED"
    assert seats(count, licence_id) == 0


BAD_BODIES = {
    "malformed JSON": ("{", "application/json"),
    "a list": ("[1]", "application/json"),
    "a string": ('"key"', "application/json"),
    "null": ("null", "application/json"),
    "wrong type": ('{"key": 12, "fingerprint": ["a"]}', "application/json"),
    "missing fields": ("{}", "application/json"),
    "unknown field": ('{"key": "K", "fingerprint": "desk-pc", "seats": 9}', "application/json"),
    "empty key": ('{"key": "", "fingerprint": "desk-pc"}', "application/json"),
    "NUL in the fingerprint": ('{"key": "K", "fingerprint": "desk\\u0000pc"}', "application/json"),
    "lone surrogate": ('{"key": "K\\ud800", "fingerprint": "desk-pc"}', "application/json"),
    "form body": ("key=K&fingerprint=desk-pc", "application/x-www-form-urlencoded"),
    "no body": ("", "application/json"),
    # 2 KB, under the size limit, and too deep for Python's JSON parser.
    "nested too deep": ("[" * 1000 + "]" * 1000, "application/json"),
    "a key nested too deep": ('{"key": ' + "[" * 1000 + "]" * 1000 + "}", "application/json"),
}


@pytest.mark.parametrize("path", [VALIDATE, ACTIVATE, DEACTIVATE, "/api/v1/licences/file"])
@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_a_bad_body_is_a_400_invalid_request_that_changes_nothing(client, licence, count, path, kind):
    key, licence_id = licence
    text, content_type = BAD_BODIES[kind]

    response = client.post(path, data=text.replace('"K"', json.dumps(key)), content_type=content_type)

    body = assert_problem(response, 400, "INVALID_REQUEST")
    assert isinstance(body["errors"], dict) and body["errors"]
    assert seats(count, licence_id) == 1


@pytest.mark.parametrize("path", [VALIDATE, ACTIVATE, DEACTIVATE])
def test_a_body_over_8_kb_is_a_413_that_changes_nothing(client, licence, count, path):
    key, licence_id = licence
    body = {"key": key, "fingerprint": "new-device", "label": "x" * 9000}

    assert_problem(client.post(path, json=body), 413, "REQUEST_TOO_LARGE")
    assert seats(count, licence_id) == 1


def test_a_label_with_a_control_character_is_refused(client, licence, count):
    key, licence_id = licence

    response = client.post(ACTIVATE, json={"key": key, "fingerprint": "new", "label": "a\x00b"})

    assert assert_problem(response, 400, "INVALID_REQUEST")["errors"] == {
        "label": ["Control characters are not allowed."]}
    assert seats(count, licence_id) == 1


def test_unknown_api_paths_and_methods_answer_problems_while_pages_keep_html(client):
    assert_problem(client.get("/api/v1/nothing"), 404, "NOT_FOUND")
    wrong_method = client.get(ACTIVATE)
    assert_problem(wrong_method, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in wrong_method.headers["Allow"]
    assert client.get("/nothing").mimetype == "text/html"


def test_api_answers_never_set_a_cookie_even_to_a_browser_with_a_session(client, licence):
    key, _ = licence
    client.post("/idioma", data={"language": "en", "next": "/"})  # the browser has a session
    assert client.get_cookie("session") is not None

    answers = [client.post(VALIDATE, json={"key": key}),
               client.post(ACTIVATE, json={"key": key, "fingerprint": "laptop"}),
               client.post(DEACTIVATE, json={"key": key, "fingerprint": "laptop"}),
               client.post(ACTIVATE, json=[1]), client.get("/api/v1/openapi.json"),
               client.get("/api/v1/nothing")]

    assert [a.headers.get("Set-Cookie") for a in answers] == [None] * len(answers)


def test_the_api_needs_no_csrf_token_when_the_store_checks_them(csrf_app, count):
    with csrf_app.app_context():
        key, licence_id = issue_licence(seats=1)

    response = csrf_app.test_client().post(ACTIVATE, json={"key": key, "fingerprint": "pc"})

    assert response.status_code == 200
    assert count(Activation, Activation.licence_id == licence_id) == 1


def test_the_openapi_document_describes_the_licence_routes_as_openapi_3_1(client):
    document = client.get("/api/v1/openapi.json").get_json()

    assert document["openapi"] == "3.1.0"
    assert {VALIDATE, ACTIVATE, DEACTIVATE} <= set(document["paths"])
    request = document["components"]["schemas"]["ActivateRequest"]
    assert request["additionalProperties"] is False
    assert set(request["required"]) == {"key", "fingerprint"}
    refusals = document["paths"][ACTIVATE]["post"]["responses"]
    assert set(refusals) == {"200", "400", "404", "409", "413", "429"}
    assert "application/problem+json" in refusals["409"]["content"]


def test_a_whole_run_logs_no_key_and_no_fingerprint(app, client, caplog):
    with app.app_context():
        key, _ = issue_licence(seats=1)
    caplog.set_level(logging.DEBUG)
    fingerprint = "fp-9f8e7d6c5b4a"

    client.post(VALIDATE, json={"key": key})
    client.post(ACTIVATE, json={"key": key, "fingerprint": fingerprint, "label": "PC"})
    client.post(ACTIVATE, json={"key": key, "fingerprint": "second-device"})  # 409
    client.post(VALIDATE, json={"key": key, "fingerprint": fingerprint})
    client.post(VALIDATE, json={"key": typo(key)})  # 400
    client.post(DEACTIVATE, json={"key": key, "fingerprint": fingerprint})

    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "took a seat" in logged  # the activation was logged, without the key
    symbols = key.replace("-", "")
    for secret in (key, symbols, symbols[:16], typo(key), fingerprint):
        assert secret not in logged and secret.lower() not in logged


# Limits: each test runs on memory and on Redis (CI requires Redis).

def test_the_limit_per_key_answers_429_rate_limited_while_other_keys_go_on(
    make_app, limits_storage, count
):
    app = make_app(STORE_LIMIT_API_PER_KEY="3 per minute", **limits_storage)
    client = app.test_client()
    with app.app_context():
        key, licence_id = issue_licence(seats=5)

    answers = [client.post(ACTIVATE, json={"key": key, "fingerprint": f"pc-{i}"}) for i in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert_problem(answers[-1], 429, "RATE_LIMITED")
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    assert count(Activation, Activation.licence_id == licence_id) == 3
    # The same key typed another way is the same key; another key is not limited.
    assert client.post(VALIDATE, json={"key": key.lower().replace("-", " ")}).status_code == 429
    assert client.post(VALIDATE, json={"key": "VENDOR-OTHER-0001"}).status_code == 200
    with app.app_context():
        limiter.reset()
    assert client.post(VALIDATE, json={"key": key}).status_code == 200


def test_the_limit_per_address_counts_every_route_whatever_the_key(make_app, limits_storage):
    app = make_app(STORE_LIMIT_API_PER_ADDRESS="4 per minute", **limits_storage)
    client, other = app.test_client(), app.test_client()

    statuses = [client.post(path, json={"key": f"VENDOR-KEY-{i:04d}", "fingerprint": "pc"}).status_code
                for i, path in enumerate([VALIDATE, ACTIVATE, DEACTIVATE, VALIDATE, VALIDATE])]
    elsewhere = other.post(VALIDATE, json={"key": "VENDOR-KEY-9999"},
                           environ_base={"REMOTE_ADDR": "10.0.0.9"})

    assert statuses == [200, 404, 404, 200, 429]
    assert elsewhere.status_code == 200


def test_the_limiter_storage_holds_no_key(make_app, redis_url):
    import redis

    prefix = f"store-test-api-keys-{uuid.uuid4().hex}"
    app = make_app(STORE_REDIS_URL=redis_url, STORE_REDIS_PREFIX=prefix)
    with app.app_context():
        key, _ = issue_licence(seats=1)
    app.test_client().post(VALIDATE, json={"key": key})

    stored = [name.decode() for name in redis.Redis.from_url(redis_url).keys(f"{prefix}*")]
    assert any("licence-key" in name for name in stored), stored
    assert not any(key.replace("-", "") in name.upper().replace("-", "") for name in stored)
