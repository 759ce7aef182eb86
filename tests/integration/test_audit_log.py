"""The audit log is append only, and its query filters by actor, action, subject and date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from store.audit.models import Actor, AppendOnly, AuditEvent, record, record_change
from store.audit.services import AuditFilter, readable, search_events
from store.extensions import db
from tests.factories import make_product

pytestmark = pytest.mark.usefixtures("app_context")


def _event(**fields) -> AuditEvent:
    values = {"actor": "ana@example.com", "actor_id": 1, "action": "user.disabled",
              "subject_type": "user_account", "subject_id": 7, "reason": "why",
              "details": {}, "created_at": datetime(2026, 11, 20, 12, tzinfo=UTC)}
    values.update(fields)
    event = AuditEvent(**values)
    db.session.add(event)
    return event


@pytest.fixture
def written() -> int:
    event = _event(reason="original")
    db.session.commit()
    return event.id


def _unchanged(event_id: int) -> None:
    db.session.rollback()
    db.session.expire_all()
    row = db.session.execute(
        sa.text("SELECT reason, action FROM audit_event WHERE id = :id"), {"id": event_id}).one()
    assert tuple(row) == ("original", "user.disabled")


def test_changing_a_loaded_event_is_refused_and_the_row_is_unchanged(written):
    event = db.session.get(AuditEvent, written)
    event.reason = "rewritten"

    with pytest.raises(AppendOnly):
        db.session.commit()

    _unchanged(written)


def test_deleting_a_loaded_event_is_refused_and_the_row_stays(written):
    db.session.delete(db.session.get(AuditEvent, written))

    with pytest.raises(AppendOnly):
        db.session.commit()

    _unchanged(written)


@pytest.mark.parametrize("statement", [
    sa.update(AuditEvent).values(reason="rewritten"),
    sa.delete(AuditEvent),
    sa.update(AuditEvent).where(AuditEvent.id > 0).values(action="x"),
], ids=["bulk update", "bulk delete", "bulk update with where"])
def test_bulk_updates_and_deletes_through_the_session_are_refused(written, statement):
    with pytest.raises(AppendOnly):
        db.session.execute(statement)

    _unchanged(written)


@pytest.mark.parametrize("sql", [
    "UPDATE audit_event SET reason = 'rewritten'",
    "DELETE FROM audit_event",
], ids=["raw update", "raw delete"])
def test_the_database_refuses_raw_sql_updates_and_deletes(written, sql):
    """The triggers (SQLite here, PostgreSQL under STORE_TEST_DATABASE_URL) refuse them."""
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text(sql))

    _unchanged(written)


def test_the_filters_pick_by_actor_action_subject_and_utc_day_newest_first():
    day = lambda d, h=12: datetime(2026, 11, d, h, tzinfo=UTC)  # noqa: E731
    _event(actor="ana@example.com", action="user.disabled", created_at=day(10))
    _event(actor="ANA@example.com", action="user.role_changed", created_at=day(12))
    _event(actor="luis@example.com", action="staff.second_factor_reset", created_at=day(15))
    _event(actor="luis@example.com", action="plan.price_changed", subject_type="plan",
           subject_id=3, created_at=day(16, 23))
    _event(actor="system", action="user_x", created_at=day(17))
    db.session.commit()

    def actions(**wanted) -> list[str]:
        return [e.action for e in search_events(AuditFilter(**wanted)).events]

    assert actions(actor="ana@example.com") == ["user.role_changed", "user.disabled"]
    assert actions(action="user.") == ["user.role_changed", "user.disabled"]  # not user_x
    assert actions(action="user.disabled") == ["user.disabled"]
    assert actions(action="user") == []  # exact unless it ends with a dot
    assert actions(subject_type="plan", subject_id=3) == ["plan.price_changed"]
    assert actions(subject_type="user_account", subject_id=99) == []
    assert actions(since=date(2026, 11, 12), until=date(2026, 11, 16)) == [
        "plan.price_changed", "staff.second_factor_reset", "user.role_changed"]
    assert actions() == ["user_x", "plan.price_changed", "staff.second_factor_reset",
                         "user.role_changed", "user.disabled"]


def test_the_log_is_paginated():
    for i in range(7):
        _event(subject_id=i, created_at=datetime(2026, 11, 1 + i, tzinfo=UTC))
    db.session.commit()

    first = search_events(AuditFilter(), page=1, per_page=3)
    last = search_events(AuditFilter(), page=3, per_page=3)
    beyond = search_events(AuditFilter(), page=99, per_page=3)

    assert (first.pages, first.total) == (3, 7)
    assert (first.has_prev, first.has_next, last.has_prev, last.has_next) == (
        False, True, True, False)  # the pagination macro links with these
    assert [e.subject_id for e in first.events] == [6, 5, 4]
    assert [e.subject_id for e in last.events] == [0]
    assert beyond.page == 3


def test_record_change_details_read_as_field_old_new():
    product = make_product()
    db.session.flush()
    event = record_change(actor=Actor("ana@example.com", 1), action="product.changed",
                          subject=product, before={"name": "A", "is_active": True},
                          after={"name": "B", "is_active": True}, reason="typo")
    plain = record(actor="system", action="order.note", subject=product, reason="", note="hi")

    assert [(c.field, c.before, c.after) for c in readable(event).changes] == [("name", "A", "B")]
    assert readable(event).other == []
    assert readable(plain).changes == [] and readable(plain).other == [("note", "hi")]


def test_the_migrated_schema_refuses_raw_updates_and_deletes_too(tmp_path):
    """Migration 0011 writes the same triggers as the models' schema."""
    import flask_migrate

    from store import create_app
    from tests.conftest import config_for_tests

    app = create_app(config_for_tests(tmp_path, f"sqlite:///{tmp_path / 'migrated.sqlite3'}"))
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO audit_event (actor, action, subject_type, subject_id, reason,"
                " details, created_at) VALUES ('a', 'user.disabled', 'user_account', 1,"
                " 'original', '{}', CURRENT_TIMESTAMP)"))
        for sql in ("UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(sa.text(sql))
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT reason FROM audit_event")).scalar_one() == "original"
        flask_migrate.downgrade(revision="0007")
        with db.engine.begin() as conn:  # the triggers went with the downgrade
            conn.execute(sa.text("DELETE FROM audit_event"))
        db.engine.dispose()
