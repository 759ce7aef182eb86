"""The licence store: ``create_app`` builds a configured Flask application."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, has_request_context, request

from store.config import LOCALES, load_config
from store.errors import register_errorhandlers
from store.extensions import babel, configure_sqlite, csrf, db, migrate
from store.ratelimit import register_rate_limits
from store.resources import default_instance_path, resource_dir
from store.signing import signer_from_config
from store.static_files import register_static_files
from store.urls import MAX_REDIRECT_LENGTH, RowIdConverter
from store.vault import vault_from_config

# The store's areas, each a package with init_app(app): its tables, routes, email kinds
# and payment providers. Lower areas first; see docs/architecture.md for the layers.
AREAS = ("audit", "mail", "catalogue", "licensing", "orders", "payments", "cart", "accounts",
         "api", "staff", "checkout", "site", "renewals", "admin", "support")

# What the browser may load: this site only. Pages need no script and no other host.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the store. ``config`` overrides what the environment sets (tests use it).

    Raises ConfigurationError when the configuration is unsafe (see store.config).
    """
    config = dict(config or {})
    environ = dict(os.environ)
    environ.update({k: str(v) for k, v in config.items() if k.startswith("STORE_")})
    app = Flask(
        __name__,
        instance_path=environ.get("STORE_INSTANCE_PATH") or default_instance_path(),
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    # The SQLite database, secret key and mail files live here; create it up front.
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(environ, Path(app.instance_path)))
    app.config.update({k: v for k, v in config.items() if not k.startswith("STORE_")})

    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    register_extensions(app)
    register_rate_limits(app)
    register_areas(app)
    register_errorhandlers(app)
    register_templating(app)
    register_static_files(app)
    register_commands(app)
    register_request_guards(app)
    register_security_headers(app)
    return app


def register_extensions(app: Flask) -> None:
    from store.dbtypes import render_item
    from store.i18n import select_locale

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
    app.extensions["store_vault"] = vault_from_config(app.config, Path(app.instance_path))
    app.extensions["store_signer"] = signer_from_config(app.config, Path(app.instance_path))
    migrate.init_app(app, db, directory=str(resource_dir("migrations")), render_item=render_item)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)


def register_areas(app: Flask) -> None:
    """Let each area load its tables (for Alembic too), attach its routes and register
    its email kinds and payment providers."""
    for name in AREAS:
        importlib.import_module(f"store.{name}").init_app(app)


def register_templating(app: Flask) -> None:
    from flask_babel import get_locale

    from store.i18n import devices_filter, duration_filter, line_title, money_filter

    app.jinja_env.filters.update(money=money_filter, duration=duration_filter, devices=devices_filter)
    app.jinja_env.globals["line_title"] = line_title

    @app.context_processor
    def store_globals() -> dict[str, Any]:
        locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
        catalogue_locale = current_app.config["STORE_CATALOGUE_LOCALE"]
        return {
            "store_name": current_app.config["STORE_NAME"],
            "contact": _contact(),
            "current_locale": locale,
            # Product texts are written in one language; say so when the page is in another.
            "catalogue_lang": "" if catalogue_locale == locale else catalogue_locale,
            "return_path": _return_path(),
            "cart_count": _cart_count(),
            "locales": LOCALES,
        }


def _contact() -> dict[str, str]:
    config = current_app.config
    return {
        "email": config["STORE_CONTACT_EMAIL"], "phone": config["STORE_CONTACT_PHONE"],
        "hours": config["STORE_CONTACT_HOURS"], "address": config["STORE_ADDRESS"],
        "support_email": config["STORE_SUPPORT_EMAIL"],
        "support_url": config["STORE_SUPPORT_URL"] or "",
    }


def _cart_count() -> int:
    from store.cart.services import item_count
    from store.visitor import current_cart

    return item_count(current_cart()) if has_request_context() else 0


def _return_path() -> str:
    """This page's path and query, for forms that come back here (kept short)."""
    if not has_request_context():  # an email being rendered by a worker
        return "/"
    path = request.full_path.rstrip("?")
    return path if len(path) <= MAX_REDIRECT_LENGTH else request.path[:MAX_REDIRECT_LENGTH]


def register_commands(app: Flask) -> None:
    from store.cli import store_cli

    app.cli.add_command(store_cli)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def register_request_guards(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        """No path or posted field takes a NUL (PostgreSQL cannot store one): a clear 400.

        Query strings are left to the pages that read them (the search drops control
        characters and still shows results).
        """
        values = [request.path]
        if request.mimetype in FORM_TYPES:
            values.extend(request.form.values())
        if any("\x00" in value for value in values):
            abort(400)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def set_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Pages are translated from the session cookie or Accept-Language. A static file
        # is the same for everyone: varying it by cookie would make browsers fetch it
        # again whenever the session changes (its error page is translated, so it varies).
        if request.endpoint != "static" or response.status_code >= 400:
            response.vary.update(("Accept-Language", "Cookie"))
        return response
