"""The StoreError hierarchy and the handlers that turn errors into pages or JSON problems.

Pages get the site's layout in the visitor's language; paths under ``/api/`` get
``application/problem+json`` (RFC 9457) so programs never have to parse HTML.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class StoreError(Exception):
    """A rule of the store refused an action; carries the status and a message for the user."""

    status: int = 400
    title = _l("The request could not be completed")
    # Machine-readable name of the outcome in problem+json answers; None: named by the status.
    code: str | None = None

    def __init__(self, detail: object | None = None) -> None:
        # Keep ``detail`` lazy: it is translated when shown, in the reader's language.
        super().__init__(detail if detail is not None else self.__class__.__name__)
        self.detail = detail


class InvalidInput(StoreError):
    """Input was malformed or out of range."""

    title = _l("Some of the data is not valid")


class NotFound(StoreError):
    """The thing asked for does not exist or is not on sale."""

    status = 404
    title = _l("Page not found")


class Forbidden(StoreError):
    """The visitor may not see or do this."""

    status = 403
    title = _l("Access denied")


# Titles and explanations for the HTTP errors the site can show.
HTTP_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    403: (_l("Access denied"), _l("You do not have permission to see this page.")),
    404: (
        _l("Page not found"),
        _l("We could not find that page. It may have moved, or the address may be wrong."),
    ),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Request too large"), _l("What you sent is too large.")),
    429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error stopped this page. Please try again in a few minutes."),
    ),
    503: (_l("Service unavailable"), _l("The store is briefly unavailable. Please try again soon.")),
}


# The ``code`` of a problem+json answer when the error names none of its own.
STATUS_CODES = {
    400: "BAD_REQUEST", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT", 413: "REQUEST_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED", 500: "INTERNAL_ERROR", 503: "SERVICE_UNAVAILABLE",
}


def _wants_problem_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(
    status: int, title: object, detail: object | None = None, *, code: str | None = None,
    errors: dict | None = None,
) -> Response:
    """Render an error as a problem+json document or an HTML page in the site's layout.

    Under /api/ the document carries ``code`` (by default named after the status) and,
    for invalid requests, ``errors``: field name -> messages.
    """
    if _wants_problem_json():
        body = {"type": "about:blank", "title": str(title), "status": status,
                "code": code or STATUS_CODES.get(status, f"HTTP_{status}")}
        if detail is not None:
            body["detail"] = str(detail)
        if errors:
            body["errors"] = errors
        response = jsonify(body)
        response.status_code = status
        response.mimetype = "application/problem+json"
        return response
    html = render_template("errors/error.html", status=status, title=title, detail=detail)
    return make_response(html, status)


def handle_store_error(error: StoreError):
    return error_response(error.status, error.title, error.detail, code=error.code)


def handle_http_error(error: HTTPException):
    status = error.code or 500
    title, detail = HTTP_MESSAGES.get(status, (StoreError.title, None))
    response = error_response(status, title, detail)
    for key, value in error.get_headers():
        if key == "Allow":  # 405 must say which methods are allowed
            response.headers[key] = value
    return response


def handle_internal_error(error: InternalServerError):
    # The original exception was already logged by Flask; only render the page here.
    title, detail = HTTP_MESSAGES[500]
    return error_response(500, title, detail)


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(StoreError, handle_store_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
    app.register_error_handler(HTTPException, handle_http_error)
