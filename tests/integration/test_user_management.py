"""Account management use cases: one active admin always remains, even under concurrency."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.accounts.management import LastAdmin, change_role, disable, enable, find_users
from store.accounts.models import Role, User
from store.audit.models import Actor, AuditEvent
from store.errors import NotFound
from store.extensions import db


@pytest.fixture
def two_admins(app, desk) -> tuple[int, int]:
    return desk.hire("ana@example.com", Role.ADMIN), desk.hire("luis@example.com", Role.ADMIN)


def _admins(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(User.email).where(User.role == Role.ADMIN, User.disabled_at.is_(None))))


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, two_admins, run_at_once,
                                                                  count):
    ana, luis = two_admins
    pairs = [(ana, luis), (luis, ana)]

    results = run_at_once(2, lambda i: change_role(
        Actor(f"admin-{i}", pairs[i][0]), pairs[i][1], Role.CUSTOMER, reason="race"))

    assert sorted(type(r).__name__ for r in results) == ["LastAdmin", "User"]
    assert len(_admins(app)) == 1
    assert count(AuditEvent, AuditEvent.action == "user.role_changed") == 1


def test_two_admins_disabling_each_other_at_once_leave_one_admin(app, two_admins, run_at_once):
    ana, luis = two_admins
    pairs = [(ana, luis), (luis, ana)]

    results = run_at_once(2, lambda i: disable(
        Actor(f"admin-{i}", pairs[i][0]), pairs[i][1], reason="race"))

    assert sorted(type(r).__name__ for r in results) == ["LastAdmin", "User"]
    assert len(_admins(app)) == 1


def test_a_disabled_admin_does_not_count_as_the_remaining_admin(app, app_context, two_admins):
    ana, luis = two_admins
    disable(Actor("ana@example.com", ana), luis, reason="on leave")

    with pytest.raises(LastAdmin):
        change_role(Actor("ana@example.com", ana), ana, Role.SUPPORT, reason="step down")

    assert db.session.get(User, ana).role == Role.ADMIN


def test_disabling_twice_writes_one_event_and_enabling_keeps_the_sessions_ended(
    app, app_context, two_admins, desk
):
    ana, _ = two_admins
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)
    actor = Actor("ana@example.com", ana)

    disable(actor, pedro, reason="fraud")
    disable(actor, pedro, reason="fraud again")
    user = enable(actor, pedro, reason="cleared")

    assert not user.is_disabled and user.auth_version == 2
    assert [e.action for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.subject_id == pedro).order_by(AuditEvent.id))
    ] == ["user.disabled", "user.enabled"]


def test_changing_an_unknown_account_is_not_found(app_context):
    with pytest.raises(NotFound):
        change_role(Actor("ana@example.com", 1), 12345, Role.ADMIN, reason="?")


def test_the_search_escapes_like_wildcards(app, app_context, desk):
    desk.hire("a_b@example.com", Role.CUSTOMER)
    desk.hire("axb@example.com", Role.CUSTOMER)

    assert [u.email for u in find_users(search="a_b").users] == ["a_b@example.com"]
    assert find_users(search="%").total == 0


def test_the_user_list_pages_link_back_and_forth(app, app_context, desk):
    for n in range(3):
        desk.hire(f"user{n}@example.com", Role.CUSTOMER)

    first, last = find_users(page=1, per_page=2), find_users(page=2, per_page=2)

    assert (first.pages, first.has_prev, first.has_next) == (2, False, True)
    assert (last.has_prev, last.has_next, len(last.users)) == (True, False, 1)
