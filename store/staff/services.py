"""Second-factor use cases: enrol a TOTP app, check a code, use a recovery code.

The TOTP secret is made when the enrolment page first opens and waits, sealed by the
vault, in the staff member's session (``pending_secret_token``) until the first code
confirms it: only then is it written, sealed, with ten recovery codes. Recovery codes are
shown once and kept as the vault's keyed lookup hash, so a stolen database gives neither
the secrets nor the codes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from store.accounts.models import Role, User
from store.audit.models import Actor, record
from store.dbtypes import utcnow
from store.errors import StoreError
from store.extensions import db
from store.staff.models import RecoveryCode, SecondFactor
from store.unit_of_work import use_case
from store.vault import VaultError, get_vault, lookup_form, reveal, seal_into

STAFF_ROLES = (Role.SUPPORT, Role.ADMIN)
RECOVERY_CODES = 10
# 12 symbols from 30 without look-alikes (no 0/O, 1/I/L, U): about 59 bits each.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_GROUPS, RECOVERY_GROUP_LENGTH = 3, 4
# A code of the step before or after the server's is accepted: phone clocks drift.
VALID_WINDOW = 1
TOTP_DIGITS = 6


class WrongCode(StoreError):
    title = _l("That code is not right. Check the time on your phone and try the current code.")


class CodeAlreadyUsed(WrongCode):
    title = _l("That code was already used. Wait for the next one and enter it.")


class AlreadyEnrolled(StoreError):
    title = _l("Your second factor is already set up. Enter a code from your app.")


class NotEnrolled(StoreError):
    title = _l("Set up your second factor first.")


@dataclass(frozen=True)
class Verified:
    """A code was accepted; ``recovery_codes_left`` tells whether to warn the user."""

    used_recovery_code: bool
    recovery_codes_left: int


def new_secret() -> str:
    """A fresh TOTP secret: 160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, email: str, issuer: str) -> str:
    """The otpauth:// address the QR code carries."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def pending_secret_token(secret: str) -> str:
    """Seal a secret not yet confirmed, to wait in the session (never in plain text)."""
    sealed = get_vault().seal(secret)
    raw = sealed.key_id.encode() + b":" + sealed.lookup_hash.encode() + b":" + sealed.ciphertext
    return base64.urlsafe_b64encode(raw).decode("ascii")


def pending_secret(token: object) -> str | None:
    """The secret sealed by ``pending_secret_token``; None when missing or not ours."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        key_id, lookup, ciphertext = base64.urlsafe_b64decode(token).split(b":", 2)
        return get_vault().open(ciphertext, key_id.decode(), lookup.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError, VaultError):
        return None


def is_enrolled(user_id: int) -> bool:
    return db.session.scalar(
        select(SecondFactor.id).where(SecondFactor.user_id == user_id)) is not None


def enrol(user_id: int, secret: str, code: str, *, now: datetime | None = None) -> list[str]:
    """Keep ``secret`` as the user's second factor once ``code`` proves the app has it.

    Returns the ten recovery codes, in plain text for the only time. Raises WrongCode,
    AlreadyEnrolled or NotEnrolled (not staff), writing nothing. One use case.
    """
    now = now or utcnow()
    step = _accepted_step(secret, code, after=None, now=now)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    try:
        with use_case() as uow:
            user = db.session.get(User, user_id)
            if user is None or user.role not in STAFF_ROLES:
                raise NotEnrolled()
            if is_enrolled(user_id):
                raise AlreadyEnrolled()
            factor = SecondFactor(user_id=user_id, confirmed_at=now, last_used_step=step)
            db.session.add(seal_into(factor, secret))
            _replace_recovery_codes(user_id, codes)
            db.session.flush()
            record(actor=user.email, actor_id=user.id, action="staff.second_factor_enrolled",
                   subject=user, reason="first staff sign-in")
            uow.commit()
    except IntegrityError:  # a second tab enrolled at the same moment
        raise AlreadyEnrolled() from None
    return codes


def reset_second_factor(actor: Actor, user_id: int, *, reason: str) -> User:
    """Remove a staff member's second factor and recovery codes (a lost phone): their
    sessions end, and their next sign-in sets up a new app.

    Raises NotEnrolled (not staff, or nothing set up), changing nothing. One use case;
    audited as ``staff.second_factor_reset``.
    """
    with use_case() as uow:
        user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
        if user is None or user.role not in STAFF_ROLES or not is_enrolled(user_id):
            raise NotEnrolled(_l("This account has no second factor to reset."))
        db.session.execute(delete(SecondFactor).where(SecondFactor.user_id == user_id))
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        user.auth_version += 1
        db.session.flush()
        record(actor=actor, action="staff.second_factor_reset", subject=user, reason=reason,
               changes={"second_factor": ["enrolled", "removed"]})
        uow.commit()
    return user


