"""Renewal reminders: which go when, once each however often (and wherever) the command
runs, in the order's language, with a renewal link that hides the key."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from store.catalogue.models import Plan, PlanKind
from store.extensions import db
from store.licensing.models import Licence, LicenceStatus
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.mail.transports import MemoryTransport
from store.renewals.links import licence_id_from_token, opt_out_link
from store.renewals.models import ReminderOptOut, RenewalReminder
from store.renewals.reminders import RENEWAL_REMINDER, send_reminders, stop_reminders
from store.vault import reveal
from tests.factories import renewable_licence

EXPIRY = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def app(make_app):
    app = make_app()
    # The renewal page the reminder links to is the lead's (store/renewals/views.py); until
    # it lands, a stand-in endpoint lets the link be built.
    if "renewals.from_link" not in app.view_functions:
        app.add_url_rule("/renovar/enlace/<token>", "renewals.from_link", lambda token: "")
    return app


def reminders(licence_id: int | None = None) -> list[int]:
    """The offsets queued so far (of one licence), in the order they were queued."""
    query = sa.select(OutboxMessage).where(OutboxMessage.kind == RENEWAL_REMINDER)
    messages = db.session.scalars(query.order_by(OutboxMessage.id))
    return [m.payload["offset_days"] for m in messages
            if licence_id is None or m.payload["licence_id"] == licence_id]


def test_reminders_go_30_7_and_1_days_before_expiry_and_3_days_after(app_context):
    licence_id = renewable_licence(EXPIRY)

    queued = [send_reminders(EXPIRY + offset) for offset in (
        -31 * DAY, -30 * DAY, -29 * DAY, -7 * DAY, -6 * DAY, -DAY, -DAY / 2,
        DAY, 2 * DAY, 3 * DAY, 10 * DAY, 89 * DAY)]

    assert queued == [0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]
    assert reminders(licence_id) == [30, 7, 1, -3]
    rows = db.session.scalars(sa.select(RenewalReminder.offset_days)
                              .where(RenewalReminder.licence_id == licence_id))
    assert sorted(rows) == [-3, 1, 7, 30]


def test_a_run_after_weeks_without_runs_sends_only_the_most_urgent_reminder(app_context):
    licence_id = renewable_licence(EXPIRY)

    assert send_reminders(EXPIRY - 2 * DAY) == 1
    assert send_reminders(EXPIRY - DAY / 2) == 1

    assert reminders(licence_id) == [7, 1]


def test_running_twice_sends_each_reminder_once(app_context):
    ids = [renewable_licence(EXPIRY + n * DAY) for n in range(3)]

    first, second = send_reminders(EXPIRY - 5 * DAY), send_reminders(EXPIRY - 5 * DAY)

    assert (first, second) == (3, 0)
    assert [reminders(licence_id) for licence_id in ids] == [[7], [7], [7]]


def test_batches_reach_every_licence(app_context):
    ids = [renewable_licence(EXPIRY) for _ in range(5)]

    assert send_reminders(EXPIRY - 3 * DAY, batch_size=2) == 5
    assert send_reminders(EXPIRY - 3 * DAY, batch_size=2) == 0
    assert {licence_id: reminders(licence_id) for licence_id in ids} == dict.fromkeys(ids, [7])


def test_two_hosts_at_once_send_one_email_per_due_reminder(app, run_at_once):
    with app.app_context():
        ids = [renewable_licence(EXPIRY) for _ in range(3)]

    results = run_at_once(4, lambda i: send_reminders(EXPIRY - 3 * DAY))

    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(results) == 3
    with app.app_context():
        assert sorted(m for i in ids for m in reminders(i)) == [7, 7, 7]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RenewalReminder)) == 3


def _revoke(licence_id: int) -> None:
    db.session.get(Licence, licence_id).status = LicenceStatus.REVOKED


def _replace(licence_id: int) -> None:
    newer = renewable_licence(EXPIRY)
    db.session.get(Licence, licence_id).replaced_by_id = newer
    db.session.get(Licence, newer).status = LicenceStatus.REVOKED  # only the old one counts


def _stop_selling_renewals(licence_id: int) -> None:
    for plan in db.session.scalars(sa.select(Plan).where(Plan.kind == PlanKind.RENEWAL)):
        plan.is_active = False


def _opt_out(licence_id: int) -> None:
    email = db.session.get(Licence, licence_id).order_line.order.email
    db.session.commit()
    stop_reminders(email.upper())


@pytest.mark.parametrize("change", [_revoke, _replace, _stop_selling_renewals, _opt_out],
                         ids=["revoked", "replaced", "no-renewal-on-sale", "opted-out"])
def test_no_reminder_for_a_licence_that_cannot_or_should_not_be_renewed(app_context, change):
    licence_id = renewable_licence(EXPIRY)
    change(licence_id)
    db.session.commit()

    assert send_reminders(EXPIRY - 3 * DAY) == 0
    assert send_reminders(EXPIRY + 5 * DAY) == 0
    assert reminders() == []


def test_no_reminder_for_a_plan_no_renewal_plan_renews(app_context):
    renewable_licence(EXPIRY, renewable=False)

    assert send_reminders(EXPIRY - 3 * DAY) == 0
    assert reminders() == []


def test_no_reminder_once_the_renewal_window_is_over(app_context):
    renewable_licence(EXPIRY)

    assert send_reminders(EXPIRY + 91 * DAY) == 0
    assert reminders() == []


def test_a_renewed_licence_is_reminded_again_before_its_new_expiry(app_context):
    licence_id = renewable_licence(EXPIRY)
    assert send_reminders(EXPIRY - 10 * DAY) == 1  # the 30-day reminder
    db.session.get(Licence, licence_id).expires_at = EXPIRY + 365 * DAY  # renewed
    db.session.commit()

    assert send_reminders(EXPIRY - DAY / 2) == 0  # nothing is due for the new expiry yet
    assert send_reminders(EXPIRY + 340 * DAY) == 1
    assert send_reminders(EXPIRY + 340 * DAY) == 0

    assert reminders(licence_id) == [30, 30]
    sent_at = db.session.scalar(sa.select(RenewalReminder.sent_at)
                                .where(RenewalReminder.licence_id == licence_id))
    assert sent_at == EXPIRY + 340 * DAY


def test_a_reminder_sent_for_a_replaced_key_counts_for_its_new_key(app_context):
    old = renewable_licence(EXPIRY)
    assert send_reminders(EXPIRY - 10 * DAY) == 1
    new = renewable_licence(EXPIRY)
    db.session.get(Licence, old).replaced_by_id = new
    db.session.commit()

    assert send_reminders(EXPIRY - 9 * DAY) == 0
    assert send_reminders(EXPIRY - 3 * DAY) == 1
    assert reminders(new) == [7]


def _deliver() -> list:
    transport = MemoryTransport()
    send_pending(transport=transport)
    return transport.sent


def _text(email) -> str:
    return email.get_body(("plain",)).get_content()


def test_the_reminder_is_in_the_order_language_and_hides_the_key(app_context):
    english = renewable_licence(EXPIRY, locale="en", full_name="Ann Smith",
                                email="ann@example.com")
    spanish = renewable_licence(EXPIRY, locale="es", full_name="Ana Pérez",
                                email="ana@example.com")
    keys = {reveal(db.session.get(Licence, i)) for i in (english, spanish)}
    send_reminders(EXPIRY - 3 * DAY)

    sent = {email["To"]: email for email in _deliver()}

    en, es = sent["ann@example.com"], sent["ana@example.com"]
    assert en["Subject"].startswith("Your Product") and "expires on March 1, 2027" in en["Subject"]
    assert "vence el 1 de marzo de 2027" in es["Subject"]
    assert "Hello Ann Smith," in _text(en) and "Hola, Ana Pérez:" in _text(es)
    assert "Renewal from 30.00 CUP (1 year, 1 device)" in _text(en)
    for email, licence_id in ((en, english), (es, spanish)):
        body = _text(email) + email.get_body(("html",)).get_content()
        key = reveal(db.session.get(Licence, licence_id))
        assert key[-4:] in body
        assert not [k for k in keys if k in body]
        assert opt_out_link(email["To"]) in body
        assert "/renovar/" in body


def test_the_reminder_after_expiry_says_it_expired(app_context):
    renewable_licence(EXPIRY, locale="en")
    send_reminders(EXPIRY + 3 * DAY)

    (email,) = _deliver()

    assert "expired on March 1, 2027" in email["Subject"]
    assert "Your licence expired on March 1, 2027" in _text(email)


def test_the_renewal_link_names_the_licence_until_its_renewal_window_ends(app_context):
    licence_id = renewable_licence(EXPIRY)
    send_reminders(EXPIRY - 3 * DAY)
    (email,) = _deliver()

    link = re.search(r"http://\S*/renovar/\S+", _text(email))[0]
    token = link.rstrip("/").rsplit("/", 1)[1]

    assert licence_id_from_token(token, now=EXPIRY + 89 * DAY) == licence_id
    assert licence_id_from_token(token, now=EXPIRY + 91 * DAY) is None


def test_an_opt_out_is_recorded_once_and_stops_later_reminders(app_context, count):
    licence_id = renewable_licence(EXPIRY, email="Ana@Example.com")
    assert send_reminders(EXPIRY - 10 * DAY) == 1

    assert stop_reminders("ana@example.com") is True
    assert stop_reminders("ANA@example.com") is False

    assert count(ReminderOptOut) == 1
    assert send_reminders(EXPIRY - 3 * DAY) == 0
    assert reminders(licence_id) == [30]


def test_the_command_queues_the_reminders_due_now_and_says_how_many(app, count):
    with app.app_context():
        renewable_licence(datetime.now(UTC) + 5 * DAY)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["store", "send-reminders"])
    second = runner.invoke(args=["store", "send-reminders"])

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert first.output.strip() == "Recordatorios de renovación en cola: 1"
    assert second.output.strip() == "Recordatorios de renovación en cola: 0"
    assert count(OutboxMessage, OutboxMessage.kind == RENEWAL_REMINDER) == 1


def test_the_queries_to_find_due_reminders_do_not_grow_with_the_licences(app, count_queries):
    with app.app_context():
        for _ in range(2):
            renewable_licence(EXPIRY)
        send_reminders(EXPIRY - 3 * DAY)
        with count_queries() as few:
            assert send_reminders(EXPIRY - 3 * DAY) == 0
        for _ in range(6):
            renewable_licence(EXPIRY)
        send_reminders(EXPIRY - 3 * DAY)
        with count_queries() as many:
            assert send_reminders(EXPIRY - 3 * DAY) == 0

    assert many.count == few.count
