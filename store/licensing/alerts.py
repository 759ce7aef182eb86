"""The low-stock email to staff: pool plans under their threshold, once a UTC day at most.

``flask store low-stock-alert`` runs ``send_low_stock_alert`` (from cron, say hourly); a
day's first run that finds low stock queues the email, later runs that day do nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.extensions import db
from store.licensing.models import LowStockAlert
from store.licensing.stock import low_stock
from store.mail.models import OutboxMessage, queue
from store.unit_of_work import use_case

LOW_STOCK_ALERT = "low_stock_alert"


def send_low_stock_alert(now: datetime) -> OutboxMessage | None:
    """Queue the staff email listing the plans under their threshold, unless today's
    (``now``'s UTC day) was already queued or no plan is low; return it, or None.

    A use case. Two runs at once queue one email: the day's row is unique, and the run
    that loses the race to write it queues nothing.
    """
    day = now.astimezone(UTC).date()
    try:
        with use_case() as uow:
            if db.session.scalar(select(LowStockAlert.id).where(LowStockAlert.day == day)):
                return None
            low = low_stock()
            if not low:
                return None
            db.session.add(LowStockAlert(day=day, plans=len(low)))
            db.session.flush()  # the unique day: a concurrent run fails here, or at commit
            config = current_app.config
            message = queue(
                LOW_STOCK_ALERT, config["STORE_STAFF_EMAIL"], locale=config["STORE_STAFF_LOCALE"],
                day=day.isoformat(),
                plans=[{"plan_id": plan.id, "available": level.available,
                        "threshold": level.threshold} for plan, level in low],
            )
            uow.commit()
            return message
    except IntegrityError:
        return None  # another run wrote today's alert first
