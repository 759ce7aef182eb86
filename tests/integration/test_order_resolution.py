"""Refunds, retried fulfilment and resolved orders, through the use cases the back office
calls. Runs on the suite's database: SQLite locally, PostgreSQL with STORE_REQUIRE_PG=1.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.audit.models import Actor, AuditEvent
from store.catalogue.models import Plan
from store.extensions import db
from store.licensing.models import Licence, LicenceStatus
from store.licensing.services import OutOfStock
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.mail.transports import MemoryTransport
from store.orders.models import Order, OrderLine, OrderStatus
from store.payments.attention import NotWaitingForAttention, resolve, retry_fulfilment
from store.payments.gateway import PaymentProviderError
from store.payments.models import Payment, PaymentStatus
from store.payments.providers.sandbox import SandboxProvider
from store.payments.refunds import AlreadyRefunded, NotRefundable, refund_order
from store.payments.services import Confirmation
from store.vault import reveal
from tests.factories import make_pool

ADMIN = Actor("admin@example.com", 1)


@pytest.fixture
def fulfilled(till):
    """Place and pay an order of two generated licences; return its id."""

    def make(locale: str = "es") -> int:
        order_id, reference = till.check_out_generated(quantity=2, locale=locale)
        assert till.notify(reference, event=f"evt-{reference}") == Confirmation.FULFILLED
        return order_id

    return make


@pytest.fixture
def stranded(till) -> tuple[int, int]:
    return till.strand()


@pytest.fixture
def refund_calls(monkeypatch) -> list:
    """Count the sandbox provider's refunds (it still refunds)."""
    calls = []
    original = SandboxProvider.refund

    def counted(self, payment, amount):
        calls.append(payment.reference)
        return original(self, payment, amount)

    monkeypatch.setattr(SandboxProvider, "refund", counted)
    return calls


def licence_statuses(order_id: int) -> list[LicenceStatus]:
    return list(db.session.scalars(
        sa.select(Licence.status).join(OrderLine, Licence.order_line_id == OrderLine.id)
        .where(OrderLine.order_id == order_id).order_by(Licence.id)))


def emails(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_a_refund_revokes_exactly_that_orders_licences_and_queues_one_email(
    app, fulfilled, refund_calls
):
    order_id, other_id = fulfilled(locale="en"), fulfilled()

    with app.app_context():
        (payment,) = refund_order(order_id, reason="customer asked", actor=ADMIN)

        assert db.session.get(Order, order_id).status == OrderStatus.REFUNDED
        assert licence_statuses(order_id) == [LicenceStatus.REFUNDED] * 2
        assert licence_statuses(other_id) == [LicenceStatus.ACTIVE] * 2
        assert db.session.get(Order, other_id).status == OrderStatus.FULFILLED
        payment = db.session.get(Payment, payment.id)
        assert payment.status == PaymentStatus.REFUNDED
        assert payment.refund_reference == f"sandbox-refund-{payment.reference}"
        assert payment.refunded_at is not None
        (email,) = emails("order_refunded")
        assert (email.order_id, email.locale) == (order_id, "en")
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["licence.refunded", "licence.refunded", "order.refund",
                           "payment.refund"]
        order_event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "order.refund"))
        assert order_event.details == {"changes": {"status": ["fulfilled", "refunded"]}}
        assert (order_event.actor, order_event.actor_id, order_event.reason) == (
            "admin@example.com", 1, "customer asked")
    assert len(refund_calls) == 1


def test_the_refund_email_is_sent_in_the_orders_language_without_keys(app, fulfilled):
    order_id, english_id = fulfilled(), fulfilled(locale="en")
    transport = MemoryTransport()
    with app.app_context():
        send_pending(transport=transport)  # the delivery emails
        keys = [reveal(licence) for licence in db.session.scalars(sa.select(Licence))]
        refund_order(order_id, reason="duplicate purchase", actor=ADMIN)
        refund_order(english_id, reason="duplicate purchase", actor=ADMIN)
        number = db.session.get(Order, order_id).number

        send_pending(transport=transport)

    spanish, english = transport.sent[2:]
    text = spanish.get_body(("plain",)).get_content()
    assert spanish["Subject"] == f"Reembolso del pedido {number}"
    assert "100.00 CUP" in text and "ya no funcionan" in text
    assert english["Subject"].startswith("Refund of order ")
    assert not any(key in text or key in str(english) for key in keys)


def test_a_provider_failure_changes_nothing(app, fulfilled, monkeypatch):
    order_id = fulfilled()

    def refuse(self, payment, amount):
        raise PaymentProviderError("gateway timeout")

    monkeypatch.setattr(SandboxProvider, "refund", refuse)
    with app.app_context():
        with pytest.raises(PaymentProviderError):
            refund_order(order_id, reason="customer asked", actor=ADMIN)

        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
        assert licence_statuses(order_id) == [LicenceStatus.ACTIVE] * 2
        assert db.session.scalar(sa.select(Payment.status)) == PaymentStatus.APPROVED
        assert emails("order_refunded") == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_a_second_refund_is_refused_without_asking_the_provider(app, fulfilled, refund_calls):
    order_id = fulfilled()
    with app.app_context():
        refund_order(order_id, reason="first", actor=ADMIN)

        with pytest.raises(AlreadyRefunded):
            refund_order(order_id, reason="second", actor=ADMIN)

        assert len(emails("order_refunded")) == 1
    assert len(refund_calls) == 1


