"""Each area registers its own email kinds; the outbox knows no area."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.extensions import db
from store.mail.kinds import RenderedEmail, UnknownMessageKind, register_email_kind
from store.mail.models import OutboxMessage, OutboxStatus, queue
from store.mail.services import send_pending
from store.mail.transports import MemoryTransport
from store.unit_of_work import use_case


def test_a_kind_registered_by_an_area_is_queued_and_delivered_in_its_language(app):
    rendered = []

    def render_greeting(message) -> RenderedEmail:
        rendered.append(message.payload)
        from flask_babel import get_locale

        return RenderedEmail(f"Hello ({get_locale()})", "text body", "<p>html body</p>")

    register_email_kind(app, "greeting", render_greeting)
    transport = MemoryTransport()
    with app.app_context():
        with use_case() as uow:
            queue("greeting", "ana@example.com", locale="en", user_id=7)
            uow.commit()
        report = send_pending(transport=transport)
        status = db.session.scalar(sa.select(OutboxMessage.status))

    assert (report.sent, status) == (1, OutboxStatus.SENT)
    assert rendered == [{"user_id": 7}]
    assert transport.sent[0]["Subject"] == "Hello (en)"
    assert transport.sent[0]["To"] == "ana@example.com"


def test_the_store_registers_the_order_emails_from_the_orders_area(app):
    kinds = app.extensions["store_mail_kinds"]
    assert {"order_delivery", "staff_alert"} <= set(kinds)
    assert {kinds[kind].__module__ for kind in ("order_delivery", "staff_alert")} == {
        "store.orders.emails"
    }


def test_the_renewals_area_registers_the_reminder_email(app):
    kinds = app.extensions["store_mail_kinds"]
    assert kinds["renewal_reminder"].__module__ == "store.renewals.emails"


def test_a_kind_no_area_registered_is_refused_when_queued_and_nothing_is_written(app, count):
    with app.app_context(), pytest.raises(UnknownMessageKind), use_case() as uow:
        queue("newsletter", "ana@example.com", locale="es")
        uow.commit()
    assert count(OutboxMessage) == 0


def test_registering_the_same_kind_twice_is_a_mistake(app):
    with pytest.raises(ValueError, match="registered twice"):
        register_email_kind(app, "order_delivery", lambda message: None)


@pytest.mark.parametrize(
    "recipient", ["ana@example.com, otro@example.com", "Ana <ana@example.com>\r\nBcc: x@y.z"],
    ids=["a-list", "a-header-injection"],
)
def test_a_recipient_that_is_not_one_plain_address_is_never_sent(app, count, recipient):
    register_email_kind(app, "greeting", lambda m: RenderedEmail("Hi", "text", "<p>html</p>"))
    transport = MemoryTransport()
    with app.app_context():
        with use_case() as uow:
            queue("greeting", recipient, locale="es")
            uow.commit()
        report = send_pending(transport=transport)
        row = db.session.scalar(sa.select(OutboxMessage))

    assert (report.sent, report.failed, transport.sent) == (0, 1, [])
    assert row.status == OutboxStatus.PENDING and row.last_error
