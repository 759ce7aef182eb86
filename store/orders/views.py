"""The order page: status, lines, total and keys, for the buyer only.

The buyer's session opens the page. The emailed link carries a token instead: opening it
moves the access into the session and redirects to the clean address, so the token is in
one request only and never in the browser's history, bookmarks or Referer headers.
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for

from store.dbtypes import utcnow
from store.errors import NotFound
from store.orders import bp
from store.orders.forms import PayAgainForm
from store.orders.models import Order, OrderStatus
from store.orders.services import find_order, order_view, token_opens
from store.orders.states import shown_status, status_message
from store.payments.gateway import PaymentProviderError
from store.payments.registry import provider_choices
from store.payments.services import OrderNotPayable, pay_order
from store.visitor import remember_order, remembered_orders


def _own_order(number: str) -> Order:
    """The order, when this session may open it; NotFound otherwise (never says which)."""
    try:
        order = find_order(number)
    except NotFound:
        raise NotFound() from None
    if order.number not in remembered_orders():
        raise NotFound()
    return order


def _no_store(response):
    # Keys are on this page: keep it out of shared caches and browser history caches.
    response.headers["Cache-Control"] = "no-store"
    return response


def _pay_again_form() -> PayAgainForm:
    form = PayAgainForm()
    form.method.choices = provider_choices()
    if not form.is_submitted():
        form.method.data = form.method.choices[0][0]
    return form


@bp.get("/pedido/<number>/")
def show(number: str):
    if "t" in request.args:
        return _open_link(number, request.args["t"])
    order = _own_order(number)
    view = order_view(order.id)
    status = shown_status(order, utcnow())
    return _no_store(make_response(render_template(
        "orders/show.html", view=view, order=order, status=status, Status=OrderStatus,
        message=status_message(order, status), form=_pay_again_form(),
    )))


def _open_link(number: str, token: str):
    """The emailed link: remember the order in this session, then drop the token."""
    try:
        order = find_order(number)
    except NotFound:
        raise NotFound() from None
    if not token_opens(order, token):
        raise NotFound()
    remember_order(order.number)
    return _no_store(redirect(url_for("orders.show", number=order.number)))


@bp.post("/pedido/<number>/pagar")
def pay(number: str):
    order = _own_order(number)
    form = _pay_again_form()
    if not form.validate_on_submit():
        flash(str(next(iter(form.method.errors), "")) or str(OrderNotPayable.title), "error")
        return redirect(url_for("orders.show", number=order.number))
    try:
        return redirect(pay_order(order.id, form.method.data))
    except (OrderNotPayable, PaymentProviderError) as error:
        flash(str(error.detail or error.title), "error")
        return redirect(url_for("orders.show", number=order.number))
