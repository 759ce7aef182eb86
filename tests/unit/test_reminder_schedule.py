"""Which renewal reminder is due when: the most urgent one reached, never several."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.renewals.reminders import ReminderSchedule, counts_for

EXPIRY = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SCHEDULE = ReminderSchedule(before=(30, 7, 1), after=3, window=90 * DAY)


@pytest.mark.parametrize(("moment", "due"), [
    (-31 * DAY, None), (-30 * DAY, 30), (-8 * DAY, 30), (-7 * DAY, 7), (-2 * DAY, 7),
    (-DAY, 1), (-timedelta(seconds=1), 1), (0 * DAY, None), (2 * DAY, None), (3 * DAY, -3),
    (90 * DAY, -3), (90 * DAY + timedelta(seconds=1), None),
])
def test_the_due_reminder_is_the_most_urgent_one_reached(moment, due):
    assert SCHEDULE.due(EXPIRY, EXPIRY + moment) == due


def test_a_reminder_counts_only_for_the_expiry_it_was_sent_about():
    sent_at = EXPIRY - 10 * DAY
    assert counts_for(sent_at, 30, EXPIRY)
    assert not counts_for(sent_at, 30, EXPIRY + 365 * DAY)  # renewed since
    assert counts_for(EXPIRY + 3 * DAY, -3, EXPIRY)
    assert not counts_for(EXPIRY + 3 * DAY, -3, EXPIRY + 368 * DAY)
