"""Activations: devices taking, keeping and freeing the seats of a licence.

A device is known by its fingerprint (any text the client derives from the machine). The
store keeps only ``fingerprint_hash``, the vault's keyed hash of ``device:<fingerprint>``,
so the database never holds a fingerprint or a key.

``check`` reads, and marks a device seen at most once an hour (one guarded UPDATE).
``activate``, ``deactivate``, ``free_seat`` and ``free_all_seats`` are use cases: each
takes the licence's row lock (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite) before counting seats, so concurrent activations never exceed the licence's
seats (DESIGN invariant 5). Keys are never logged.
"""

from __future__ import annotations

import enum
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from sqlalchemy import delete, func, select, update

from store.audit.models import Actor, record
from store.dbtypes import utcnow
from store.errors import InvalidInput, NotFound, StoreError
from store.extensions import db
from store.licensing import keys
from store.licensing.models import Activation, Licence, LicenceStatus
from store.unit_of_work import use_case
from store.vault import get_vault

log = logging.getLogger(__name__)

LABEL_LENGTH = 80
FINGERPRINT_LENGTH = 128
SEEN_EVERY = timedelta(hours=1)  # how often a check may write a device's last_seen_at


class Code(enum.StrEnum):
    """What a check of a key found (the ``code`` of the API's answers)."""

    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    REFUNDED = "REFUNDED"
    NOT_ACTIVATED = "NOT_ACTIVATED"
    TOO_MANY_ACTIVATIONS = "TOO_MANY_ACTIVATIONS"


class LicenceNotFound(NotFound):
    """No licence has this key."""

    code = Code.NOT_FOUND.value
    title = _l("No licence has this key")


class LicenceUnusable(StoreError):
    """The licence cannot take devices: it expired, was revoked (or reissued) or refunded."""

    status = 409
    TITLES = {
        Code.EXPIRED: _l("This licence has expired"),
        Code.REVOKED: _l("This licence was revoked"),
        Code.REFUNDED: _l("This licence was refunded"),
    }

    def __init__(self, code: Code) -> None:
        super().__init__(None)
        self.code = code.value
        self.title = self.TITLES[code]


class TooManyActivations(StoreError):
    """Every seat of the licence is held by another device; nothing was written."""

    status = 409
    code = Code.TOO_MANY_ACTIVATIONS.value
    title = _l("Every seat of this licence is in use")

    def __init__(self, seats: int) -> None:
        super().__init__(_ln(
            "This licence is active on %(num)d device already. Deactivate it there first.",
            "This licence is active on %(num)d devices already. Deactivate it on one of "
            "them first.", seats))
        self.seats = seats


@dataclass(frozen=True)
class KeyCheck:
    """The answer about a key: ``valid`` with ``code``, and the licence when there is one."""

    code: Code
    product: str | None = None
    plan: str | None = None
    seats: int | None = None
    activations: int | None = None
    expires_at: datetime | None = None
    released: bool | None = None  # deactivate only: whether a seat was freed

    @property
    def valid(self) -> bool:
        return self.code == Code.VALID


def key_lookup(key_text: str) -> str:
    """Return the lookup hash of a key as typed, checking it first when it is one of ours.

    Text of 32 letters and digits (spaces, dashes and case ignored) is in this store's
    format and must pass its check group: raises InvalidKey, before any query, for a typo.
    Other text is a vendor's key (pool plans) and is looked up as it is; the import
    refuses vendor keys in this store's format (store/licensing/importing.py).
    """
    if keys.in_store_format(key_text):
        return get_vault().lookup_hash(keys.normalise(key_text))
    return get_vault().lookup_hash(key_text)


def fingerprint_hash(fingerprint: str) -> str:
    """Return the keyed hash kept for a device's fingerprint (the fingerprint is not kept)."""
    return get_vault().keyed_hash("device", fingerprint)


def clean_label(label: str | None) -> str | None:
    """Return the device's label trimmed, or None when blank.

    Raises InvalidInput when it is too long or holds control characters (NUL included).
    """
    if label is None or not label.strip():
        return None
    label = label.strip()
    if len(label) > LABEL_LENGTH:
        raise InvalidInput(_l("A device name has %(max)d characters at most.", max=LABEL_LENGTH))
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in label):
        raise InvalidInput(_l("A device name cannot contain control characters."))
    return label


def _unusable(licence: Licence, now: datetime) -> Code | None:
    """Why the licence cannot be used now, or None when it can."""
    if licence.status == LicenceStatus.REFUNDED:
        return Code.REFUNDED
    if licence.status == LicenceStatus.REVOKED or licence.replaced_by_id is not None:
        return Code.REVOKED
    if licence.status == LicenceStatus.EXPIRED or licence.expires_at <= now:
        return Code.EXPIRED
    return None


def _seats_used(licence_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Activation).where(Activation.licence_id == licence_id)
    )


def _seat(licence_id: int, device: str) -> Activation | None:
    return db.session.scalar(select(Activation).where(
        Activation.licence_id == licence_id, Activation.fingerprint_hash == device))


def _answer(licence: Licence, code: Code, *, released: bool | None = None) -> KeyCheck:
    line = licence.order_line
    return KeyCheck(
        code=code, product=line.product_name, plan=line.plan_name, seats=licence.seats,
        activations=_seats_used(licence.id),
        expires_at=licence.expires_at.replace(microsecond=0), released=released,
    )


def _licence_for_update(lookup: str) -> Licence | None:
    """The licence with this lookup hash, its row locked until the use case ends."""
    return db.session.scalar(
        select(Licence).where(Licence.lookup_hash == lookup).with_for_update()
        .execution_options(populate_existing=True)
    )


