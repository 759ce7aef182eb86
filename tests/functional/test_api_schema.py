"""The licence API against its own OpenAPI document, with schemathesis.

Schemathesis generates requests from the document (valid ones and ones that break it)
and checks every answer: never a 500, a documented status and content type, a body that
matches its schema, 405 with Allow for undocumented methods. The document is built once,
on a bare app (``store.api.document``); each example is sent to the test's own app, so
the eager ``schemathesis.openapi.from_dict`` is used (its pytest fixture loader fails on
pytest 9.2).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from store.api import document
from tests.factories import issue_licence

schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_api_never_fails_and_keeps_to_its_document(case, api_app, answered):
    app, key = api_app
    positive = case.meta is None or not case.meta.generation.mode.is_negative
    if positive and isinstance(case.body, dict) and "key" in case.body and len(
            repr(case.body)) % 2:
        # Half the valid bodies carry the real key, so the answers about a licence (200,
        # the seats filling up to 409, the file) are checked too, not only the refusals.
        case.body["key"] = key
    response = case.call_and_validate(app=app)
    answered.add((case.path, response.status_code))


@pytest.fixture(scope="module")
def answered():
    """(path, status) of every answer the fuzzing got; checked once it is done."""
    seen: set[tuple[str, int]] = set()
    yield seen
    reached = {answer for answer in seen if answer[1] in (200, 409)}
    assert {("/api/v1/licences/activate", 200), ("/api/v1/licences/activate", 409),
            ("/api/v1/licences/file", 200), ("/api/v1/licences/validate", 200)} <= reached


def test_the_served_document_is_the_one_tested(client):
    assert client.get("/api/v1/openapi.json").get_json() == document() == schema.raw_schema


def test_the_tested_document_covers_every_route_of_the_api(app):
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    assert routes - {"/api/v1/openapi.json"} == set(document()["paths"])


@pytest.fixture
def api_app(make_app):
    """An app with one two-seat licence, whose limits stay out of the way of the fuzzing:
    (the app, the licence's key)."""
    app = make_app(STORE_LIMIT_API_PER_ADDRESS="100000 per minute",
                   STORE_LIMIT_API_PER_KEY="100000 per minute")
    with app.app_context():
        key, _ = issue_licence(seats=2)
    return app, key
