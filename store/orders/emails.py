"""The orders area's emails: the buyer's delivery with the keys, and the staff alert."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from store.extensions import db
from store.mail.kinds import RenderedEmail, register_email_kind, render_email
from store.mail.models import OutboxMessage
from store.orders.models import Order
from store.orders.services import keys_file_link, order_link, order_view

ORDER_DELIVERY = "order_delivery"
STAFF_ALERT = "staff_alert"


def render_order_delivery(message: OutboxMessage) -> RenderedEmail:
    """The keys of a fulfilled order and the link to its page."""
    view = order_view(message.payload["order_id"])
    return render_email(
        "order_delivery", _("Your licences – order %(number)s", number=view.order.number),
        view=view, order=view.order, link=order_link(view.order),
        keys_link=keys_file_link(view.order),
    )


def render_staff_alert(message: OutboxMessage) -> RenderedEmail:
    """A paid order that needs a person: which one, and why."""
    order = db.session.get(Order, message.payload["order_id"])
    return render_email(
        "staff_alert", _("Attention needed: order %(number)s", number=order.number),
        order=order, reason=message.payload.get("reason", ""), locale=message.locale,
    )


def register(app: Flask) -> None:
    register_email_kind(app, ORDER_DELIVERY, render_order_delivery)
    register_email_kind(app, STAFF_ALERT, render_staff_alert)
