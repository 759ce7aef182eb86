"""Alembic migrations build the schema from nothing, and agree with the models."""

from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store import create_app
from store.extensions import db
from tests.conftest import config_for_tests


@pytest.fixture
def empty_pg_url(pg_url):
    """A brand-new PostgreSQL database beside the test one, dropped afterwards."""
    url = sa.make_url(pg_url)
    name = f"{url.database}_migrations"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")

    def recreate(create: bool) -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    recreate(create=True)
    yield url.set(database=name).render_as_string(hide_password=False)
    recreate(create=False)
    admin.dispose()


def assert_upgrade_builds_the_models_schema_and_downgrade_removes_it(url, instance_path):
    app = create_app(config_for_tests(instance_path, url))
    with app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []

        flask_migrate.upgrade()

        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"product", "plan", "alembic_version"} <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []

        flask_migrate.downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_upgrade_from_empty_matches_the_models_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    assert_upgrade_builds_the_models_schema_and_downgrade_removes_it(url, tmp_path)


@pytest.mark.postgres
def test_upgrade_from_empty_matches_the_models_on_postgresql(empty_pg_url, tmp_path):
    assert_upgrade_builds_the_models_schema_and_downgrade_removes_it(empty_pg_url, tmp_path)