def test_an_unpaid_order_cannot_be_refunded(app, till, refund_calls):
    order_id, _ = till.check_out_generated()
    with app.app_context():
        with pytest.raises(NotRefundable):
            refund_order(order_id, reason="why not", actor=ADMIN)
        assert db.session.get(Order, order_id).status == OrderStatus.PENDING_PAYMENT
    assert refund_calls == []


def test_simultaneous_refunds_make_one(app, fulfilled, refund_calls, run_at_once):
    order_id = fulfilled()

    results = run_at_once(
        6, lambda i: refund_order(order_id, reason=f"admin {i}", actor=Actor(f"a{i}@x.cu", i)))

    refunded = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, AlreadyRefunded)]
    assert (len(refunded), len(refused)) == (1, 5), results
    assert len(refund_calls) == 1
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.REFUNDED
        assert len(emails("order_refunded")) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "order.refund")) == 1


def test_an_order_that_needs_attention_with_a_settled_payment_can_be_refunded(
    app, stranded, refund_calls
):
    order_id, _ = stranded
    with app.app_context():
        refund_order(order_id, reason="no keys left", actor=ADMIN)
        assert db.session.get(Order, order_id).status == OrderStatus.REFUNDED
        assert licence_statuses(order_id) == []
    assert len(refund_calls) == 1


def test_retrying_fulfilment_after_importing_keys_issues_and_queues_the_delivery(
    app, stranded
):
    order_id, plan_id = stranded
    with app.app_context():
        make_pool(db.session.get(Plan, plan_id), 1, prefix="NEW")
        db.session.commit()

        retry_fulfilment(order_id, reason="keys imported", actor=ADMIN)

        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED
        assert licence_statuses(order_id) == [LicenceStatus.ACTIVE]
        assert [m.order_id for m in emails("order_delivery")] == [order_id]
        event = db.session.scalar(sa.select(AuditEvent))
        assert (event.action, event.reason) == ("order.retry_fulfilment", "keys imported")
        assert event.details == {"changes": {"status": ["needs_attention", "fulfilled"]}}


def test_retrying_with_the_pool_still_empty_changes_nothing(app, stranded):
    order_id, _ = stranded
    with app.app_context():
        with pytest.raises(OutOfStock):
            retry_fulfilment(order_id, reason="try again", actor=ADMIN)

        assert db.session.get(Order, order_id).status == OrderStatus.NEEDS_ATTENTION
        assert licence_statuses(order_id) == []
        assert emails("order_delivery") == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_resolving_an_order_makes_it_fulfilled_with_the_note_and_sends_nothing(app, stranded):
    order_id, _ = stranded
    with app.app_context():
        resolve(order_id, reason="keys sent by hand", actor=ADMIN)

        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.FULFILLED
        assert order.events[-1].note == "resolved: keys sent by hand"
        assert emails("order_delivery") == []
        assert db.session.scalar(sa.select(AuditEvent.action)) == "order.resolve"


def test_only_an_order_that_needs_attention_can_be_retried_or_resolved(app, fulfilled):
    order_id = fulfilled()
    with app.app_context():
        for use_case in (retry_fulfilment, resolve):
            with pytest.raises(NotWaitingForAttention):
                use_case(order_id, reason="no", actor=ADMIN)
        assert db.session.get(Order, order_id).status == OrderStatus.FULFILLED


def test_an_order_paid_twice_gets_both_payments_back(app, fulfilled, refund_calls):
    order_id = fulfilled()
    with app.app_context():
        first = db.session.scalar(sa.select(Payment).where(Payment.order_id == order_id))
        db.session.add(Payment(
            order_id=order_id, provider="sandbox", reference="second-payment",
            amount_minor=first.amount_minor, currency=first.currency,
            order_amount_minor=first.order_amount_minor, order_currency=first.order_currency,
            status=PaymentStatus.APPROVED))
        db.session.commit()

        refunded = refund_order(order_id, reason="paid twice", actor=ADMIN)

        assert [p.reference for p in refunded] == [first.reference, "second-payment"]
        statuses = db.session.scalars(sa.select(Payment.status).where(
            Payment.order_id == order_id)).all()
        assert statuses == [PaymentStatus.REFUNDED] * 2
    assert refund_calls == [first.reference, "second-payment"]


def test_a_refunded_payment_stays_refunded_when_the_provider_notifies_again(
        app, fulfilled, till):
    order_id = fulfilled()
    with app.app_context():
        (payment,) = refund_order(order_id, reason="customer asked", actor=ADMIN)
        reference = payment.reference

    again = till.notify(reference, event="evt-after-the-refund")

    assert again == Confirmation.ALREADY_PAID
    with app.app_context():
        assert db.session.get(Payment, payment.id).status == PaymentStatus.REFUNDED
        assert db.session.get(Order, order_id).status == OrderStatus.REFUNDED
        assert emails("staff_alert") == []


def test_an_order_fulfilled_on_retry_counts_as_paid_from_then(app, stranded):
    order_id, plan_id = stranded
    with app.app_context():
        db.session.get(Order, order_id).paid_at = None  # its first payment did not match
        make_pool(db.session.get(Plan, plan_id), 1, prefix="NEW")
        db.session.commit()

        retry_fulfilment(order_id, reason="keys imported", actor=ADMIN)

        assert db.session.get(Order, order_id).paid_at is not None
