"""The email outbox: queued with the change, delivered with retries, nothing lost."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence
from store.mail.models import OutboxMessage, OutboxStatus
from store.mail.services import send_pending
from store.mail.transports import FileTransport, MemoryTransport
from store.money import Money
from store.orders.models import Order
from store.vault import reveal


class BrokenSmtp:
    """A transport whose mail server is down."""

    def __init__(self, error: Exception) -> None:
        self.error, self.calls = error, 0

    def send(self, message) -> None:
        self.calls += 1
        raise self.error


@pytest.fixture
def paid_order(till):
    order_id, reference = till.check_out_generated(quantity=2)
    till.notify(reference)
    return order_id


def test_the_delivery_email_holds_the_keys_and_the_order_link_in_spanish(app, paid_order):
    transport = MemoryTransport()
    with app.app_context():
        report = send_pending(transport=transport)
        keys = {reveal(lic) for lic in db.session.scalars(sa.select(Licence))}
        order = db.session.get(Order, paid_order)
        message = transport.sent[0]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert (report.sent, report.failed, len(transport.sent)) == (1, 0, 1)
        assert message["To"] == "ana@example.com"
        assert message["Subject"] == f"Tus licencias – pedido {order.number}"
        assert all(key in text and key in html for key in keys) and len(keys) == 2
        assert f"/pedido/{order.number}/?t=" in text and "100.00 CUP" in text
        assert db.session.scalar(sa.select(OutboxMessage.status)) == OutboxStatus.SENT


def test_the_outbox_row_holds_no_key_only_what_to_render(app, paid_order):
    with app.app_context():
        keys = [reveal(lic) for lic in db.session.scalars(sa.select(Licence))]
        row = db.session.scalar(sa.select(OutboxMessage))
        assert row.payload == {"order_id": paid_order}
        assert not any(key in str(row.payload) for key in keys)


def test_an_order_placed_in_english_gets_its_email_in_english(app, till):
    _order_id, reference = till.check_out_generated(locale="en")
    till.notify(reference)
    transport = MemoryTransport()
    with app.app_context():
        send_pending(transport=transport)
    assert transport.sent[0]["Subject"].startswith("Your licences – order ")
    assert "valid until" in transport.sent[0].get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "error", [smtplib.SMTPServerDisconnected("gone"), ConnectionRefusedError(111, "refused"),
              TimeoutError("timed out")],
    ids=["disconnected", "refused", "timeout"],
)
def test_a_mail_server_outage_keeps_the_message_and_retries_it_later(app, paid_order, error):
    broken, working = BrokenSmtp(error), MemoryTransport()
    now = utcnow()
    with app.app_context():
        first = send_pending(transport=broken, now=now)
        row = db.session.scalar(sa.select(OutboxMessage))
        assert (first.sent, first.failed, broken.calls) == (0, 1, 1)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
        assert row.next_attempt_at > now and type(error).__name__ in row.last_error

        too_soon = send_pending(transport=working, now=now + timedelta(seconds=10))
        assert (too_soon.sent, len(working.sent)) == (0, 0)

        later = send_pending(transport=working, now=now + timedelta(hours=1))
        assert (later.sent, len(working.sent)) == (1, 1)
        row = db.session.scalar(sa.select(OutboxMessage))
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, None)


def test_a_sent_message_is_not_sent_again(app, paid_order):
    transport = MemoryTransport()
    with app.app_context():
        send_pending(transport=transport)
        send_pending(transport=transport, now=utcnow() + timedelta(days=1))
    assert len(transport.sent) == 1


def test_the_file_transport_writes_eml_files_under_instance_mail(app, paid_order, tmp_path):
    transport = FileTransport(tmp_path / "mail")
    with app.app_context():
        send_pending(transport=transport)
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and b"Subject:" in files[0].read_bytes()


def test_the_send_mail_command_delivers_once_and_exits(make_app, paid_order):
    app = make_app(STORE_MAIL_TRANSPORT="memory")
    result = app.test_cli_runner().invoke(args=["store", "send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "Enviados: 1, por reintentar: 0" in result.output
    assert len(app.extensions["store_mail_transport"].sent) == 1


def test_a_staff_alert_names_the_order_and_the_reason(app, till):
    order_id, reference = till.check_out_generated()

    till.notify(reference, amount=Money(1, "CUP"))
    transport = MemoryTransport()
    with app.app_context():
        send_pending(transport=transport)
        number = db.session.get(Order, order_id).number
    alert = transport.sent[0]
    assert alert["To"] == "staff@localhost"
    assert alert["Subject"] == f"Requiere atención: pedido {number}"
    assert "0.01 CUP" in alert.get_body(("plain",)).get_content()
