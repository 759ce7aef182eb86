"""flask-smorest fitted to the store: the OpenAPI document, request parsing and API errors.

``StoreApi`` only builds the document: the app's error handlers stay those of
store/errors.py (problem+json under /api/, with a ``code``), and errors are documented as
``application/problem+json``. ``ApiBlueprint`` parses request bodies with a 400 (not
webargs' 422) and turns a refused body into a problem listing each field's errors.
"""

from __future__ import annotations

import http

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from store.api.schemas import Problem
from store.errors import error_response, handle_http_error

PROBLEM_JSON = "application/problem+json"
MAX_BODY = 8 * 1024  # bytes; a larger request body gets a 413
TITLE = "Licence API"
VERSION = "1"


class StoreParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        """The JSON body; one nested too deep for the parser is invalid JSON like any other
        (a RecursionError is not a ValueError, so webargs would let it through as a 500)."""
        try:
            return super()._raw_load_json(req)
        except RecursionError as error:
            self._handle_invalid_json_error(error, req)


class ApiBlueprint(Blueprint):
    """A blueprint of the API: small JSON bodies, refused bodies as problem+json."""

    ARGUMENTS_PARSER = StoreParser()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(small_bodies)
        self.register_error_handler(HTTPException, api_http_error)


class StoreApi(Api):
    """The document builder; leaves error handling to the store."""

    ERROR_SCHEMA = Problem
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """The store's handlers answer errors (store/errors.py), not smorest's."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)


def small_bodies() -> None:
    """Refuse request bodies over MAX_BODY with a 413 (pages keep the app's limit)."""
    request.max_content_length = MAX_BODY


def api_http_error(error: HTTPException):
    """A body webargs refused becomes a 400 INVALID_REQUEST naming each field's problem."""
    data = getattr(error, "data", None) or {}
    if "messages" not in data:
        return handle_http_error(error)
    messages = data["messages"]
    if isinstance(messages, dict) and set(messages) == {"json"}:
        messages = messages["json"]  # where the fields came from: always the JSON body
    if not isinstance(messages, dict):  # "Invalid JSON body." and the like
        messages = {"_body": messages}
    return error_response(400, _l("The request is not valid"), code="INVALID_REQUEST",
                          errors=messages)


def problem(description: str) -> dict:
    """Options of ``bp.alt_response`` for an error answered as problem+json."""
    return {"schema": Problem, "content_type": PROBLEM_JSON, "description": description}


def configure(app: Flask) -> None:
    """Give flask-smorest the document's title, version and OpenAPI version."""
    app.config.setdefault("API_TITLE", TITLE)
    app.config.setdefault("API_VERSION", VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
