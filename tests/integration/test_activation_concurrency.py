"""Activations at once never exceed the seats (DESIGN invariant 5).

They run on the suite's database: SQLite (BEGIN IMMEDIATE) locally and PostgreSQL
(FOR UPDATE on the licence row) in CI, where STORE_REQUIRE_PG=1 keeps them from skipping.
"""

from __future__ import annotations

import pytest

from store.licensing import activations
from store.licensing.activations import Code, TooManyActivations
from store.licensing.models import Activation
from tests.factories import issue_licence


@pytest.fixture
def three_seats(app) -> tuple[str, int]:
    with app.app_context():
        return issue_licence(seats=3)


def test_twenty_devices_activating_a_three_seat_licence_at_once_get_exactly_three_seats(
    three_seats, run_at_once, count
):
    key, licence_id = three_seats

    results = run_at_once(20, lambda i: activations.activate(key, f"device-{i}"))

    won = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, TooManyActivations)]
    assert len(won) == 3 and len(refused) == 17, results
    assert all(answer.code == Code.VALID for answer in won)
    assert sorted(answer.activations for answer in won) == [1, 2, 3]
    assert count(Activation, Activation.licence_id == licence_id) == 3


def test_one_device_activating_twenty_times_at_once_holds_one_seat(
    three_seats, run_at_once, count
):
    key, licence_id = three_seats

    results = run_at_once(20, lambda i: activations.activate(key, "same-device"))

    assert all(not isinstance(r, Exception) and r.code == Code.VALID for r in results), results
    assert {answer.activations for answer in results} == {1}
    assert count(Activation, Activation.licence_id == licence_id) == 1


def test_devices_freeing_and_taking_seats_at_once_never_exceed_the_seats(
    app, three_seats, run_at_once, count
):
    key, licence_id = three_seats
    for device in ("old-0", "old-1", "old-2"):
        with app.app_context():
            activations.activate(key, device)

    def work(i: int):
        if i < 3:
            return activations.deactivate(key, f"old-{i}")
        return activations.activate(key, f"new-{i}")

    results = run_at_once(12, work)

    taken = [r for r in results[3:] if not isinstance(r, Exception)]
    assert all(isinstance(r, TooManyActivations) for r in results[3:] if r not in taken), results
    assert all(r.released for r in results[:3])
    assert count(Activation, Activation.licence_id == licence_id) == len(taken) <= 3
