"""The support desk's use cases: find a customer's orders and licences, keep internal
notes on an order, resend an order's delivery email, and reissue a licence.

Every search is audited: who searched, what kind of search, and what was found. A key
search records the licence it found (or that it found none), never the key's text; a key
is found through its keyed lookup hash (``key_lookup``), never by decrypting rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from store.accounts.models import User
from store.audit.models import Actor, AuditEvent, record
from store.dbtypes import utcnow
from store.errors import NotFound, StoreError
from store.extensions import db
from store.licensing.activations import key_lookup
from store.licensing.keys import InvalidKey
from store.licensing.models import Licence
from store.licensing.services import reissue
from store.mail.models import queue
from store.orders.emails import ORDER_DELIVERY
from store.orders.models import Order, OrderLine, OrderStatus
from store.orders.services import MAX_NUMBER_LENGTH, masked_key
from store.support.models import SupportNote
from store.unit_of_work import lock, use_case

MAX_RESULTS = 50  # orders shown for one email
RESEND_PAUSE = timedelta(minutes=1)  # a second resend of one order within this is refused
LICENCE_REISSUED = "licence_reissued"  # the email kind (store/support/emails.py)
KEY_SEARCHED, RESENT, NOTE_ADDED = "support.key_search", "support.delivery_resent", "support.note_added"


class SearchKind(enum.StrEnum):
    EMAIL = "email"
    NUMBER = "number"
    KEY = "key"


@dataclass(frozen=True)
class FoundLicence:
    licence: Licence
    masked_key: str
    order_number: str


@dataclass(frozen=True)
class SearchResult:
    kind: SearchKind
    orders: list[Order] = field(default_factory=list)
    licences: list[FoundLicence] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.orders or self.licences)


class ResentRecently(StoreError):
    """The delivery email of this order was resent less than a minute ago."""

    status = 409
    title = _l("The delivery email of this order was resent a moment ago; nothing was sent.")


class NotDelivered(StoreError):
    """Only a fulfilled order has keys to resend."""

    status = 409
    title = _l("This order has no keys to resend.")


def search(query: str, *, actor: Actor) -> SearchResult:
    """Find by email, order number or key (in that order of guessing), and audit the search.

    A use case (it writes the audit event). Never raises for text that finds nothing.
    """
    query = query.strip()
    with use_case() as uow:
        if "@" in query:
            result = _by_email(query)
            _audit_search(actor, result, email=query.lower())
        else:
            order = _order_by_number(query)
            if order is not None:
                result = SearchResult(SearchKind.NUMBER, orders=[order])
                _audit_search(actor, result, number=order.number)
            else:
                result = _by_key(query)
                _audit_search(actor, result)
        uow.commit()
    return result


def _order_by_number(text: str) -> Order | None:
    if not text or len(text) > MAX_NUMBER_LENGTH:
        return None
    return db.session.scalar(select(Order).where(Order.number == text.upper()))


def _by_email(email: str) -> SearchResult:
    email = email.lower()
    accounts = select(User.id).where(func.lower(User.email) == email).scalar_subquery()
    orders = list(db.session.scalars(
        select(Order).where(or_(func.lower(Order.email) == email, Order.user_id.in_(accounts)))
        .order_by(Order.id.desc()).limit(MAX_RESULTS)))
    return SearchResult(SearchKind.EMAIL, orders=orders, licences=_licences_of(orders))


def _licences_of(orders: list[Order]) -> list[FoundLicence]:
    if not orders:
        return []
    numbers = {order.id: order.number for order in orders}
    rows = db.session.execute(
        select(Licence, OrderLine.order_id).join(OrderLine, Licence.order_line_id == OrderLine.id)
        .where(OrderLine.order_id.in_(numbers)).order_by(Licence.id))
    return [FoundLicence(licence, masked_key(licence), numbers[order_id])
            for licence, order_id in rows]


def _by_key(text: str) -> SearchResult:
    """The licence whose key is ``text``, through its lookup hash only."""
    try:
        lookup = key_lookup(text) if text else None
    except InvalidKey:
        lookup = None
    if lookup is None:
        return SearchResult(SearchKind.KEY)
    row = db.session.execute(
        select(Licence, Order.number).join(OrderLine, Licence.order_line_id == OrderLine.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(Licence.lookup_hash == lookup)).first()
    if row is None:
        return SearchResult(SearchKind.KEY)
    licence, number = row
    return SearchResult(SearchKind.KEY, licences=[FoundLicence(licence, masked_key(licence), number)])


def _audit_search(actor: Actor, result: SearchResult, **details) -> None:
    """Who searched and what was found; the subject is the licence found by a key, else
    the staff member's own account. Never the text of a key."""
    if result.kind == SearchKind.KEY and result.licences:
        subject = result.licences[0].licence
    else:
        subject = db.session.get(User, actor.id)
    record(actor=actor, action=KEY_SEARCHED if result.kind == SearchKind.KEY
           else f"support.{result.kind.value}_search", subject=subject, reason="",
           kind=result.kind.value, found=result.found,
           orders=[order.id for order in result.orders],
           licences=[found.licence.id for found in result.licences], **details)


