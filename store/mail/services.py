"""Deliver the outbox: build each due message, hand it to the transport, retry with backoff.

Messages are leased (pushed into the future) and committed before sending, so no database
lock is held while a mail server answers, and two workers never send the same message.
A crash after sending and before marking means the message is sent again: at least once,
never lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from store.dbtypes import utcnow
from store.extensions import begin_write, db
from store.mail.models import OutboxMessage, OutboxStatus
from store.mail.transports import Transport

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)


class UnknownMessageKind(LookupError):
    """An outbox row names a kind no renderer knows (a programming error)."""


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def get_transport() -> Transport:
    return current_app.extensions["store_mail_transport"]


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes between tries, at most six hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _lease_due(now: datetime, limit: int) -> list[int]:
    begin_write()
    due = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for message in due:
        message.next_attempt_at = now + LEASE
    ids = [message.id for message in due]
    db.session.commit()
    return ids


def _email_for(message: OutboxMessage) -> EmailMessage:
    renderer = RENDERERS.get(message.kind)
    if renderer is None:
        raise UnknownMessageKind(message.kind)
    base_url = current_app.config["STORE_BASE_URL"]
    with current_app.test_request_context(base_url=base_url), force_locale(message.locale):
        subject, text, html = renderer(message)
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = current_app.config["STORE_MAIL_FROM"]
    email["To"] = message.recipient
    email["X-Outbox-Id"] = str(message.id)
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    return email


def _deliver(message_id: int, transport: Transport, now: datetime) -> bool:
    """Send one leased message, then record the outcome in a transaction of its own."""
    error = None
    try:
        transport.send(_email_for(db.session.get(OutboxMessage, message_id)))
    except Exception as failure:  # noqa: BLE001 - worker boundary: record, log, retry later
        error = failure
    begin_write()
    message = db.session.get(OutboxMessage, message_id)
    message.attempts += 1
    if error is None:
        message.status, message.sent_at, message.last_error = OutboxStatus.SENT, utcnow(), None
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        log.warning("outbox message %s not delivered (attempt %s): %s",
                    message_id, message.attempts, type(error).__name__)
    db.session.commit()
    return error is None


def send_pending(
    *, transport: Transport | None = None, now: datetime | None = None, limit: int = 50
) -> DeliveryReport:
    """Send every message due at ``now`` (batches of ``limit``); failures wait and retry."""
    transport = transport or get_transport()
    now = now or utcnow()
    report = DeliveryReport()
    while ids := _lease_due(now, limit):
        for message_id in ids:
            if _deliver(message_id, transport, now):
                report.sent += 1
            else:
                report.failed += 1
    return report


def _render(template: str, subject: str, **context) -> tuple[str, str, str]:
    """Subject, plain text and HTML of ``mail/<template>.txt`` and ``.html``."""
    return (
        subject,
        render_template(f"mail/{template}.txt", **context),
        render_template(f"mail/{template}.html", **context),
    )


def _order_delivery(message: OutboxMessage) -> tuple[str, str, str]:
    from store.orders.services import order_link, order_view

    view = order_view(message.payload["order_id"])
    return _render(
        "order_delivery", _("Your licences – order %(number)s", number=view.order.number),
        view=view, order=view.order, link=order_link(view.order, external=True),
    )


def _staff_alert(message: OutboxMessage) -> tuple[str, str, str]:
    from store.orders.models import Order

    order = db.session.get(Order, message.payload["order_id"])
    return _render(
        "staff_alert", _("Attention needed: order %(number)s", number=order.number),
        order=order, reason=message.payload.get("reason", ""),
    )


RENDERERS = {"order_delivery": _order_delivery, "staff_alert": _staff_alert}
