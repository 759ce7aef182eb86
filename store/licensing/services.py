"""Licensing steps: reserve pool keys, issue licences, revoke and reissue them.

These functions run inside the caller's use case and never commit: the checkout, payment
and support use cases call them as steps and commit once (store/unit_of_work.py). Each
needs a serial transaction (``require_write``): ``BEGIN IMMEDIATE`` on SQLite, row locks
on PostgreSQL (``FOR UPDATE`` on the order line, ``SKIP LOCKED`` for pools), so concurrent
buyers never claim the same key and one line's keys never change under another call.

Order lines come from the orders area, which sits above this one: they are used through
the ``Line`` protocol and never imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from sqlalchemy import and_, case, func, or_, select, update

from store.audit.models import Actor, record
from store.catalogue.models import Fulfilment, Plan
from store.dbtypes import utcnow
from store.errors import StoreError
from store.extensions import db
from store.licensing import keys
from store.licensing.models import Licence, LicenceStatus, PoolKey, PoolKeyState
from store.unit_of_work import lock, require_write
from store.vault import get_vault, seal_into


class Line(Protocol):
    """What licensing needs of an order line (store.orders.models.OrderLine)."""

    id: int
    plan_id: int
    plan: Plan
    quantity: int
    seats: int
    duration_days: int
    fulfilment: Fulfilment


class HasLines(Protocol):
    lines: Sequence[Line]


class OutOfStock(StoreError):
    """A pool plan has fewer available keys than asked for; nothing was claimed."""

    status = 409
    title = _l("Sold out")

    def __init__(self, plan: Plan, requested: int, available: int) -> None:
        super().__init__(
            _ln(
                "Only %(num)d licence of “%(plan)s” is left; you asked for %(requested)d.",
                "Only %(num)d licences of “%(plan)s” are left; you asked for %(requested)d.",
                available,
                plan=plan.name,
                requested=requested,
            )
        )
        self.plan_id = plan.id
        self.plan_name = plan.name
        self.requested = requested
        self.available = available


class LicenceNotActive(StoreError):
    """Only an active licence can be revoked or reissued."""

    status = 409
    title = _l("This licence is not active")


class LicenceExpired(StoreError):
    """An expired licence is renewed, not reissued: its new key would be expired too."""

    status = 409
    title = _l("This licence has expired; a new key would be expired too. Nothing changed.")


def _lock_lines(lines: Sequence[Line]) -> None:
    """Hold the order lines' row locks until commit (PostgreSQL); SQLite is already serial.

    Every step that touches a line's keys takes this lock first, so reserve, release and
    issue of one line never interleave.
    """
    lock(*lines)


def _reserved_keys(line: Line) -> list[PoolKey]:
    query = select(PoolKey).where(
        PoolKey.order_line_id == line.id, PoolKey.state == PoolKeyState.RESERVED
    )
    return list(db.session.scalars(query.order_by(PoolKey.id).with_for_update()))


def _free_keys(line: Line, count: int, now: datetime) -> list[PoolKey]:
    """Claimable keys of the line's plan: available ones first, then reservations that ran out.

    Taking over a lapsed reservation is how abandoned orders give their keys back without
    anyone sweeping first; it happens only when no available key is left, so an order paid
    just late still finds its own keys. A lapsed order paid later claims keys again when it
    is issued.
    """
    available = PoolKey.state == PoolKeyState.AVAILABLE
    lapsed = and_(PoolKey.state == PoolKeyState.RESERVED, PoolKey.reserved_until < now)
    query = (
        select(PoolKey)
        .where(PoolKey.plan_id == line.plan_id, or_(available, lapsed))
        .order_by(case((available, 0), else_=1), PoolKey.id)
        .limit(count)
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(query))


def _make_available(keys_: list[PoolKey]) -> None:
    for key in keys_:
        key.state = PoolKeyState.AVAILABLE
        key.order_line_id = None
        key.reserved_until = None


def reserve(
    line: Line, quantity: int, until: datetime, *, now: datetime | None = None
) -> list[PoolKey]:
    """Make ``line`` hold exactly ``quantity`` reserved pool keys, claiming only what is missing.

    Does nothing for lines fulfilled with generated keys. Extends the reservation to
    ``until``; reservations of other lines that ran out before ``now`` count as free.
    Raises OutOfStock, claiming nothing, when the pool has too few keys. A step: runs in
    the caller's serial transaction.
    """
    require_write()
    if line.fulfilment != Fulfilment.POOL:
        return []
    _lock_lines([line])
    held = _reserved_keys(line)
    surplus, held = held[quantity:], held[:quantity]
    _make_available(surplus)
    missing = quantity - len(held)
    free = _free_keys(line, missing, now or utcnow()) if missing > 0 else []
    if len(free) < missing:
        raise OutOfStock(line.plan, quantity, len(free) + len(held))
    for key in held + free:
        key.state = PoolKeyState.RESERVED
        key.order_line_id = line.id
        key.reserved_until = until
    db.session.flush()
    return held + free


def release(order: HasLines) -> int:
    """Return the order's reserved (not issued) pool keys to the pool; idempotent.

    Returns how many keys were released. A step: runs in the caller's serial transaction.
    """
    require_write()
    _lock_lines(order.lines)
    line_ids = [line.id for line in order.lines]
    if not line_ids:
        return 0
    result = db.session.execute(
        update(PoolKey)
        .where(PoolKey.order_line_id.in_(line_ids), PoolKey.state == PoolKeyState.RESERVED)
        .values(state=PoolKeyState.AVAILABLE, order_line_id=None, reserved_until=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def release_lapsed(now: datetime | None = None) -> int:
    """Free every reservation whose time ran out (a sweep for crashed or forgotten orders).

    A line paid later still gets keys: ``issue`` claims them again. Returns the count.
    A step: runs in the caller's serial transaction.
    """
    require_write()
    lapsed = list(
        db.session.scalars(
            select(PoolKey)
            .where(PoolKey.state == PoolKeyState.RESERVED, PoolKey.reserved_until < (now or utcnow()))
            .with_for_update(skip_locked=True)
        )
    )
    _make_available(lapsed)
    db.session.flush()
    return len(lapsed)


def current_licences(line: Line) -> list[Licence]:
    """The licences the line holds now: one per unit, the newest generation of each."""
    licences = db.session.scalars(
        select(Licence)
        .where(Licence.order_line_id == line.id, Licence.replaced_by_id.is_(None))
        .order_by(Licence.unit)
    )
    return list(licences)


def issue(line: Line, *, now: datetime | None = None) -> list[Licence]:
    """Issue one licence per unit of ``line``; calling it again returns the same licences.

    Pool lines use their reserved keys (claiming them again if the reservation lapsed;
    raises OutOfStock when the pool cannot cover the line, issuing nothing); generated
    lines get fresh keys. Each licence has the line's seats and runs from ``now`` for the
    line's duration. A step: runs in the caller's serial transaction.
    """
    require_write()
    _lock_lines([line])
    existing = current_licences(line)
    if existing:
        return existing
    now = now or utcnow()
    expires = now + timedelta(days=line.duration_days)
    if line.fulfilment == Fulfilment.POOL:
        pool_keys: list[PoolKey | None] = list(reserve(line, line.quantity, until=now, now=now))
    else:
        pool_keys = [None] * line.quantity
    licences = [
        _new_licence(line, unit, pool_key, now, expires)
        for unit, pool_key in enumerate(pool_keys)
    ]
    db.session.flush()
    return licences


def _new_licence(
    line: Line, unit: int, pool_key: PoolKey | None, starts: datetime, expires: datetime,
    *, generation: int = 0, seats: int | None = None,
) -> Licence:
    licence = Licence(
        order_line_id=line.id, plan_id=line.plan_id, unit=unit, generation=generation,
        pool_key=pool_key, seats=seats or line.seats, starts_at=starts, expires_at=expires,
        status=LicenceStatus.ACTIVE,
    )
    if pool_key is not None:
        # Same key, same lookup hash: the ciphertext (bound to that hash) moves as it is.
        licence.ciphertext, licence.vault_key_id, licence.lookup_hash = (
            pool_key.ciphertext, pool_key.vault_key_id, pool_key.lookup_hash
        )
        pool_key.state = PoolKeyState.ISSUED
        pool_key.reserved_until = None
    else:
        seal_into(licence, keys.generate())
    db.session.add(licence)
    return licence


def find_licence(key_text: str) -> Licence | None:
    """Find a licence by its key as typed (any case, spaces or dashes), without decrypting."""
    lookup = get_vault().lookup_hash(_canonical(key_text))
    return db.session.scalar(select(Licence).where(Licence.lookup_hash == lookup))


def _canonical(key_text: str) -> str:
    """This store's keys are normalised (look-alikes mapped); vendor keys are taken as typed."""
    try:
        return keys.normalise(key_text)
    except keys.InvalidKey:
        return key_text


