"""One shape for every use case: commit once when asked, roll back otherwise."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from store.catalogue.models import Product
from store.extensions import db
from store.unit_of_work import require_write, use_case
from tests.factories import make_product

pytestmark = pytest.mark.usefixtures("app_context")


def test_a_use_case_that_commits_keeps_its_changes(count):
    with use_case() as uow:
        make_product(slug="kept")
        uow.commit()

    db.session.remove()
    assert count(Product, Product.slug == "kept") == 1


def test_a_use_case_that_does_not_commit_is_rolled_back(count):
    with use_case():
        make_product(slug="forgotten")
        db.session.flush()

    assert count(Product) == 0


def test_an_exception_rolls_the_use_case_back_and_goes_on_to_the_caller(count):
    with pytest.raises(RuntimeError, match="payment service down"), use_case():
        make_product(slug="half-done")
        db.session.flush()
        raise RuntimeError("payment service down")

    assert count(Product) == 0


def test_a_caller_can_map_an_integrity_error_after_the_rollback(count):
    with use_case() as uow:
        make_product(slug="taken")
        uow.commit()

    with pytest.raises(IntegrityError), use_case() as uow:
        make_product(slug="taken")
        uow.commit()

    # The session is usable again at once: the caller can ask what the error meant.
    assert db.session.scalar(sa.select(Product.slug)) == "taken"
    assert count(Product) == 1


def test_changes_made_outside_a_use_case_are_refused_not_silently_dropped(count):
    make_product(slug="outside")

    with pytest.raises(RuntimeError, match="outside a use case"), use_case():
        pass

    db.session.commit()
    assert count(Product, Product.slug == "outside") == 1


def test_a_use_case_commits_once():
    with pytest.raises(RuntimeError, match="commits once"), use_case() as uow:
        uow.commit()
        uow.commit()


def test_use_cases_do_not_nest_and_the_outer_one_loses_nothing(count):
    with use_case() as outer:
        make_product(slug="outer")
        db.session.flush()
        with pytest.raises(RuntimeError, match="do not nest"), use_case():
            pass
        outer.commit()

    assert db.session.scalars(sa.select(Product.slug)).all() == ["outer"]


def test_flushed_changes_made_outside_a_use_case_are_refused_too(count):
    make_product(slug="flushed-outside")
    db.session.flush()

    with pytest.raises(RuntimeError, match="outside a use case"), use_case():
        pass

    db.session.commit()
    assert count(Product, Product.slug == "flushed-outside") == 1


def test_a_use_case_on_sqlite_holds_the_write_lock_from_its_first_read(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific: PostgreSQL serialises with row locks")
    db.session.scalar(sa.select(Product.id))  # a view read first: a plain transaction
    path = db.engine.url.database

    with use_case():
        db.session.scalar(sa.select(Product.id))
        require_write()  # a step inside the use case is satisfied
        # Another writer cannot start until this use case ends.
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")

    other.execute("BEGIN IMMEDIATE")  # free again once the use case is over
    other.execute("ROLLBACK")
    other.close()
