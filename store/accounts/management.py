"""Managing accounts from the back office: find users, change a role, disable and enable.

Each change is one use case that writes an audit event with the admin who made it, the
reason and the values before and after. The store always keeps one active admin: a
change that would demote or disable the last one is refused, also when two admins try at
once (the active admins' rows are locked and counted under the lock).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from store.accounts.models import Role, User
from store.audit.models import Actor, record_change, values_of
from store.dbtypes import utcnow
from store.errors import NotFound, StoreError
from store.extensions import db
from store.pagination import Paginated
from store.unit_of_work import use_case

PER_PAGE = 25
MAX_SEARCH = 254
AUDITED = ("role", "disabled_at", "auth_version")


class LastAdmin(StoreError):
    """The change would leave the store without an active admin."""

    status = 409
    title = _l("The store needs at least one active admin: make another admin first.")


@dataclass(frozen=True)
class UserPage(Paginated):
    users: list[User]
    page: int
    per_page: int
    total: int


def find_users(*, search: str = "", role: Role | None = None, page: int = 1,
               per_page: int = PER_PAGE) -> UserPage:
    """One page of accounts whose email or name contains ``search``, newest first
    (two queries)."""
    query = select(User)
    text = search.strip().lower()[:MAX_SEARCH]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.email.like(pattern, escape="\\"),
                                func.lower(User.name).like(pattern, escape="\\")))
    if role is not None:
        query = query.where(User.role == role)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(page, 1), max(1, -(-total // per_page)))
    users = db.session.scalars(
        query.order_by(User.created_at.desc(), User.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return UserPage(list(users), page, per_page, total)


def get_user(user_id: int) -> User:
    """The account ``user_id``. Raises NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def change_role(actor: Actor, user_id: int, role: Role, *, reason: str) -> User:
    """Give the account ``role``. Raises NotFound or LastAdmin, changing nothing.

    One use case; audited as ``user.role_changed``.
    """
    with use_case() as uow:
        admins, user = _locked(user_id)
        before = values_of(user, *AUDITED)
        if user.role == Role.ADMIN and role != Role.ADMIN:
            _keep_another_admin(user, admins)
        user.role = role
        db.session.flush()
        record_change(actor=actor, action="user.role_changed", subject=user, before=before,
                      after=values_of(user, *AUDITED), reason=reason)
        uow.commit()
    return user


def disable(actor: Actor, user_id: int, *, reason: str) -> User:
    """Disable the account: it cannot sign in and its sessions end now (auth_version is
    raised). Raises NotFound or LastAdmin, changing nothing. One use case; audited.
    """
    with use_case() as uow:
        admins, user = _locked(user_id)
        if user.is_disabled:
            return user
        before = values_of(user, *AUDITED)
        if user.role == Role.ADMIN:
            _keep_another_admin(user, admins)
        user.disabled_at = utcnow()
        user.auth_version += 1
        db.session.flush()
        record_change(actor=actor, action="user.disabled", subject=user, before=before,
                      after=values_of(user, *AUDITED), reason=reason)
        uow.commit()
    return user


def enable(actor: Actor, user_id: int, *, reason: str) -> User:
    """Let a disabled account sign in again. Raises NotFound. One use case; audited."""
    with use_case() as uow:
        _, user = _locked(user_id)
        before = values_of(user, *AUDITED)
        user.disabled_at = None
        db.session.flush()
        record_change(actor=actor, action="user.enabled", subject=user, before=before,
                      after=values_of(user, *AUDITED), reason=reason)
        uow.commit()
    return user


def _locked(user_id: int) -> tuple[list[int], User]:
    """A step: lock the active admins' rows, then the account ``user_id``; return the
    admins' ids and the account. Raises NotFound.

    Every change of an account takes its locks in this order (the admins by id, then the
    account), so two admins demoting each other queue up instead of deadlocking, and the
    second one counts the admins the first one left.
    """
    admins = db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.disabled_at.is_(None))
        .order_by(User.id).with_for_update()).all()
    user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound()
    return list(admins), user


def _keep_another_admin(user: User, admins: list[int]) -> None:
    """A step: raise LastAdmin unless an active admin other than ``user`` remains."""
    if not set(admins) - {user.id}:
        raise LastAdmin()