@dataclass(frozen=True)
class LicenceDetail:
    licence: Licence
    masked_key: str
    order: Order
    notes: list[SupportNote]
    replaced: FoundLicence | None = None  # the key this licence replaced, when reissued

    @property
    def expired(self) -> bool:
        """Past its expiry (its status may still say active: expiry is read from the date)."""
        return self.licence.expires_at <= utcnow()


def licence_detail(licence_id: int) -> LicenceDetail:
    """A licence with its devices, its order, that order's notes and the key it replaced.
    Raises NotFound."""
    licence = db.session.scalar(
        select(Licence).where(Licence.id == licence_id)
        .options(selectinload(Licence.activations), selectinload(Licence.plan)))
    if licence is None:
        raise NotFound()
    order = db.session.scalar(
        select(Order).join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.id == licence.order_line_id))
    replaced = db.session.scalar(select(Licence).where(  # the unique (line, unit, generation)
        Licence.order_line_id == licence.order_line_id, Licence.unit == licence.unit,
        Licence.generation == licence.generation - 1, Licence.replaced_by_id == licence.id))
    return LicenceDetail(
        licence, masked_key(licence), order, notes_of(order.id),
        FoundLicence(replaced, masked_key(replaced), order.number) if replaced else None)


def notes_of(order_id: int) -> list[SupportNote]:
    """The internal notes on an order, oldest first."""
    return list(db.session.scalars(
        select(SupportNote).where(SupportNote.order_id == order_id).order_by(SupportNote.id)))


def add_note(order_id: int, body: str, *, actor: Actor) -> SupportNote:
    """Write an internal note on the order, audited. Raises NotFound for no such order."""
    with use_case() as uow:
        order = db.session.get(Order, order_id)
        if order is None:
            raise NotFound()
        note = SupportNote(order_id=order.id, author=actor.label, author_id=actor.id, body=body)
        db.session.add(note)
        db.session.flush()
        record(actor=actor, action=NOTE_ADDED, subject=order, reason=body, note_id=note.id)
        uow.commit()
    return note


def resend_delivery(order_id: int, *, reason: str, actor: Actor,
                    now: datetime | None = None) -> None:
    """Queue the order's delivery email again (it shows the keys current when sent).

    The order's row is locked and a resend within a minute of the last one is refused
    (ResentRecently), so a double click sends one email. Raises NotFound, NotDelivered.
    """
    now = now or utcnow()
    with use_case() as uow:
        order = db.session.get(Order, order_id)
        if order is None:
            raise NotFound()
        lock(order)
        if order.status != OrderStatus.FULFILLED:
            raise NotDelivered()
        last = db.session.scalar(
            select(func.max(AuditEvent.created_at)).where(
                AuditEvent.action == RESENT, AuditEvent.subject_type == Order.__tablename__,
                AuditEvent.subject_id == order.id))
        if last is not None and now - last < RESEND_PAUSE:
            raise ResentRecently()
        queue(ORDER_DELIVERY, order.email, locale=order.locale, order_id=order.id)
        record(actor=actor, action=RESENT, subject=order, reason=reason)
        uow.commit()


def reissue_licence(licence_id: int, *, reason: str, actor: Actor) -> Licence:
    """Replace a leaked or lost key: the old licence is revoked at once, a new key takes
    its plan, seats and dates, and the buyer is emailed the new key.

    The licence's row is locked first (``reissue``), so two agents reissuing at once give
    one new key: the second finds the licence already replaced (LicenceNotActive). A pool
    plan with no key left raises OutOfStock and changes nothing; an expired licence raises
    LicenceExpired. Raises NotFound.
    """
    with use_case() as uow:
        licence = db.session.get(Licence, licence_id)
        if licence is None:
            raise NotFound()
        order = db.session.scalar(
            select(Order).join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.id == licence.order_line_id))
        lock(order)  # as a refund does, order first: a refund at the same moment waits
        replacement = reissue(licence, reason=reason, actor=actor)
        queue(LICENCE_REISSUED, order.email, locale=order.locale, order_id=order.id,
              licence_id=replacement.id, replaced_id=licence.id)
        uow.commit()
    return replacement
