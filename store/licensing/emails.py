"""The licensing area's email: the daily low-stock alert to staff."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from store.catalogue.models import Plan
from store.extensions import db
from store.licensing.alerts import LOW_STOCK_ALERT
from store.mail.kinds import RenderedEmail, register_email_kind, render_email
from store.mail.models import OutboxMessage


def render_low_stock_alert(message: OutboxMessage) -> RenderedEmail:
    """The plans that were under their threshold when the alert was queued, with counts."""
    entries = message.payload["plans"]
    plans = {plan.id: plan for plan in db.session.scalars(
        select(Plan).options(joinedload(Plan.product))
        .where(Plan.id.in_([entry["plan_id"] for entry in entries]))
    )}
    rows = [(plans[entry["plan_id"]], entry["available"], entry["threshold"])
            for entry in entries if entry["plan_id"] in plans]
    day = date.fromisoformat(message.payload["day"])
    subject = ngettext("Low key stock: %(num)d plan", "Low key stock: %(num)d plans", len(rows))
    return render_email("low_stock", subject, rows=rows, day=day, locale=message.locale)


def register(app: Flask) -> None:
    register_email_kind(app, LOW_STOCK_ALERT, render_low_stock_alert)