def check(key_text: str, fingerprint: str | None = None, *, now: datetime | None = None) -> KeyCheck:
    """Say whether a key is usable, and on this device when ``fingerprint`` is given.

    Reads only, except that a device holding a seat is marked seen (at most once an
    hour, so a daily check keeps "last seen" true without a write per check). Raises
    InvalidKey for a mistyped key in the store's format; an unknown key is an answer
    (NOT_FOUND), not an error.
    """
    lookup = key_lookup(key_text)
    licence = db.session.scalar(select(Licence).where(Licence.lookup_hash == lookup))
    if licence is None:
        return KeyCheck(Code.NOT_FOUND)
    now = now or utcnow()
    code, seat = _unusable(licence, now), None
    if code is None and fingerprint is not None:
        seat = _seat(licence.id, fingerprint_hash(fingerprint))
        if seat is None:
            full = _seats_used(licence.id) >= licence.seats
            code = Code.TOO_MANY_ACTIVATIONS if full else Code.NOT_ACTIVATED
    answer = _answer(licence, code or Code.VALID)
    if seat is not None and seat.last_seen_at < now - SEEN_EVERY:
        _mark_seen(seat.id, now)
    return answer


def _mark_seen(activation_id: int, now: datetime) -> None:
    """Move a device's ``last_seen_at`` to ``now`` unless it moved in the last hour.

    Its own short use case; the WHERE keeps two checks racing to one write.
    """
    with use_case() as uow:
        db.session.execute(update(Activation).where(
            Activation.id == activation_id, Activation.last_seen_at < now - SEEN_EVERY,
        ).values(last_seen_at=now))
        uow.commit()


def activate(
    key_text: str, fingerprint: str, label: str | None = None, *, now: datetime | None = None,
) -> KeyCheck:
    """Give this device a seat of the licence; a device that has one keeps it.

    The same device again changes only its ``last_seen_at`` (and a label it did not
    have). Raises InvalidKey (400), InvalidInput for a bad label, LicenceNotFound (404),
    LicenceUnusable (409: EXPIRED, REVOKED, REFUNDED) or TooManyActivations (409).
    """
    lookup, device, label = key_lookup(key_text), fingerprint_hash(fingerprint), clean_label(label)
    now = now or utcnow()
    with use_case() as uow:
        licence = _licence_for_update(lookup)
        if licence is None:
            raise LicenceNotFound()
        code = _unusable(licence, now)
        if code is not None:
            raise LicenceUnusable(code)
        seat = _seat(licence.id, device)
        if seat is not None:
            seat.last_seen_at = now
            seat.label = seat.label or label
        elif _seats_used(licence.id) >= licence.seats:
            raise TooManyActivations(licence.seats)
        else:
            db.session.add(Activation(licence_id=licence.id, fingerprint_hash=device,
                                      label=label, created_at=now, last_seen_at=now))
            log.info("licence %s: a device took a seat", licence.id)
        db.session.flush()
        answer = _answer(licence, Code.VALID)
        uow.commit()
    return answer


def deactivate(key_text: str, fingerprint: str, *, now: datetime | None = None) -> KeyCheck:
    """Free this device's seat; idempotent.

    Answers the licence as it is afterwards (``code`` NOT_ACTIVATED when it is usable)
    with ``released`` True when a seat was freed and False when the device held none
    (nothing changed). Works on expired, revoked and refunded licences too. Raises
    InvalidKey (400) or LicenceNotFound (404).
    """
    lookup, device = key_lookup(key_text), fingerprint_hash(fingerprint)
    with use_case() as uow:
        licence = _licence_for_update(lookup)
        if licence is None:
            raise LicenceNotFound()
        freed = db.session.execute(delete(Activation).where(
            Activation.licence_id == licence.id, Activation.fingerprint_hash == device))
        if freed.rowcount:
            log.info("licence %s: a device freed its seat", licence.id)
        code = _unusable(licence, now or utcnow()) or Code.NOT_ACTIVATED
        answer = _answer(licence, code, released=bool(freed.rowcount))
        uow.commit()
    return answer


def _locked_licence(licence_id: int) -> Licence:
    licence = db.session.scalar(
        select(Licence).where(Licence.id == licence_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if licence is None:
        raise NotFound()
    return licence


def _audit(licence: Licence, actor: str | Actor | None, reason: str, **details) -> None:
    if actor is not None:
        record(actor=actor, action="licence.seats_freed", subject=licence, reason=reason, **details)


def free_seat(
    licence_id: int, activation_id: int, *, actor: str | Actor | None = None, reason: str = "",
) -> None:
    """Free one seat of a licence (the customer's page, the support desk).

    The caller checks that the person may. With an ``actor`` (staff) the change is
    audited with ``reason``. Raises NotFound when the licence does not exist or the
    activation is not one of its seats.
    """
    with use_case() as uow:
        licence = _locked_licence(licence_id)
        seat = db.session.scalar(select(Activation).where(
            Activation.id == activation_id, Activation.licence_id == licence.id))
        if seat is None:
            raise NotFound()
        db.session.delete(seat)
        _audit(licence, actor, reason, activation_id=activation_id, count=1)
        uow.commit()
    log.info("licence %s: seat %s was freed", licence_id, activation_id)


def free_all_seats(
    licence_id: int, *, actor: str | Actor | None = None, reason: str = "",
) -> int:
    """Free every seat of a licence; return how many were freed (0 changes nothing).

    The caller checks that the person may; with an ``actor`` the reset is audited.
    Raises NotFound when the licence does not exist.
    """
    with use_case() as uow:
        licence = _locked_licence(licence_id)
        freed = db.session.execute(
            delete(Activation).where(Activation.licence_id == licence.id)).rowcount
        if freed:
            _audit(licence, actor, reason, count=freed)
        uow.commit()
    return freed
