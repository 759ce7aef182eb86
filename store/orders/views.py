"""The order page: status, lines, total and keys, for the buyer only."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, session

from store.orders import bp
from store.orders.forms import PayAgainForm
from store.orders.models import OrderStatus
from store.orders.services import expire_if_due, find_order, may_view, order_link, order_view
from store.errors import NotFound
from store.payments.gateway import PaymentProviderError, provider_choices
from store.payments.services import OrderNotPayable, begin_payment

MAX_REMEMBERED_ORDERS = 20


def remember_order(number: str) -> None:
    """Let this browser session open the order page without the emailed link."""
    numbers = [n for n in session.get("orders", []) if n != number]
    session["orders"] = (numbers + [number])[-MAX_REMEMBERED_ORDERS:]


def _viewable(number: str, token: str | None):
    own = session.get("orders", [])
    try:
        order = find_order(number)
    except NotFound:
        raise NotFound() from None  # the same answer as a wrong token
    if not may_view(order, token, own if isinstance(own, list) else []):
        raise NotFound()  # never say whether an order number exists
    return order


@bp.get("/pedido/<number>/")
def show(number: str):
    order = _viewable(number, request.args.get("t"))
    expire_if_due(order)
    view = order_view(order.id)
    form = PayAgainForm(token=request.args.get("t", ""))
    form.method.choices = provider_choices()
    response = make_response(render_template(
        "orders/show.html", view=view, order=view.order, form=form, Status=OrderStatus,
    ))
    # Keys are on this page: keep it out of shared caches and browser history caches.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/pedido/<number>/pagar")
def pay(number: str):
    form = PayAgainForm()
    form.method.choices = provider_choices()
    order = _viewable(number, form.token.data)
    if not form.validate_on_submit():
        return redirect(order_link(order))
    try:
        return redirect(begin_payment(order, form.method.data))
    except (OrderNotPayable, PaymentProviderError) as error:
        flash(str(error.detail or error.title), "error")
        return redirect(order_link(order))
