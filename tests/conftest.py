"""Shared fixtures: a fresh app and database per test, on SQLite or PostgreSQL.

SQLite (the default) gets a new file per test. With STORE_TEST_DATABASE_URL the suite
runs on that PostgreSQL database instead: the schema is created once and every table
is emptied after each test. STORE_REQUIRE_PG=1 turns "skipped: no PostgreSQL" into a
failure, so CI cannot pass without running the PostgreSQL tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from store import create_app
from store.extensions import db

PG_URL = os.environ.get("STORE_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("STORE_REQUIRE_PG") == "1"
# Variables the test run itself reads; every other STORE_* is cleared for each test.
TEST_RUN_VARIABLES = {"STORE_TEST_DATABASE_URL", "STORE_REQUIRE_PG", "STORE_REQUIRE_BROWSER"}


def pytest_report_header(config) -> str:
    return f"store database: {PG_URL or 'SQLite, one file per test'}"


def config_for_tests(instance_path, database_url: str, **overrides) -> dict:
    """The configuration every test app starts from."""
    config = {
        "STORE_ENV": "testing",
        "STORE_DATABASE_URL": database_url,
        "STORE_SECRET_KEY": "test-secret-key",
        "STORE_INSTANCE_PATH": str(instance_path),
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    return config


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("STORE_") and name not in TEST_RUN_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL URL of the test run; skips (or fails under STORE_REQUIRE_PG=1) without it."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("STORE_REQUIRE_PG=1 but STORE_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL not configured (set STORE_TEST_DATABASE_URL)")
    return PG_URL


@pytest.fixture(scope="session")
def _pg_schema(tmp_path_factory) -> None:
    """Create the schema once per run on the PostgreSQL test database."""
    if not PG_URL:
        return
    app = create_app(config_for_tests(tmp_path_factory.mktemp("pg-schema"), PG_URL))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.drop_all()
        db.create_all()
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(tmp_path, _pg_schema) -> str:
    return PG_URL or f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
def make_app(tmp_path, database_url) -> Iterator:
    """Build apps on the test database: ``make_app(STORE_NAME="x")``."""
    apps: list[Flask] = []

    def factory(**overrides) -> Flask:
        app = create_app(config_for_tests(tmp_path / "instance", database_url, **overrides))
        apps.append(app)
        if not PG_URL:
            with app.app_context():
                db.create_all()
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            if PG_URL and app is apps[0]:
                _empty_all_tables()
            db.engine.dispose()


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_context(app):
    """For integration tests that call services directly (never hold it around requests)."""
    with app.app_context():
        yield


class QueryCounter:
    """Counts the SQL statements an engine runs while active."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` then ``counter.count``."""

    def start() -> QueryCounter:
        with app.app_context():
            return QueryCounter(db.engine)

    return start
