"""Two agents (or two tabs) reissuing one licence at once give one new key, not two.

On PostgreSQL (CI, STORE_REQUIRE_PG=1) the licence's row lock (FOR UPDATE) serialises
them; on SQLite BEGIN IMMEDIATE does.
"""

from __future__ import annotations

import sqlalchemy as sa

from store.audit.models import Actor, AuditEvent
from store.extensions import db
from store.licensing.models import Licence
from store.licensing.services import LicenceNotActive
from store.mail.models import OutboxMessage
from store.support.services import LICENCE_REISSUED, reissue_licence
from tests.factories import issue_licence


def test_two_tabs_reissuing_one_licence_at_once_give_one_new_key(app, run_at_once, count):
    with app.app_context():
        _key, licence_id = issue_licence(seats=2)
    agent = Actor("agente@example.com")

    results = run_at_once(2, lambda i: reissue_licence(
        licence_id, reason=f"tab {i}", actor=agent).id)

    new_ids = [r for r in results if isinstance(r, int)]
    assert len(new_ids) == 1, results
    assert [type(r) for r in results if not isinstance(r, int)] == [LicenceNotActive]
    assert count(Licence) == 2
    assert count(OutboxMessage, OutboxMessage.kind == LICENCE_REISSUED) == 1
    assert count(AuditEvent, AuditEvent.action == "licence.reissue") == 1
    with app.app_context():
        assert db.session.get(Licence, licence_id).replaced_by_id == new_ids[0]
        assert db.session.scalar(sa.select(Licence.status).where(
            Licence.id == new_ids[0])) == "active"


def test_a_refund_and_a_reissue_at_once_leave_no_working_key_and_the_refund_goes_through(
        app, till, run_at_once):
    """The reissue locks the order first, as a refund does: whichever goes second sees the
    other's work (a refund after the reissue revokes the new key too)."""
    from store.payments.refunds import refund_order
    from store.payments.services import Confirmation

    order_id, reference = till.check_out_generated(quantity=1)
    assert till.notify(reference, event=f"evt-{reference}") == Confirmation.FULFILLED
    with app.app_context():
        licence_id = db.session.scalar(sa.select(Licence.id))
    admin, agent = Actor("admin@example.com"), Actor("agente@example.com")

    results = run_at_once(2, lambda i: (
        refund_order(order_id, reason="customer asked", actor=admin) if i == 0
        else reissue_licence(licence_id, reason="leaked", actor=agent)))

    assert not isinstance(results[0], Exception), results
    assert results[1] is None or isinstance(results[1], (Licence, LicenceNotActive)), results
    with app.app_context():
        statuses = db.session.scalars(sa.select(Licence.status)).all()
        assert "active" not in statuses and set(statuses) <= {"refunded", "revoked"}
