"""The orders area's emails: the buyer's delivery with the keys, the staff alert, the
buyer's notice that an order was refunded, and fresh links to a buyer's paid orders."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from store.extensions import db
from store.licensing.files import has_licence_file
from store.mail.kinds import RenderedEmail, register_email_kind, render_email
from store.mail.models import OutboxMessage
from store.orders.models import Order
from store.orders.services import keys_file_link, licence_file_link, order_link, order_view

ORDER_DELIVERY = "order_delivery"
STAFF_ALERT = "staff_alert"
ORDER_REFUNDED = "order_refunded"
ORDER_LINKS = "order_links"


def render_order_delivery(message: OutboxMessage) -> RenderedEmail:
    """The keys of a fulfilled order and the link to its page."""
    view = order_view(message.payload["order_id"])
    file_links = {
        licence.id: licence_file_link(view.order, licence)
        for item in view.lines for licence, _key in item.licences if has_licence_file(licence)
    }
    return render_email(
        "order_delivery", _("Your licences – order %(number)s", number=view.order.number),
        view=view, order=view.order, link=order_link(view.order),
        keys_link=keys_file_link(view.order), file_links=file_links,
    )


def render_staff_alert(message: OutboxMessage) -> RenderedEmail:
    """A paid order that needs a person: which one, and why."""
    order = db.session.get(Order, message.payload["order_id"])
    return render_email(
        "staff_alert", _("Attention needed: order %(number)s", number=order.number),
        order=order, reason=message.payload.get("reason", ""), locale=message.locale,
    )


def render_order_refunded(message: OutboxMessage) -> RenderedEmail:
    """The buyer's order was refunded: how much, and that its licences stopped working.

    No keys and no order link: the licences are revoked, and the order page says refunded.
    """
    order = db.session.get(Order, message.payload["order_id"])
    return render_email(
        "order_refunded", _("Refund of order %(number)s", number=order.number),
        order=order, locale=message.locale,
    )


def render_order_links(message: OutboxMessage) -> RenderedEmail:
    """Fresh links to the buyer's paid orders (number, date, link), asked for on the
    lost-links page. Links only: never a key."""
    ids = message.payload["order_ids"]
    orders = db.session.scalars(
        select(Order).where(Order.id.in_(ids)).order_by(Order.created_at.desc(), Order.id.desc())
    ).all()
    return render_email(
        "order_links", _("Your order links"),
        orders=[(order, order_link(order)) for order in orders], locale=message.locale,
    )


def register(app: Flask) -> None:
    register_email_kind(app, ORDER_DELIVERY, render_order_delivery)
    register_email_kind(app, STAFF_ALERT, render_staff_alert)
    register_email_kind(app, ORDER_REFUNDED, render_order_refunded)
    register_email_kind(app, ORDER_LINKS, render_order_links)
