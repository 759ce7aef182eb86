"""Account use cases: register, verify the email, sign in, reset and change the password.

Links in account emails are signed (itsdangerous, with the app's secret key) and carry no
secret of their own: the outbox row holds the user's id, and the worker signs the link
when it renders the email. A reset link names the user's ``auth_version``, which a new
password raises, so each link works once, and for an hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.accounts.models import Role, User, normalise_email
from store.accounts.passwords import hash_password, password_matches, password_problem
from store.dbtypes import utcnow
from store.errors import InvalidInput, StoreError
from store.extensions import db
from store.mail.models import queue
from store.unit_of_work import use_case

ACCOUNT_VERIFICATION = "account_verification"
PASSWORD_RESET = "password_reset"
VERIFY_SALT, RESET_SALT = "account-verify-email", "account-reset-password"
VERIFY_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 3600
MAX_TOKEN_LENGTH = 500

login_manager = LoginManager()
login_manager.login_view = "accounts.sign_in"
login_manager.login_message = _l("Sign in to see this page.")
login_manager.login_message_category = "error"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session id "<id>:<auth version>"; None once the version moved on."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.auth_version != int(version) or user.is_disabled:
        return None
    return user


class EmailTaken(InvalidInput):
    title = _l("This email already has an account")


class WeakPassword(InvalidInput):
    title = _l("Choose another password")


class BadCredentials(StoreError):
    """The same refusal for an unknown email and a wrong password."""

    title = _l("The email or the password is not right.")


class AccountDisabled(StoreError):
    """The password was right, but an admin disabled the account."""

    status = 403
    title = _l("This account is disabled. Write to the store if you think this is a mistake.")


class InvalidLink(StoreError):
    title = _l("This link is not valid any more. Ask for a new one.")


@dataclass(frozen=True)
class NewAccount:
    email: str
    name: str
    password: str
    locale: str = "es"
    role: Role = Role.CUSTOMER


def _check_password(password: str, *, email: str, name: str) -> None:
    problem = password_problem(password, user_inputs=(email, name))
    if problem is not None:
        raise WeakPassword(problem)


def register(account: NewAccount, *, verified: bool = False) -> User:
    """Create an account and queue its verification email (unless ``verified``).

    Raises WeakPassword or EmailTaken, writing nothing. One use case.
    """
    email = normalise_email(account.email)
    _check_password(account.password, email=email, name=account.name)
    with use_case() as uow:
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise EmailTaken(_l("There is already an account for this email. Sign in, or "
                                "reset the password if you forgot it."))
        user = User(email=email, name=account.name.strip(), role=account.role,
                    password_hash=hash_password(account.password), locale=account.locale,
                    email_verified_at=utcnow() if verified else None)
        db.session.add(user)
        _flush_unless_taken()
        if not verified:
            queue(ACCOUNT_VERIFICATION, email, locale=account.locale, user_id=user.id)
        uow.commit()
    return user


def _flush_unless_taken() -> None:
    """Write the account; another request taking the same email first is EmailTaken."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise EmailTaken(_l("There is already an account for this email.")) from error


# A real hash to check against when the email is unknown, so both refusals take as long.
_DUMMY_HASH: list[str] = []


def authenticate(email: str, password: str) -> User:
    """The user with this email and password. Raises BadCredentials, the same for both,
    or AccountDisabled (only to whoever knows the password)."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password("not the password of anyone"))
        password_matches(_DUMMY_HASH[0], password)
        raise BadCredentials()
    if not password_matches(user.password_hash, password):
        raise BadCredentials()
    if user.is_disabled:
        raise AccountDisabled()
    return user


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def verification_token(user: User, email: str) -> str:
    """A link that verifies ``email`` (the address the message goes to) for ``user``."""
    return _serializer(VERIFY_SALT).dumps({"u": user.id, "e": email})


def reset_token(user: User, email: str) -> str:
    """A link to reset the password of ``user`` while the account's address is ``email``."""
    return _serializer(RESET_SALT).dumps({"u": user.id, "v": user.auth_version, "e": email})


def _load(token: str, salt: str, max_age: int) -> dict:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidLink()
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except BadData as error:
        raise InvalidLink() from error
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise InvalidLink()
    return data


def verify_email(token: str) -> User:
    """Mark the address in a verification link as verified. Raises InvalidLink."""
    data = _load(token, VERIFY_SALT, VERIFY_MAX_AGE)
    with use_case() as uow:
        user = db.session.get(User, data["u"])
        if user is None or user.email != data.get("e"):
            raise InvalidLink()  # the account's address changed since the link was sent
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        uow.commit()
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link when the address has an account; otherwise do nothing.

    The caller says the same thing either way, so nobody learns which addresses exist.
    """
    with use_case() as uow:
        user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is not None:
            # In the account's language, whoever asked.
            queue(PASSWORD_RESET, user.email, locale=user.locale, user_id=user.id)
        uow.commit()


def reset_password(token: str, password: str) -> User:
    """Set a new password from a reset link; the link, and every session, stop working.

    Raises InvalidLink (used, expired or forged), AccountDisabled or WeakPassword,
    changing nothing.
    """
    data = _load(token, RESET_SALT, RESET_MAX_AGE)
    with use_case() as uow:
        user = db.session.get(User, data["u"])
        # The link also dies when the account moved to another address since it was sent:
        # the mailbox it went to no longer speaks for the account.
        if user is None or user.auth_version != data.get("v") or user.email != data.get("e"):
            raise InvalidLink()
        if user.is_disabled:
            raise AccountDisabled()
        _set_password(user, password)
        # Whoever holds the link holds the mailbox: the address is verified too.
        user.email_verified_at = user.email_verified_at or utcnow()
        uow.commit()
    return user


def change_password(user_id: int, current: str, new: str) -> User:
    """Change the password after checking the current one; other sessions are signed out.

    Raises BadCredentials or WeakPassword, changing nothing.
    """
    with use_case() as uow:
        user = db.session.get(User, user_id)
        if not password_matches(user.password_hash, current):
            raise BadCredentials()
        _set_password(user, new)
        uow.commit()
    return user


def change_name(user_id: int, name: str) -> User:
    """Change the account's name. One use case."""
    with use_case() as uow:
        user = db.session.get(User, user_id)
        user.name = name.strip()
        uow.commit()
    return user


def change_email(user_id: int, new_email: str, password: str, *, locale: str) -> User:
    """Move the account to ``new_email``, unverified until its link is opened.

    Asks for the password (whoever borrows a signed-in phone cannot take the account), and
    sends the verification link to the new address. Guest orders of the new address show
    only once it is verified. Raises BadCredentials or EmailTaken, changing nothing.
    """
    email = normalise_email(new_email)
    with use_case() as uow:
        user = db.session.get(User, user_id)
        if not password_matches(user.password_hash, password):
            raise BadCredentials()
        if email != user.email:
            if db.session.scalar(select(User.id).where(User.email == email)) is not None:
                raise EmailTaken(_l("There is already an account for this email."))
            user.email, user.email_verified_at = email, None
            user.auth_version += 1  # other sessions and earlier reset links stop working
            _flush_unless_taken()
            queue(ACCOUNT_VERIFICATION, email, locale=locale, user_id=user.id)
        uow.commit()
    return user


def _set_password(user: User, password: str) -> None:
    _check_password(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    user.auth_version += 1


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))
