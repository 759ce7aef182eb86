"""The order page: status, lines, total and keys, for the buyer only, and its downloads
(the keys as text, each licence as a signed file).

Its pay-again form comes from the payments area, which registers it for this template and
handles its POST: orders sits below payments and never imports it.

A buyer who lost the emailed link asks for fresh links at /pedido/perdido.

The buyer's session opens the page. The emailed link carries a token instead: opening it
moves the access into the session and redirects to the clean address, so the token is in
one request only and never in the browser's history, bookmarks or Referer headers.
"""

from __future__ import annotations

import logging

from flask import (
    Response,
    current_app,
    flash,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from store.dbtypes import utcnow
from store.extensions import db
from store.licensing.files import licence_file, licence_file_name, licence_file_text
from store.orders import bp
from store.orders.forms import LostLinksForm
from store.orders.models import Order, OrderStatus
from store.orders.messages import status_message
from store.orders.recovery import send_order_links
from store.orders.services import (
    find_order_by_link,
    find_own_order,
    order_licence,
    order_view,
    owner_of,
    unpaid_orders,
)
from store.orders.states import shown_status
from store.ratelimit import form_value, limited
from store.visitor import remember_order, remembered_orders

log = logging.getLogger(__name__)


def _no_store(response):
    # Keys are on this page: keep it out of shared caches and browser history caches.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def open_emailed_link():
    """An emailed link (``?t=token``) to any order address: remember the order in this
    session, then redirect to the same address without the token.

    A session that already holds the order goes to the clean address whatever the token.
    """
    number = (request.view_args or {}).get("number")
    if number is None or "t" not in request.args:
        return None
    if number not in remembered_orders():
        number = find_order_by_link(number, request.args["t"]).number
        remember_order(number)
    values = {**request.view_args, "number": number}
    return _no_store(redirect(url_for(request.endpoint, **values)))


def _no_token() -> bool:
    return "t" not in request.args


# Guessing an order's token: every request carrying one counts, per address, across the
# order's addresses. The buyer's own session opens its orders without a token, uncounted.
# A limit on the blueprint is checked before open_emailed_link runs (a route's own limit
# would be checked only when its view runs, after the link was tried).
limited("STORE_LIMIT_ORDER_LINK", scope="order-link", exempt_when=_no_token)(bp)


@bp.route("/pedido/perdido", methods=["GET", "POST"])
@limited("STORE_LIMIT_LOST_KEYS_PER_ADDRESS", scope="lost-links", methods=["POST"])
@limited("STORE_LIMIT_LOST_KEYS_PER_EMAIL", per=form_value("email"), scope="lost-links-email",
         methods=["POST"])
def lost_links():
    """Ask for fresh links to the orders paid with an email; the answer is the same
    whether or not that email placed orders."""
    form = LostLinksForm()
    if form.validate_on_submit():
        send_order_links(form.email.data, locale=str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]))
        flash(_("If orders were paid with that email, we sent it new links to them. The "
                "links we sent before no longer work. Check your spam folder too."), "success")
        return redirect(url_for("orders.lost_links"))
    status = 400 if form.is_submitted() else 200
    return _no_store(make_response(render_template("orders/lost.html", form=form), status))


@bp.get("/pedido/<number>/")
def show(number: str):
    order = find_own_order(number, remembered_orders(), owner_of(current_user))
    view = order_view(order.id)
    status = shown_status(order, utcnow())
    return _no_store(make_response(render_template(
        "orders/show.html", view=view, order=order, status=status, Status=OrderStatus,
        message=status_message(order, status),
    )))


@bp.get("/pedido/<number>/claves.txt")
def keys_file(number: str):
    """The order's keys as a plain-text file to keep (a download, never cached)."""
    order = find_own_order(number, remembered_orders(), owner_of(current_user))
    view = order_view(order.id)
    response = make_response(render_template("orders/keys.txt", view=view, order=order))
    response.mimetype = "text/plain"
    # Werkzeug quotes the name, and encodes it (RFC 5987) should a translation need it.
    response.headers.set("Content-Disposition", "attachment",
                         filename=_("keys-%(number)s.txt", number=order.number))
    return _no_store(response)


@bp.get("/pedido/<number>/licencias/<int:licence_id>.json")
def licence_download(number: str, licence_id: int):
    """One licence of the order as a signed file (a download, never cached)."""
    order = find_own_order(number, remembered_orders(), owner_of(current_user))
    licence = order_licence(order, licence_id)
    response = Response(licence_file_text(licence_file(licence, now=utcnow())),
                         mimetype="application/json")
    response.headers.set("Content-Disposition", "attachment", filename=licence_file_name(licence))
    return _no_store(response)


def pending_order() -> Order | None:
    """The visitor's newest order still waiting for payment, for the header (or None).

    Asks the database only when the session placed or opened an order. Every page's
    header calls it, error pages too: a database that fails here hides the link rather
    than the page (the 500 page must still render when the database is down).
    """
    numbers = remembered_orders() if has_request_context() else []
    try:
        waiting = [unpaid.order for unpaid in unpaid_orders(numbers, utcnow()) if unpaid.waiting]
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("header: pending orders not shown: %s", error.__class__.__name__)
        return None
    return waiting[0] if waiting else None
