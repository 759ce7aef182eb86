"""Caps on what unpaid orders may hold of pool plans' keys, so one buyer cannot hoard a pool.

Checked before any key is reserved: inside the checkout's transaction, and when a declined
or expired order is paid again (its keys are reserved again):
- a line of a pool plan asks for at most STORE_POOL_MAX_PER_LINE keys;
- the buyer's unpaid orders hold at most STORE_POOL_MAX_HELD_PER_BUYER keys, counted by
  email in the database and by address through the limiter's storage (the view passes that
  count in: no order records the address);
- the buyer's unpaid orders hold at most STORE_POOL_MAX_SHARE_PERCENT of a pool's unsold
  keys (at least one key), counted by email.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from sqlalchemy import func, select

from store.catalogue.models import Fulfilment, Plan
from store.errors import InvalidInput
from store.extensions import db
from store.i18n import line_title
from store.licensing.models import PoolKey, PoolKeyState
from store.orders.models import Order, OrderLine, OrderStatus


class WantedLine(Protocol):
    """A cart line or an order line: a plan and how many of it."""

    plan: Plan
    quantity: int


class HoldingLimitReached(InvalidInput):
    """The order would make one buyer hold more of a pool's keys than the store allows."""

    status = 409
    title = _l("Too many licences waiting for payment")


@dataclass(frozen=True)
class PoolCaps:
    per_line: int
    per_buyer: int
    share_percent: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PoolCaps:
        return cls(config["STORE_POOL_MAX_PER_LINE"], config["STORE_POOL_MAX_HELD_PER_BUYER"],
                   config["STORE_POOL_MAX_SHARE_PERCENT"])

    def share_of(self, unsold: int) -> int:
        """The most keys of a pool with ``unsold`` keys one buyer may hold (at least one)."""
        return max(1, unsold * self.share_percent // 100)


def _held_by_email(email: str, now: datetime) -> dict[int, int]:
    """Pool keys the email's unpaid orders hold now, per plan id."""
    rows = db.session.execute(
        select(PoolKey.plan_id, func.count())
        .join(OrderLine, PoolKey.order_line_id == OrderLine.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(PoolKey.state == PoolKeyState.RESERVED, PoolKey.reserved_until >= now,
               Order.status == OrderStatus.PENDING_PAYMENT,
               func.lower(Order.email) == email.lower())
        .group_by(PoolKey.plan_id)
    )
    return {plan_id: count for plan_id, count in rows}


def _unsold(plan_ids: Sequence[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(PoolKey.plan_id, func.count())
        .where(PoolKey.plan_id.in_(plan_ids), PoolKey.state != PoolKeyState.ISSUED)
        .group_by(PoolKey.plan_id)
    )
    return {plan_id: count for plan_id, count in rows}


def check_pool_caps(
    lines: Sequence[WantedLine], *, email: str, held_by_address: int, caps: PoolCaps,
    now: datetime,
) -> None:
    """Refuse an order that would let one buyer hoard pool keys.

    Raises HoldingLimitReached naming the limit. A step: reads only, in the caller's
    transaction (serial, so two checkouts of one buyer cannot both pass).
    """
    wanted = {line.plan.id: line for line in lines if line.plan.fulfilment == Fulfilment.POOL}
    if not wanted:
        return
    for line in wanted.values():
        if line.quantity > caps.per_line:
            raise HoldingLimitReached(_ln(
                "You can order at most %(num)d licence of “%(plan)s” at a time.",
                "You can order at most %(num)d licences of “%(plan)s” at a time.",
                caps.per_line, plan=_title(line),
            ))
    adding = sum(line.quantity for line in wanted.values())
    held = _held_by_email(email, now)
    for already in (sum(held.values()), held_by_address):
        if already + adding > caps.per_buyer:
            raise HoldingLimitReached(_ln(
                "At most %(num)d licence from stock can wait for payment at once, and your "
                "unpaid orders already hold %(held)d. Pay or cancel them first, or order fewer.",
                "At most %(num)d licences from stock can wait for payment at once, and your "
                "unpaid orders already hold %(held)d. Pay or cancel them first, or order fewer.",
                caps.per_buyer, held=already,
            ))
    unsold = _unsold(list(wanted))
    for plan_id, line in wanted.items():
        if line.quantity > unsold.get(plan_id, 0):
            continue  # the pool is short: reserving says so, naming what is left
        most = caps.share_of(unsold[plan_id])
        if held.get(plan_id, 0) + line.quantity > most:
            raise HoldingLimitReached(_ln(
                "One buyer can hold at most %(num)d licence of “%(plan)s” while it waits "
                "for payment.",
                "One buyer can hold at most %(num)d licences of “%(plan)s” while they wait "
                "for payment.",
                most, plan=_title(line),
            ))


def _title(line: WantedLine) -> str:
    return line_title(line.plan.product.name, line.plan.name)


def pool_keys_of(order: Order) -> int:
    """How many pool keys ``order`` reserves."""
    return sum(line.quantity for line in order.lines
               if line.fulfilment == Fulfilment.POOL and not line.is_renewal)