def regenerate_recovery_codes(user_id: int, code: str, *,
                              now: datetime | None = None) -> list[str]:
    """Replace the staff member's recovery codes with ten new ones, shown once; the old
    ones stop working. ``code`` must be a TOTP code newer than the last one accepted (a
    recovery code will not do): a stolen session alone cannot mint codes.

    Raises WrongCode, CodeAlreadyUsed or NotEnrolled, changing nothing. One use case;
    audited. The second factor's row is locked, so one code cannot pass twice.
    """
    now = now or utcnow()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    with use_case() as uow:
        factor = db.session.scalar(
            select(SecondFactor).where(SecondFactor.user_id == user_id).with_for_update())
        if factor is None:
            raise NotEnrolled()
        factor.last_used_step = _accepted_step(
            reveal(factor), code, after=factor.last_used_step, now=now)
        left = _recovery_codes_left(user_id)
        _replace_recovery_codes(user_id, codes)
        user = db.session.get(User, user_id)
        record(actor=user.email, actor_id=user.id, action="staff.recovery_codes_regenerated",
               subject=user, reason="new recovery codes asked for",
               changes={"recovery_codes_left": [left, RECOVERY_CODES]})
        uow.commit()
    return codes


def verify(user_id: int, code: str, *, now: datetime | None = None) -> Verified:
    """Accept a TOTP code newer than the last one accepted, or an unused recovery code.

    Raises WrongCode, CodeAlreadyUsed or NotEnrolled, changing nothing. One use case:
    the second factor's row is locked, so two requests with one code cannot both pass.
    """
    now = now or utcnow()
    with use_case() as uow:
        factor = db.session.scalar(
            select(SecondFactor).where(SecondFactor.user_id == user_id).with_for_update())
        if factor is None:
            raise NotEnrolled()
        typed = lookup_form(code)
        if _looks_like_totp(typed):
            factor.last_used_step = _accepted_step(
                reveal(factor), typed, after=factor.last_used_step, now=now)
        else:
            _use_recovery_code(factor.user_id, typed, now=now)
            user = db.session.get(User, user_id)
            record(actor=user.email, actor_id=user.id, action="staff.recovery_code_used",
                   subject=user, reason="second factor with a recovery code")
        left = _recovery_codes_left(user_id)
        uow.commit()
    return Verified(used_recovery_code=not _looks_like_totp(typed), recovery_codes_left=left)


def _accepted_step(secret: str, code: str, *, after: int | None, now: datetime) -> int:
    """The time step whose code is ``code`` (within the window). Raises WrongCode, or
    CodeAlreadyUsed when that step is not later than ``after``."""
    typed = lookup_form(code)
    if not _looks_like_totp(typed):
        raise WrongCode()
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            if after is not None and step <= after:
                raise CodeAlreadyUsed()
            return step
    raise WrongCode()


def _new_recovery_code() -> str:
    symbols = "".join(secrets.choice(RECOVERY_ALPHABET)
                      for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH))
    return "-".join(symbols[i:i + RECOVERY_GROUP_LENGTH]
                    for i in range(0, len(symbols), RECOVERY_GROUP_LENGTH))


def _replace_recovery_codes(user_id: int, codes: list[str]) -> None:
    """A step: the user's old codes go, these take their place (hashed)."""
    vault = get_vault()
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    db.session.add_all(RecoveryCode(user_id=user_id, code_hash=vault.lookup_hash(code))
                       for code in codes)


def _looks_like_totp(typed: str) -> bool:
    """Six ASCII digits ("١٢٣٤٥٦" and "¹²³⁴⁵⁶" are digits to Python, not to TOTP)."""
    return len(typed) == TOTP_DIGITS and typed.isascii() and typed.isdigit()


def _use_recovery_code(user_id: int, typed: str, *, now: datetime) -> None:
    """A step: mark the user's unused code ``typed`` used. Raises WrongCode."""
    if not typed or len(typed) > 2 * RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH:
        raise WrongCode()
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == get_vault().lookup_hash(typed),
            RecoveryCode.used_at.is_(None),
        ).with_for_update())
    if row is None:
        raise WrongCode()
    row.used_at = now


def _recovery_codes_left(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))
