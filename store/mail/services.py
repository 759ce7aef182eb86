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
from email.headerregistry import Address
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from store.dbtypes import utcnow
from store.extensions import db
from store.mail.kinds import renderer_for
from store.mail.models import OutboxMessage, OutboxStatus
from store.mail.transports import Transport
from store.unit_of_work import use_case

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)


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
    """Push the due messages' next attempt past the lease, so no other worker takes them."""
    with use_case() as uow:
        due = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING,
                   OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for message in due:
            message.next_attempt_at = now + LEASE
        ids = [message.id for message in due]
        uow.commit()
    return ids


def _email_for(message: OutboxMessage) -> EmailMessage:
    """Build the email of an outbox row, in its language. Needs an app context only.

    Raises UnknownMessageKind, or ValueError when the recipient is not one plain address
    (the header is built with the standard library's Address, never by pasting text).
    """
    renderer = renderer_for(message.kind)
    with force_locale(message.locale):
        rendered = renderer(message)
    email = EmailMessage()
    email["Subject"] = rendered.subject
    email["From"] = current_app.config["STORE_MAIL_FROM"]
    email["To"] = Address(addr_spec=message.recipient)
    email["X-Outbox-Id"] = str(message.id)
    email.set_content(rendered.text)
    email.add_alternative(rendered.html, subtype="html")
    return email


def _deliver(message_id: int, transport: Transport, now: datetime) -> bool:
    """Send one leased message, then record the outcome in a use case of its own."""
    error = None
    try:
        transport.send(_email_for(db.session.get(OutboxMessage, message_id)))
    except Exception as failure:  # noqa: BLE001 - worker boundary: record, log, retry later
        error = failure
    with use_case() as uow:
        message = db.session.get(OutboxMessage, message_id)
        message.attempts += 1
        if error is None:
            message.status, message.sent_at, message.last_error = (
                OutboxStatus.SENT, utcnow(), None
            )
        else:
            message.next_attempt_at = now + backoff(message.attempts)
            message.last_error = f"{type(error).__name__}: {error}"[:500]
            log.warning("outbox message %s not delivered (attempt %s): %s",
                        message_id, message.attempts, type(error).__name__)
        uow.commit()
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