def _lock_licence(licence: Licence) -> Licence:
    db.session.execute(select(Licence.id).where(Licence.id == licence.id).with_for_update())
    db.session.refresh(licence)
    if licence.status != LicenceStatus.ACTIVE or licence.replaced_by_id is not None:
        raise LicenceNotActive()
    return licence


def revoke(
    licence: Licence, *, reason: str, actor: str | Actor,
    status: LicenceStatus = LicenceStatus.REVOKED,
) -> Licence:
    """Stop an active licence (``status`` REFUNDED for refunds) and audit it.

    Raises LicenceNotActive when it is not active. A step: runs in the caller's serial
    transaction.
    """
    if status not in (LicenceStatus.REVOKED, LicenceStatus.REFUNDED):
        raise ValueError(f"revoke() sets revoked or refunded, not {status}")
    require_write()
    _lock_licence(licence)
    licence.status = status
    licence.status_reason = reason
    record(actor=actor, action=f"licence.{status.value}", subject=licence, reason=reason)
    return licence


def reissue(licence: Licence, *, reason: str, actor: str | Actor) -> Licence:
    """Replace an active licence by a new key with the same plan, seats and dates.

    The old licence is revoked and points to the new one (``replaced_by``). A pool plan
    takes a new key from the pool (raises OutOfStock when it is empty). Raises
    LicenceNotActive for a licence that is not active, LicenceExpired for one past its
    expiry. A step: runs in the caller's serial
    transaction.
    """
    require_write()
    _lock_licence(licence)
    if licence.expires_at <= utcnow():
        raise LicenceExpired()
    line = licence.order_line
    pool_key = None
    if line.fulfilment == Fulfilment.POOL:
        free = _free_keys(line, 1, utcnow())
        if not free:
            raise OutOfStock(line.plan, 1, 0)
        pool_key = free[0]
        pool_key.order_line_id = line.id
    replacement = _new_licence(
        line, licence.unit, pool_key, licence.starts_at, licence.expires_at,
        generation=licence.generation + 1, seats=licence.seats,  # a renewal may have changed them
    )
    db.session.flush()
    licence.status = LicenceStatus.REVOKED
    licence.status_reason = reason
    licence.replaced_by_id = replacement.id
    record(
        actor=actor, action="licence.reissue", subject=licence, reason=reason,
        replacement_id=replacement.id,
    )
    return replacement
