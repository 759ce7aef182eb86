"""Renewal rules: which renewal plan renews which licence, and extending a licence when
its renewal is paid (the key never changes).

A renewal plan renews the plans linked to it (``Plan.renews``, set in the back office).
A licence can be renewed while it works and up to ``STORE_RENEWAL_WINDOW_DAYS`` after it
expired; a reissued licence is renewed through its newest key. The rules are checked
when the renewal goes in the cart, again when the order is placed, and once more when
it is paid (``renew``), where a licence revoked meanwhile raises NotRenewable so the
payment sends the order to needs_attention instead of losing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from store.catalogue.models import Plan, PlanKind, Product, plan_renewal
from store.audit.models import Actor, record
from store.dbtypes import utcnow
from store.errors import StoreError
from store.extensions import db
from store.licensing.models import Licence, LicenceRenewal, LicenceStatus
from store.licensing import services
from store.unit_of_work import lock, require_write



class RenewalLine(Protocol):
    """What renewing needs of an order line (store.orders.models.OrderLine)."""

    id: int
    renews_licence_id: int | None
    seats: int
    duration_days: int
    plan: Plan


class NotRenewable(StoreError):
    """This renewal cannot be bought for (or applied to) this licence; nothing changed."""

    status = 409
    title = _l("This licence cannot be renewed with this plan")


def current_licence(licence: Licence) -> Licence:
    """The newest key of ``licence``'s reissue chain (the one a renewal extends)."""
    while licence.replaced_by_id is not None:
        licence = db.session.get(Licence, licence.replaced_by_id)
    return licence


def renewal_plans_for(licence: Licence) -> list[Plan]:
    """The renewal plans on sale that renew ``licence``'s plan, cheapest first (one query)."""
    return list(db.session.scalars(
        select(Plan).join(plan_renewal, plan_renewal.c.renewal_plan_id == Plan.id)
        .join(Product, Plan.product_id == Product.id)
        .where(plan_renewal.c.plan_id == licence.plan_id, Plan.kind == PlanKind.RENEWAL,
               Plan.is_active.is_(True), Product.is_active.is_(True))
        .order_by(Plan.price_minor, Plan.id)))


def renewal_window() -> timedelta:
    """How long after expiry a licence can still be renewed (STORE_RENEWAL_WINDOW_DAYS)."""
    return timedelta(days=current_app.config["STORE_RENEWAL_WINDOW_DAYS"])


def renewed_plan_ids() -> Select:
    """The ids of the plans some renewal plan on sale renews (a subquery)."""
    return (select(plan_renewal.c.plan_id).join(Plan, plan_renewal.c.renewal_plan_id == Plan.id)
            .join(Product, Plan.product_id == Product.id)
            .where(Plan.kind == PlanKind.RENEWAL, Plan.is_active.is_(True),
                   Product.is_active.is_(True)))


def plans_with_renewals(plan_ids: set[int]) -> set[int]:
    """Which of ``plan_ids`` have a renewal plan on sale (one query)."""
    if not plan_ids:
        return set()
    return set(db.session.scalars(
        renewed_plan_ids().where(plan_renewal.c.plan_id.in_(plan_ids)).distinct()))


def renewable_until(licence: Licence, window: timedelta | None = None) -> datetime:
    """The last moment ``licence`` can still be renewed (its renewal window's end)."""
    return licence.expires_at + (window if window is not None else renewal_window())


def check_renewable(plan: Plan, licence: Licence, *, now: datetime | None = None,
                    window: timedelta | None = None) -> None:
    """Raise NotRenewable, with the reason in the buyer's words, unless ``plan`` can renew
    ``licence`` now (pass the licence's newest key: see ``current_licence``)."""
    now = now or utcnow()
    if plan.kind != PlanKind.RENEWAL:
        raise NotRenewable(_l("This plan is a new licence, not a renewal."))
    if licence.status != LicenceStatus.ACTIVE or licence.replaced_by_id is not None:
        raise NotRenewable(_l("This licence was revoked or refunded; it cannot be renewed."))
    if licence.plan_id not in {renewed.id for renewed in plan.renews}:
        raise NotRenewable(_l("This renewal is for another product or plan; choose one of "
                              "the renewals offered for your licence."))
    if now > renewable_until(licence, window):
        raise NotRenewable(_l("This licence expired too long ago to be renewed; buy a new "
                              "licence instead."))


@dataclass(frozen=True)
class Renewed:
    licence: Licence
    renewal: LicenceRenewal


def renew(line: RenewalLine, *, now: datetime | None = None) -> Renewed:
    """Extend the licence of a paid renewal line; calling it again changes nothing.

    The expiry moves to max(now, current expiry) + the line's duration and the seats
    become the line's; the key stays. Raises NotRenewable when the licence was revoked or
    refunded since the order was placed. A step: runs in the caller's serial transaction,
    under the line's and the licence's row locks.
    """
    require_write()
    lock(line)
    done = db.session.scalar(select(LicenceRenewal).where(LicenceRenewal.order_line_id == line.id))
    if done is not None:
        return Renewed(done.licence, done)
    licence = current_licence(db.session.get(Licence, line.renews_licence_id))
    lock(licence)
    db.session.refresh(licence)
    if licence.status != LicenceStatus.ACTIVE or licence.replaced_by_id is not None:
        raise NotRenewable(_l("The licence to renew was revoked or refunded."))
    now = now or utcnow()
    previous, previous_seats = licence.expires_at, licence.seats
    licence.expires_at = max(now, previous) + timedelta(days=line.duration_days)
    licence.seats = line.seats
    renewal = LicenceRenewal(licence_id=licence.id, order_line_id=line.id,
                             previous_expires_at=previous, expires_at=licence.expires_at,
                             previous_seats=previous_seats, seats=line.seats)
    db.session.add(renewal)
    db.session.flush()
    return Renewed(licence, renewal)


def undo_renewal(line: RenewalLine, *, reason: str, actor: str | Actor) -> Licence | None:
    """Take back the time a refunded renewal line added (its duration) and give the
    licence back the seats it had. Returns the licence, or None when the line was never
    applied. A step, under the licence's row lock; audited."""
    done = db.session.scalar(select(LicenceRenewal).where(LicenceRenewal.order_line_id == line.id))
    if done is None:
        return None
    licence = current_licence(done.licence)
    lock(licence)
    db.session.refresh(licence)
    before = licence.expires_at
    licence.expires_at = licence.expires_at - timedelta(days=line.duration_days)
    licence.seats = done.previous_seats
    record(actor=actor, action="licence.renewal_refunded", subject=licence, reason=reason,
           order_line_id=line.id, expires_before=before.isoformat(),
           expires_after=licence.expires_at.isoformat())
    return licence


def fulfil_line(line: RenewalLine) -> None:
    """Deliver a paid line: issue a new licence's keys, or extend a renewal's licence.

    Raises OutOfStock or NotRenewable (also for a renewal plan's line that names no
    licence), changing nothing. A step; idempotent.
    """
    if line.renews_licence_id is not None:
        renew(line)
    elif line.plan.kind == PlanKind.RENEWAL:  # placed before renewals named their licence
        raise NotRenewable(_l("A renewal with no licence to renew: it issues no new key."))
    else:
        services.issue(line)
