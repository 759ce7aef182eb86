"""Two paid renewals of one licence applied at once extend it twice; one line applied
twice at once extends it once (the licence's row lock, and the unique line)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store.catalogue.models import PlanKind
from store.extensions import db
from store.licensing import renewals
from store.licensing.models import Licence, LicenceRenewal
from store.orders.models import OrderLine
from store.unit_of_work import use_case
from tests.factories import issue_licence, make_order, make_plan, make_product


@pytest.fixture
def renewal_lines(app) -> tuple[int, list[int], object]:
    """A licence and two unpaid-then-paid orders renewing it by one year: their line ids."""
    with app.app_context():
        _key, licence_id = issue_licence(seats=1)
        licence = db.session.get(Licence, licence_id)
        renewal = make_plan(make_product(plans=[]), kind=PlanKind.RENEWAL, duration_days=365)
        renewal.renews = [licence.plan]
        lines = []
        for _ in range(2):
            order = make_order(renewal)
            order.lines[0].renews_licence_id = licence_id
            lines.append(order.lines[0])
        db.session.commit()
        return licence_id, [line.id for line in lines], licence.expires_at


def apply(line_id: int) -> None:
    with use_case() as uow:
        renewals.renew(db.session.get(OrderLine, line_id))
        uow.commit()


def test_two_renewals_of_one_licence_at_once_extend_it_twice(app, renewal_lines, run_at_once, count):
    licence_id, line_ids, expires = renewal_lines

    results = run_at_once(2, lambda i: apply(line_ids[i]))

    assert results == [None, None]
    with app.app_context():
        assert db.session.get(Licence, licence_id).expires_at == expires + timedelta(days=730)
    assert count(LicenceRenewal) == 2


def test_one_renewal_applied_five_times_at_once_extends_once(app, renewal_lines, run_at_once, count):
    licence_id, line_ids, expires = renewal_lines

    results = run_at_once(5, lambda i: apply(line_ids[0]))

    assert results == [None] * 5 and count(LicenceRenewal) == 1, results
    with app.app_context():
        assert db.session.get(Licence, licence_id).expires_at == expires + timedelta(days=365)
