"""The JSON API under /api/v1 (docs/api.md): licence checks and activations, for programs.

One flask-smorest blueprint, ``bp``, holds every route, so one OpenAPI 3.1 document
describes them all; it is built from the same marshmallow schemas that check requests
and is served at /api/v1/openapi.json. A module listed in ``ROUTE_MODULES`` adds routes
to ``bp`` when imported (as store/api/views.py does), before the blueprint is registered.

The API has no session: it is exempt from CSRF and its answers set no cookie. Errors are
``application/problem+json`` with a ``code`` (store/errors.py).
"""

from __future__ import annotations

import importlib

from flask import Flask, current_app, jsonify

from store.api.spec import ApiBlueprint, StoreApi, configure

bp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                  description="Licence checks, device activations and signed licence files.")

# Modules that attach routes to ``bp`` (each imported once, before registration).
ROUTE_MODULES = ("store.api.views", "store.api.files")


def _load_routes() -> None:
    for name in ROUTE_MODULES:
        importlib.import_module(name)


def openapi_document():
    """The API's OpenAPI 3.1 document (a route of the app, so not in the document)."""
    return jsonify(current_app.extensions["store_api"].spec.to_dict())


def init_app(app: Flask) -> None:
    """Attach the API's routes, exempt them from CSRF, and build the OpenAPI document."""
    from store.extensions import csrf

    _load_routes()
    configure(app)
    api = StoreApi(app)
    csrf.exempt(bp)
    api.register_blueprint(bp)
    app.extensions["store_api"] = api
    app.add_url_rule("/api/v1/openapi.json", "api_openapi", openapi_document, methods=["GET"])


def document() -> dict:
    """The OpenAPI document, built on a bare app (what the served one must equal)."""
    bare = Flask("openapi")
    _load_routes()
    configure(bare)
    api = StoreApi(bare)
    api.register_blueprint(bp)
    return api.spec.to_dict()
