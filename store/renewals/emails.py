"""The renewals area's email: a reminder that a licence expires soon (or expired a few
days ago), with a one-click renewal link and a one-click "no more reminders" link."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_date
from flask_babel import gettext as _

from store.extensions import db
from store.licensing.models import Licence
from store.licensing.renewals import current_licence, renewal_plans_for
from store.mail.kinds import RenderedEmail, register_email_kind, render_email
from store.mail.models import OutboxMessage
from store.orders.services import masked_key
from store.renewals.links import opt_out_link, renewal_link
from store.renewals.reminders import RENEWAL_REMINDER


def render_renewal_reminder(message: OutboxMessage) -> RenderedEmail:
    """The licence (by its last four characters, never the whole key), when it expires or
    expired, the cheapest renewal on sale, and the renewal and opt-out links.

    The licence shown is the newest key of its chain (it may have been reissued since the
    reminder was queued); the subject says "expires" or "expired" by the reminder's offset.
    """
    licence = current_licence(db.session.get(Licence, message.payload["licence_id"]))
    line = licence.order_line
    order = line.order
    expired = message.payload["offset_days"] < 0
    date = format_date(licence.expires_at, "long")
    if expired:
        subject = _("Your %(product)s licence expired on %(date)s: renew it",
                    product=line.product_name, date=date)
    else:
        subject = _("Your %(product)s licence expires on %(date)s",
                    product=line.product_name, date=date)
    plans = renewal_plans_for(licence)
    return render_email(
        "renewal_reminder", subject,
        order=order, licence=licence, expired=expired, date=date,
        product=line.product_name, plan=line.plan_name, masked=masked_key(licence),
        cheapest=plans[0] if plans else None,
        renew_link=renewal_link(licence), opt_out_link=opt_out_link(order.email),
    )


def register(app: Flask) -> None:
    register_email_kind(app, RENEWAL_REMINDER, render_renewal_reminder)
