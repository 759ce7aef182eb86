"""Renewal reminders: the emails that say a licence expires soon (or expired a few days
ago) and link to its renewal, and the link that stops them.

``flask store send-reminders`` runs ``send_reminders`` (from cron, say daily). Which
reminder is due, for a licence that expires at E, with STORE_REMINDER_DAYS_BEFORE
"30,7,1" and STORE_REMINDER_DAYS_AFTER 3:

- before E: the smallest offset d whose moment (E - d days) has come. A run that did not
  happen for weeks sends only the most urgent reminder, never the three at once.
- after E: "3 days after" (stored as offset -3) once E + 3 days has come, while the
  licence can still be renewed (until E + STORE_RENEWAL_WINDOW_DAYS).

Only licences that can be renewed are reminded: active, not replaced by a reissued key,
with a renewal plan on sale for their plan, bought with an address that did not opt out.

Each reminder goes once per licence, offset and term: its RenewalReminder row (unique
per licence and offset) and its email commit together, so a second run, or a run on
another host at the same moment, finds the row (or loses the race to write it) and sends
nothing. A row counts for the licence's current expiry only when it was written on or
after that expiry's moment for the offset (E - d days); once the licence is renewed, E
moves on and the old rows no longer count, so the next term gets its reminders too. A
reminder sent for the key a licence replaced (a reissue) counts for the new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.models import Licence, LicenceStatus
from store.licensing.renewals import renewed_plan_ids
from store.mail.models import queue
from store.orders.models import Order, OrderLine
from store.renewals.models import ReminderOptOut, RenewalReminder
from store.unit_of_work import use_case

RENEWAL_REMINDER = "renewal_reminder"  # the email kind (store/renewals/emails.py)
BATCH_SIZE = 200  # licences read per query


@dataclass(frozen=True)
class ReminderSchedule:
    """When reminders go: days before expiry (largest first), days after it, and how long
    after expiry a licence can still be renewed."""

    before: tuple[int, ...]
    after: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReminderSchedule:
        return cls(before=tuple(config["STORE_REMINDER_DAYS_BEFORE"]),
                   after=config["STORE_REMINDER_DAYS_AFTER"],
                   window=timedelta(days=config["STORE_RENEWAL_WINDOW_DAYS"]))

    @property
    def earliest(self) -> timedelta:
        """How long before expiry the first reminder can be due."""
        return timedelta(days=max(self.before, default=0))

    def due(self, expires_at: datetime, now: datetime) -> int | None:
        """The offset due at ``now`` for a licence expiring at ``expires_at``, or None.

        Positive offsets are days before expiry, the negative one days after it.
        """
        if now < expires_at:
            reached = [days for days in self.before
                       if now >= expires_at - timedelta(days=days)]
            return min(reached, default=None)
        if expires_at + timedelta(days=self.after) <= now <= expires_at + self.window:
            return -self.after
        return None


def counts_for(sent_at: datetime, offset: int, expires_at: datetime) -> bool:
    """Whether a reminder at ``offset`` written at ``sent_at`` was about ``expires_at``
    (rather than about an expiry the licence had before it was renewed)."""
    return sent_at >= expires_at - timedelta(days=offset)


def send_reminders(now: datetime | None = None, *, schedule: ReminderSchedule | None = None,
                   batch_size: int = BATCH_SIZE) -> int:
    """Queue every renewal reminder due at ``now``; return how many were queued.

    Safe to run as often as wanted, from several hosts at once: each reminder is a use case
    of its own, and one that another run queued first is skipped. Reads the licences in
    batches (two queries a batch), then spends a few queries per reminder sent.
    """
    now = now or utcnow()
    schedule = schedule or ReminderSchedule.from_config(current_app.config)
    queued, after_id = 0, 0
    while batch := _candidates(schedule, now, after_id, batch_size):
        after_id = batch[-1][0]
        due = {licence_id: offset for licence_id, expires_at in batch
               if (offset := schedule.due(expires_at, now)) is not None}
        expiries = dict(batch)
        sent = _already_sent(due, expiries)
        for licence_id, offset in due.items():
            if (licence_id, offset) not in sent and _remind(licence_id, offset, schedule, now):
                queued += 1
    return queued


def _candidates(schedule: ReminderSchedule, now: datetime, after_id: int,
                limit: int) -> list[tuple[int, datetime]]:
    """(id, expiry) of the next licences, by id, that may be due a reminder around ``now``."""
    return [tuple(row) for row in db.session.execute(
        select(Licence.id, Licence.expires_at)
        .join(OrderLine, OrderLine.id == Licence.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Licence.id > after_id,
               Licence.status == LicenceStatus.ACTIVE,
               Licence.replaced_by_id.is_(None),
               Licence.expires_at <= now + schedule.earliest,
               Licence.expires_at >= now - schedule.window,
               Licence.plan_id.in_(renewed_plan_ids()),
               func.lower(Order.email).not_in(select(ReminderOptOut.email)))
        .order_by(Licence.id)
        .limit(limit))]


def _already_sent(due: Mapping[int, int],
                  expiries: Mapping[int, datetime]) -> set[tuple[int, int]]:
    """The (licence, offset) pairs of ``due`` whose reminder went for the current expiry,
    to the licence itself or to the key it replaced (one query)."""
    if not due:
        return set()
    ids = list(due)
    rows = db.session.execute(
        select(RenewalReminder.licence_id, Licence.replaced_by_id,
               RenewalReminder.offset_days, RenewalReminder.sent_at)
        .join(Licence, Licence.id == RenewalReminder.licence_id)
        .where(or_(RenewalReminder.licence_id.in_(ids), Licence.replaced_by_id.in_(ids)))
    )
    sent = set()
    for licence_id, replaced_by_id, offset, sent_at in rows:
        owner = licence_id if licence_id in due else replaced_by_id
        if due.get(owner) == offset and counts_for(sent_at, offset, expiries[owner]):
            sent.add((owner, offset))
    return sent


def _remind(licence_id: int, offset: int, schedule: ReminderSchedule, now: datetime) -> bool:
    """Write the reminder's row and queue its email in one use case; False when it is not
    (or no longer) due, or another run wrote it first."""
    try:
        with use_case() as uow:
            licence = db.session.get(Licence, licence_id)
            order = licence.order_line.order
            if not _still_due(licence, order, offset, schedule, now) \
                    or not _claim(licence, offset, now):
                return False
            queue(RENEWAL_REMINDER, order.email, locale=order.locale, order_id=order.id,
                  licence_id=licence.id, offset_days=offset)
            uow.commit()
            return True
    except IntegrityError:
        return False  # another run wrote this reminder's row first, and sent it


def _still_due(licence: Licence, order: Order, offset: int, schedule: ReminderSchedule,
               now: datetime) -> bool:
    """Re-check, inside the use case, what the batch read saw (a renewal, a revocation or
    an opt-out may have happened since)."""
    if licence.status != LicenceStatus.ACTIVE or licence.replaced_by_id is not None:
        return False
    if schedule.due(licence.expires_at, now) != offset:
        return False
    return db.session.scalar(
        select(ReminderOptOut.id).where(ReminderOptOut.email == order.email.lower())
    ) is None


def _claim(licence: Licence, offset: int, now: datetime) -> bool:
    """Write (or move to this term) the licence's row for ``offset``; False when this
    term's is there already. Raises IntegrityError when a concurrent run inserted it."""
    row = db.session.scalar(select(RenewalReminder).where(
        RenewalReminder.licence_id == licence.id, RenewalReminder.offset_days == offset))
    if row is None:
        db.session.add(RenewalReminder(licence_id=licence.id, offset_days=offset, sent_at=now))
        db.session.flush()  # the unique (licence, offset): a concurrent run fails here
        return True
    if counts_for(row.sent_at, offset, licence.expires_at):
        return False
    # A previous term's row: move it to this term, unless a concurrent run just did.
    moved = db.session.execute(
        update(RenewalReminder)
        .where(RenewalReminder.id == row.id, RenewalReminder.sent_at == row.sent_at)
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def stop_reminders(email: str) -> bool:
    """Record that ``email`` wants no more renewal reminders; True when it is new.

    A use case; a second call (a second click, or two at once) changes nothing.
    """
    email = email.strip().lower()
    try:
        with use_case() as uow:
            if db.session.scalar(select(ReminderOptOut.id)
                                 .where(ReminderOptOut.email == email)) is not None:
                return False
            db.session.add(ReminderOptOut(email=email))
            uow.commit()
            return True
    except IntegrityError:
        return False  # recorded by a concurrent click

