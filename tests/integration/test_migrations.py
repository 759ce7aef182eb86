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


# Autogenerate does not compare CHECK constraints, so prove the migrated ones hold.
REFUSED_PLANS = [
    "price_minor = -1",
    "seats = 0",
    "duration_days = 0",
    "currency = 'USD'",
    "fulfilment = 'magic'",
]


def assert_check_constraints_hold(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO product (id, slug, name, summary, description, platform, audience,"
            " is_active, is_featured, sort_order, search_text, created_at, updated_at)"
            " VALUES (1, 'p', 'P', 'S', '', 'windows', 'home', true, false, 0, '',"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ))
    for change in REFUSED_PLANS:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(_plan_insert(change)))
    with engine.begin() as conn:
        conn.execute(sa.text(_plan_insert("sku = 'VALID'")))  # the same row, valid, goes in
        # Plans written before 0005 (or by hand) are not recommended.
        assert conn.execute(sa.text("SELECT is_recommended FROM plan")).scalar_one() in (0, False)
        conn.execute(sa.text("DELETE FROM plan"))
        conn.execute(sa.text("DELETE FROM product"))


def _plan_insert(change: str) -> str:
    column, value = (part.strip() for part in change.split("="))
    values = {
        "product_id": "1", "name": "'x'", "sku": "'X'", "duration_days": "365", "seats": "1",
        "price_minor": "5000", "currency": "'CUP'", "fulfilment": "'generated'",
        "kind": "'new'", "is_active": "true", "sort_order": "0",
        "created_at": "CURRENT_TIMESTAMP", "updated_at": "CURRENT_TIMESTAMP",
    }
    values[column] = value
    return f"INSERT INTO plan ({', '.join(values)}) VALUES ({', '.join(values.values())})"


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
        assert_check_constraints_hold(db.engine)

        flask_migrate.downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_upgrade_from_empty_matches_the_models_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    assert_upgrade_builds_the_models_schema_and_downgrade_removes_it(url, tmp_path)


@pytest.mark.postgres
def test_upgrade_from_empty_matches_the_models_on_postgresql(empty_pg_url, tmp_path):
    assert_upgrade_builds_the_models_schema_and_downgrade_removes_it(empty_pg_url, tmp_path)
