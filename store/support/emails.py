"""The support desk's email: a reissued licence's new key, sent to the buyer."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from store.extensions import db
from store.licensing.files import has_licence_file
from store.licensing.models import Licence, LicenceStatus
from store.licensing.renewals import current_licence
from store.mail.kinds import RenderedEmail, register_email_kind, render_email
from store.mail.models import OutboxMessage
from store.orders.models import Order
from store.orders.services import licence_file_link, masked_key, order_link
from store.support.services import LICENCE_REISSUED
from store.vault import reveal


def render_licence_reissued(message: OutboxMessage) -> RenderedEmail:
    """The new key that replaced one of the buyer's keys, and the order's link.

    The old key is named by its last four characters only; the reason stays internal.
    The key shown is the licence's current one when the email is sent, and none when
    the licence stopped working meanwhile (refunded): the order page says what happened.
    """
    order = db.session.get(Order, message.payload["order_id"])
    licence = current_licence(db.session.get(Licence, message.payload["licence_id"]))
    replaced = db.session.get(Licence, message.payload["replaced_id"])
    usable = licence.status == LicenceStatus.ACTIVE
    return render_email(
        "licence_reissued", _("Your new licence key – order %(number)s", number=order.number),
        order=order, licence=licence, key=reveal(licence) if usable else None,
        old_key=masked_key(replaced),
        product=licence.order_line.product_name, plan=licence.order_line.plan_name,
        link=order_link(order),
        file_link=licence_file_link(order, licence) if has_licence_file(licence) else None,
    )


def register(app: Flask) -> None:
    register_email_kind(app, LICENCE_REISSUED, render_licence_reissued)
