"""One order as the back office shows it: lines, customer, payments, licences (keys
masked) and the full timeline, merged in time order from the order's events, its
payments and provider notifications, its emails, and the staff actions on it.

Nine queries at most, whatever the order holds. Reads only; never a full key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from store.accounts.models import User
from store.audit.models import AuditEvent
from store.errors import NotFound
from store.extensions import db
from store.licensing.models import Licence
from store.mail.models import OutboxMessage
from store.orders.messages import STATUS_LABELS
from store.orders.models import Order, OrderLine, OrderStatus
from store.orders.services import masked_key
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.refunds import REFUNDABLE

# What the timeline calls the order's own events (other kinds show as they are).
EVENT_LABELS = {
    "placed": _l("Order placed"),
    "payment_started": _l("Payment started"),
    "payment_declined": _l("Payment declined"),
    "window_extended": _l("Payment window extended"),
    **{status.value: _l("Status: %(status)s", status=label)
       for status, label in STATUS_LABELS.items()},
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # order, payment, provider, email, staff
    what: str
    detail: str = ""


@dataclass(frozen=True)
class LicenceRow:
    licence: Licence
    masked_key: str


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    account: User | None
    payments: list[Payment]
    licences: list[LicenceRow]
    timeline: list[TimelineEntry]

    @property
    def settled(self) -> bool:
        return any(p.status == PaymentStatus.APPROVED for p in self.payments)

    @property
    def attention_reason(self) -> str:
        """Why the order needs attention: the note of its latest move there."""
        moves = [e for e in self.order.events if e.kind == OrderStatus.NEEDS_ATTENTION.value]
        return moves[-1].note if moves else ""

    @property
    def needs_attention(self) -> bool:
        return self.order.status == OrderStatus.NEEDS_ATTENTION

    @property
    def can_retry(self) -> bool:
        return self.needs_attention and self.settled

    @property
    def can_refund(self) -> bool:
        return self.order.status in REFUNDABLE and self.settled


def order_detail(number: str) -> OrderDetail:
    """The order ``number`` with everything the back office shows. Raises NotFound."""
    order = db.session.scalar(
        select(Order).where(Order.number == number)
        .options(selectinload(Order.lines), selectinload(Order.events))
    )
    if order is None:
        raise NotFound()
    account = db.session.get(User, order.user_id) if order.user_id else None
    payments = list(db.session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)))
    licences = list(db.session.scalars(
        select(Licence).join(OrderLine, Licence.order_line_id == OrderLine.id)
        .where(OrderLine.order_id == order.id)
        .order_by(Licence.order_line_id, Licence.unit, Licence.generation)
    ))
    timeline = _timeline(order, payments, [licence.id for licence in licences])
    return OrderDetail(order, account, payments,
                       [LicenceRow(licence, masked_key(licence)) for licence in licences],
                       timeline)


def _timeline(order: Order, payments: list[Payment], licence_ids: list[int]) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(event.created_at, "order", str(EVENT_LABELS.get(event.kind, event.kind)),
                      event.note)
        for event in order.events
    ]
    entries += _payment_entries(payments)
    entries += _email_entries(order)
    entries += _staff_entries(order, [p.id for p in payments], licence_ids)
    return sorted(entries, key=lambda entry: entry.at)


def _payment_entries(payments: list[Payment]) -> list[TimelineEntry]:
    entries = []
    for payment in payments:
        entries.append(TimelineEntry(
            payment.created_at, "payment",
            str(_l("Payment recorded at %(provider)s", provider=payment.provider)),
            f"{payment.amount} · {payment.reference}"))
        if payment.refunded_at is not None:
            entries.append(TimelineEntry(
                payment.refunded_at, "payment",
                str(_l("Refunded at %(provider)s", provider=payment.provider)),
                payment.refund_reference or ""))
    if not payments:
        return entries
    notifications = db.session.scalars(
        select(ProcessedEvent)
        .where(ProcessedEvent.payment_id.in_([p.id for p in payments]))
        .order_by(ProcessedEvent.id)
    )
    entries += [
        TimelineEntry(event.received_at, "provider",
                      str(_l("Notification from %(provider)s: %(outcome)s",
                             provider=event.provider, outcome=event.outcome)),
                      event.event_id)
        for event in notifications
    ]
    return entries


def _email_entries(order: Order) -> list[TimelineEntry]:
    entries = []
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.order_id == order.id)
        .order_by(OutboxMessage.id))
    for message in messages:
        entries.append(TimelineEntry(
            message.created_at, "email",
            str(_l("Email queued: %(kind)s", kind=message.kind)), message.recipient))
        if message.sent_at is not None:
            entries.append(TimelineEntry(
                message.sent_at, "email",
                str(_l("Email sent: %(kind)s", kind=message.kind)), message.recipient))
    return entries


def _staff_entries(order: Order, payment_ids: list[int],
                   licence_ids: list[int]) -> list[TimelineEntry]:
    subjects = [and_(AuditEvent.subject_type == Order.__tablename__,
                     AuditEvent.subject_id == order.id)]
    if payment_ids:
        subjects.append(and_(AuditEvent.subject_type == Payment.__tablename__,
                             AuditEvent.subject_id.in_(payment_ids)))
    if licence_ids:
        subjects.append(and_(AuditEvent.subject_type == Licence.__tablename__,
                             AuditEvent.subject_id.in_(licence_ids)))
    events = db.session.scalars(
        select(AuditEvent).where(or_(*subjects)).order_by(AuditEvent.id))
    return [
        TimelineEntry(event.created_at, "staff",
                      str(_l("%(action)s by %(actor)s", action=event.action, actor=event.actor)),
                      event.reason)
        for event in events
    ]
