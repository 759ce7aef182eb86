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
from store.accounts.services import ACCOUNT_VERIFICATION, PASSWORD_RESET
from store.audit.models import AuditEvent
from store.errors import NotFound
from store.extensions import db
from store.i18n import money_filter
from store.licensing.alerts import LOW_STOCK_ALERT
from store.licensing.models import Licence, LicenceStatus
from store.mail.models import OutboxMessage
from store.orders.emails import ORDER_DELIVERY, ORDER_REFUNDED, STAFF_ALERT
from store.orders.messages import STATUS_LABELS
from store.orders.models import Order, OrderLine, OrderStatus
from store.orders.services import masked_key
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.refunds import REFUNDABLE
from store.payments.services import Confirmation

# What staff pages call a payment's and a licence's status.
PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: _l("Pending"),
    PaymentStatus.APPROVED: _l("Approved"),
    PaymentStatus.DECLINED: _l("Declined"),
    PaymentStatus.MISMATCH: _l("Other amount or currency"),
    PaymentStatus.REFUNDED: _l("Refunded in full"),
}

LICENCE_STATUS_LABELS = {
    LicenceStatus.ACTIVE: _l("Active"),
    LicenceStatus.REVOKED: _l("Revoked"),
    LicenceStatus.EXPIRED: _l("Expired"),
    LicenceStatus.REFUNDED: _l("Refunded"),
}

# What the store did with a provider notification (kept as the processed event's outcome).
OUTCOME_LABELS = {
    Confirmation.FULFILLED: _l("Paid, keys issued"),
    Confirmation.DUPLICATE: _l("Already received"),
    Confirmation.ALREADY_PAID: _l("Payment already confirmed"),
    Confirmation.DECLINED: _l("Payment declined"),
    Confirmation.IGNORED: _l("Payment already settled, nothing to do"),
    Confirmation.AMOUNT_MISMATCH: _l("Other amount or currency"),
    Confirmation.OUT_OF_STOCK: _l("Paid, no keys left to issue"),
    Confirmation.ISSUE_FAILED: _l("Paid, issuing the keys failed"),
    Confirmation.NOT_RENEWABLE: _l("Paid, the licence to renew was revoked"),
    Confirmation.PAID_TWICE: _l("Paid twice"),
    Confirmation.REFUNDED: _l("Refunded at the payment service"),
    Confirmation.PARTLY_REFUNDED: _l("Partly refunded at the payment service"),
    Confirmation.REFUND_UNEXPECTED: _l("Refund of a payment never settled"),
}

# The emails the store sends (unknown kinds show as they are).
EMAIL_KIND_LABELS = {
    ORDER_DELIVERY: _l("Key delivery"),
    ORDER_REFUNDED: _l("Refund notice"),
    STAFF_ALERT: _l("Staff alert"),
    LOW_STOCK_ALERT: _l("Low stock alert"),
    ACCOUNT_VERIFICATION: _l("Email confirmation"),
    PASSWORD_RESET: _l("Password reset"),
    "licence_reissued": _l("New key after a reissue"),  # sent by the support desk
}

# What the timeline calls the staff actions on an order, its payments and licences
# (audit actions; others show as they are).
ACTION_LABELS = {
    "order.refund": _l("Order refunded"),
    "order.resolve": _l("Marked resolved"),
    "order.retry_fulfilment": _l("Fulfilment retried"),
    "payment.refund": _l("Payment refunded"),
    "licence.reissue": _l("Licence reissued with a new key"),
    "licence.revoked": _l("Licence revoked"),
    "licence.refunded": _l("Licence revoked by a refund"),
    "licence.seats_freed": _l("All seats of a licence freed"),
    "support.key_search": _l("Found by a licence key search"),
    "support.note_added": _l("Internal note added"),
    "support.delivery_resent": _l("Delivery email resent"),
}

# What the timeline calls the order's own events (other kinds show as they are). An
# order that cannot move to needs_attention (it is there already) notes the outcome.
EVENT_LABELS = {
    **{outcome.value: OUTCOME_LABELS[outcome] for outcome in (
        Confirmation.AMOUNT_MISMATCH, Confirmation.OUT_OF_STOCK, Confirmation.ISSUE_FAILED,
        Confirmation.NOT_RENEWABLE,
        Confirmation.PAID_TWICE, Confirmation.PARTLY_REFUNDED,
        Confirmation.REFUND_UNEXPECTED)},
    "placed": _l("Order placed"),
    "payment_started": _l("Payment started"),
    "payment_declined": _l("Payment declined"),
    "payment_refunded": _l("Payment refunded at the payment service"),
    "window_extended": _l("Payment window extended"),
    **{status.value: _l("Status: %(status)s", status=label)
       for status, label in STATUS_LABELS.items()},
}


def _label(labels: dict, value: str) -> str:
    """The label of ``value``, or ``value`` itself when it has none (an old or new kind)."""
    return str(labels.get(value, value))


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

    @property
    def status_label(self) -> str:
        return _label(LICENCE_STATUS_LABELS, self.licence.status)


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    account: User | None
    payments: list[Payment]
    licences: list[LicenceRow]
    timeline: list[TimelineEntry]

    @staticmethod
    def payment_status(payment: Payment) -> str:
        """What staff pages call the status of ``payment``."""
        return _label(PAYMENT_STATUS_LABELS, payment.status)

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
        TimelineEntry(event.created_at, "order", _label(EVENT_LABELS, event.kind),
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
            f"{money_filter(payment.amount)} · {payment.reference}"))
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
                             provider=event.provider,
                             outcome=_label(OUTCOME_LABELS, event.outcome))),
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
        kind = _label(EMAIL_KIND_LABELS, message.kind)
        entries.append(TimelineEntry(
            message.created_at, "email",
            str(_l("Email queued: %(kind)s", kind=kind)), message.recipient))
        if message.sent_at is not None:
            entries.append(TimelineEntry(
                message.sent_at, "email",
                str(_l("Email sent: %(kind)s", kind=kind)), message.recipient))
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
                      str(_l("%(action)s by %(actor)s",
                             action=_label(ACTION_LABELS, event.action), actor=event.actor)),
                      event.reason)
        for event in events
    ]
