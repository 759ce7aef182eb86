"""What the renewal pages show: the licence a key or link names, and the renewals on sale
for it with the expiry each would give. Reads only; the cart adds the chosen renewal
(store/cart/services.py add_renewal) and the payment extends the licence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from store.catalogue.models import Plan
from store.dbtypes import utcnow
from store.errors import NotFound
from store.extensions import db
from store.licensing.activations import key_lookup
from store.licensing.keys import InvalidKey
from store.licensing.models import Licence, LicenceStatus
from store.licensing.renewals import current_licence, renewable_until, renewal_plans_for
from store.orders.models import Order, OrderLine
from store.orders.services import Owner, masked_key


@dataclass(frozen=True)
class Offer:
    plan: Plan
    new_expiry: datetime  # if paid now


@dataclass(frozen=True)
class RenewalChoice:
    licence: Licence  # the newest key of the chain
    masked_key: str
    order: Order
    line: OrderLine
    offers: list[Offer]
    renewable: bool  # active and within its renewal window

    @property
    def expired(self) -> bool:
        return self.licence.expires_at <= utcnow()


def licence_for_key(text: str) -> Licence | None:
    """The licence whose key is ``text`` (any case, dashes or spaces), found through its
    lookup hash; None for a typo, an unknown key or a key replaced by a reissue."""
    try:
        lookup = key_lookup(text.strip())
    except InvalidKey:
        return None
    licence = db.session.scalar(select(Licence).where(Licence.lookup_hash == lookup))
    if licence is None or licence.replaced_by_id is not None:
        return None  # a replaced key (reissued, often because it leaked) opens nothing
    return licence


def renewal_choice(licence_id: int, now: datetime | None = None) -> RenewalChoice:
    """The licence ``licence_id`` (its newest key) with the renewals on sale for it.
    Raises NotFound."""
    licence = db.session.get(Licence, licence_id)
    if licence is None:
        raise NotFound()
    licence = current_licence(licence)
    now = now or utcnow()
    line = licence.order_line
    renewable = (licence.status == LicenceStatus.ACTIVE and now <= renewable_until(licence))
    offers = [Offer(plan, max(now, licence.expires_at) + timedelta(days=plan.duration_days))
              for plan in renewal_plans_for(licence)] if renewable else []
    return RenewalChoice(licence, masked_key(licence), line.order, line, offers, renewable)


def may_renew(licence_id: int, *, owner: Owner | None, orders: list[str],
              proven: list[int]) -> bool:
    """True when this visitor may renew the licence: they typed its key or followed its
    link (``proven``), placed or opened its order in this browser (``orders``), or own it
    through their account (``owner``)."""
    licence = db.session.get(Licence, licence_id)
    if licence is None:
        return False
    chain = {licence.id, current_licence(licence).id}
    if chain & set(proven):
        return True
    order = licence.order_line.order
    return order.number in orders or (owner is not None and owner.owns(order))
