"""Asking providers: the buyer's return completes the payment, reconciling queries the
stale ones, and both act through the notifications' path, once per event."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence
from store.mail.models import OutboxMessage
from store.money import Money
from store.orders.models import Order, OrderStatus
from store.payments.checking import PaymentCheck, check_payment, reconcile_payments
from store.payments.gateway import PaymentOutcome, PaymentProviderError, ProviderPayment
from store.payments.models import Payment, PaymentStatus, ProcessedEvent
from store.payments.registry import enabled_providers
from store.payments.services import Confirmation, confirm_event, confirm_payment, pay_order
from tests.conftest import Till
from tests.fakes.provider import ScriptedProvider

LATER = timedelta(minutes=20)


@pytest.fixture
def app(make_app, monkeypatch):
    ScriptedProvider.plug_in(monkeypatch)
    return make_app(STORE_PAYMENT_PROVIDERS="scripted,sandbox")


@pytest.fixture
def scripted(app) -> ScriptedProvider:
    with app.app_context():
        return enabled_providers()["scripted"]


@pytest.fixture
def state(app, count):
    """What a test asserts of an order: its status, payment, keys, emails and events."""

    def read(order_id: int) -> dict:
        with app.app_context():
            order = db.session.get(Order, order_id)
            payments = db.session.scalars(
                sa.select(Payment.status).where(Payment.order_id == order_id)
                .order_by(Payment.id)
            ).all()
            return {
                "order": order.status, "payments": list(payments),
                "licences": count(Licence),
                "emails": count(OutboxMessage, OutboxMessage.kind == "order_delivery"),
                "events": count(ProcessedEvent),
            }

    return read


def test_a_buyer_back_from_a_provider_that_approved_gets_the_keys(app, till, scripted, state):
    order_id, reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["approved"]

    with app.app_context():
        checked = check_payment(order_id, "scripted")
        kept = db.session.scalar(sa.select(ProcessedEvent.payload))

    assert checked == PaymentCheck.SETTLED
    assert [(question, asked.reference) for question, asked in scripted.asked] == [
        ("complete", reference)
    ]
    assert state(order_id) == {"order": OrderStatus.FULFILLED,
                               "payments": [PaymentStatus.APPROVED], "licences": 1,
                               "emails": 1, "events": 1}
    assert '"source": "complete"' in kept


def test_a_pending_answer_leaves_the_order_waiting_and_fulfils_nothing(
    app, till, scripted, state
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["pending"]

    with app.app_context():
        checked = check_payment(order_id, "scripted")

    assert checked == PaymentCheck.PENDING
    assert state(order_id) == {"order": OrderStatus.PENDING_PAYMENT,
                               "payments": [PaymentStatus.PENDING], "licences": 0,
                               "emails": 0, "events": 0}


@pytest.mark.parametrize("failure", ["timeout", "error"])
def test_a_provider_that_fails_on_return_changes_nothing_and_the_order_stays_payable(
    app, till, scripted, state, failure
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = [failure]

    with app.app_context(), pytest.raises(PaymentProviderError):
        check_payment(order_id, "scripted")
    with app.app_context():
        pay_at = pay_order(order_id, "sandbox", payment_window=Till.WINDOW)

    assert pay_at.startswith("http://127.0.0.1:5000/pago-de-prueba/")
    assert state(order_id) == {"order": OrderStatus.PENDING_PAYMENT,
                               "payments": [PaymentStatus.PENDING, PaymentStatus.PENDING],
                               "licences": 0, "emails": 0, "events": 0}


def test_an_answer_about_another_payment_is_refused_and_changes_nothing(
    app, till, scripted, state
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["stranger"]

    with app.app_context(), pytest.raises(PaymentProviderError):
        check_payment(order_id, "scripted")

    assert state(order_id)["events"] == 0
    assert state(order_id)["order"] == OrderStatus.PENDING_PAYMENT


def test_an_approval_for_another_amount_needs_attention_instead_of_keys(
    app, till, scripted, state
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers, scripted.charged = ["approved"], Money(4999, "CUP")

    with app.app_context():
        check_payment(order_id, "scripted")

    assert state(order_id) == {"order": OrderStatus.NEEDS_ATTENTION,
                               "payments": [PaymentStatus.MISMATCH], "licences": 0,
                               "emails": 0, "events": 1}


def test_a_return_after_the_webhook_finds_nothing_to_ask_and_issues_no_second_key(
    app, till, scripted, state
):
    order_id, reference = till.check_out_generated()  # the sandbox notifies, then returns
    assert till.notify(reference) == Confirmation.FULFILLED

    with app.app_context():
        checked = check_payment(order_id, "sandbox")

    assert checked == PaymentCheck.NOTHING_TO_CHECK
    assert state(order_id) == {"order": OrderStatus.FULFILLED,
                               "payments": [PaymentStatus.APPROVED], "licences": 1,
                               "emails": 1, "events": 1}


def test_the_same_event_by_webhook_and_by_return_acts_once(app, till, state):
    order_id, reference = till.check_out_generated()
    with app.app_context():
        sandbox = enabled_providers()["sandbox"]
        # The gateway page answered: its event is known to the provider ...
        body, headers = sandbox.answer(reference, PaymentOutcome.APPROVED, Money(5000, "CUP"))
        # ... the buyer's return brings it first, the webhook after.
        assert check_payment(order_id, "sandbox") == PaymentCheck.SETTLED
        assert confirm_payment("sandbox", body, headers) == Confirmation.DUPLICATE

    assert state(order_id) == {"order": OrderStatus.FULFILLED,
                               "payments": [PaymentStatus.APPROVED], "licences": 1,
                               "emails": 1, "events": 1}


def test_reconciling_asks_only_about_payments_pending_longer_than_asked(
    app, till, scripted, state
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["approved"]

    with app.app_context():
        too_fresh = reconcile_payments(timedelta(minutes=15))
        stale = reconcile_payments(timedelta(minutes=15), now=utcnow() + LATER)

    assert (too_fresh.asked, stale.asked, stale.settled) == (0, 1, 1)
    assert [question for question, _asked in scripted.asked] == ["query"]
    assert state(order_id)["order"] == OrderStatus.FULFILLED


def test_reconciling_a_decline_fails_the_order_and_frees_it_for_another_try(
    app, till, scripted, state
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["declined"]

    with app.app_context():
        report = reconcile_payments(timedelta(0), now=utcnow() + LATER)

    assert (report.settled, report.pending, report.failed) == (1, 0, 0)
    assert state(order_id)["order"] == OrderStatus.FAILED
    assert state(order_id)["payments"] == [PaymentStatus.DECLINED]


def test_reconciling_goes_on_past_a_provider_that_fails_and_asks_it_again_next_run(
    app, till, scripted, state
):
    first, _ = till.check_out_generated(provider="scripted")
    second, _ = till.check_out_generated(provider="scripted")
    scripted.answers = ["timeout", "approved"]

    with app.app_context():
        report = reconcile_payments(timedelta(0), now=utcnow() + LATER)
    assert (report.asked, report.settled, report.failed) == (2, 1, 1)
    # Newest first: the second order's payment met the timeout, the first one's was paid.
    assert state(second)["order"] == OrderStatus.PENDING_PAYMENT
    assert state(first)["order"] == OrderStatus.FULFILLED

    scripted.answers = ["error"]
    with app.app_context():
        again = reconcile_payments(timedelta(0), now=utcnow() + LATER)
    assert (again.asked, again.failed) == (1, 1)  # only the one still pending


def test_a_decline_arriving_after_the_approval_leaves_the_order_fulfilled(
    app, till, scripted, state
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["approved", "declined"]

    with app.app_context():
        check_payment(order_id, "scripted")
        # The payment is no longer pending, so reconciling asks nothing more ...
        assert reconcile_payments(timedelta(0), now=utcnow() + LATER).asked == 0
        # ... and a late decline of it, however it arrives, is ignored.
        payment = db.session.scalar(sa.select(Payment).where(Payment.order_id == order_id))
        late = scripted.query_payment(
            ProviderPayment(payment.reference, payment.provider_reference, payment.amount)
        )
        assert confirm_event("scripted", late, "{}") == Confirmation.IGNORED

    assert state(order_id) == {"order": OrderStatus.FULFILLED,
                               "payments": [PaymentStatus.APPROVED], "licences": 1,
                               "emails": 1, "events": 2}


def test_an_approval_arriving_after_a_decline_still_delivers_what_was_paid(
    app, till, scripted, state
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["declined", "approved"]

    with app.app_context():
        check_payment(order_id, "scripted")
        payment = db.session.scalar(sa.select(Payment).where(Payment.order_id == order_id))
        late = scripted.query_payment(
            ProviderPayment(payment.reference, payment.provider_reference, payment.amount)
        )
        outcome = confirm_event("scripted", late, "{}")

    assert outcome == Confirmation.FULFILLED
    assert state(order_id) == {"order": OrderStatus.FULFILLED,
                               "payments": [PaymentStatus.APPROVED], "licences": 1,
                               "emails": 1, "events": 2}


def test_two_reconcile_runs_at_once_fulfil_the_order_once(
    app, till, scripted, state, run_at_once
):
    order_id, _reference = till.check_out_generated(provider="scripted")
    scripted.answers = ["approved", "approved"]

    reports = run_at_once(2, lambda i: reconcile_payments(timedelta(0), now=utcnow() + LATER))

    assert not [report for report in reports if isinstance(report, Exception)]
    assert sum(report.settled for report in reports) >= 1
    assert state(order_id) == {"order": OrderStatus.FULFILLED,
                               "payments": [PaymentStatus.APPROVED], "licences": 1,
                               "emails": 1, "events": 1}


def test_reconciling_leaves_alone_a_payment_of_an_order_paid_another_way(
    app, till, scripted, state
):
    order_id, _ = till.check_out_generated(provider="scripted")
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.status = OrderStatus.FULFILLED  # paid by another method meanwhile
        db.session.commit()
    scripted.answers = ["approved"]

    with app.app_context():
        report = reconcile_payments(timedelta(0), now=utcnow() + LATER)

    assert report.asked == 0 and scripted.answers == ["approved"]  # never asked
