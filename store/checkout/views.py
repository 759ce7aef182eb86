"""The checkout page: place the order, then hand the buyer to the payment provider."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from store.cart import services as cart_services
from store.cart.views import current_cart, save_cart
from store.checkout import bp
from store.checkout.forms import CheckoutForm
from store.checkout.services import Buyer, CartNeedsReview, place_order
from store.licensing.services import OutOfStock
from store.orders.models import Order
from store.orders.services import expire_orders, find_order_by_checkout_token, order_link
from store.orders.views import remember_order
from store.payments.gateway import PaymentProviderError, provider_choices
from store.payments.services import begin_payment


def _form() -> CheckoutForm:
    form = CheckoutForm()
    form.payment_method.choices = provider_choices()
    if not form.is_submitted():
        form.payment_method.data = form.payment_method.choices[0][0]
        form.checkout_token.data = session.setdefault("checkout_token", secrets.token_urlsafe(24))
    return form


@bp.route("/caja/", methods=["GET", "POST"])
def start():
    placed = _already_placed(request.form.get("checkout_token", ""))
    if placed is not None:  # a second click or tab: the order exists, go to it
        return redirect(order_link(placed))
    view = cart_services.view(current_cart())
    if not view.lines:
        flash(_("Your cart is empty."), "error")
        return redirect(url_for("cart.show"))
    form = _form()
    if form.validate_on_submit():
        return _place(form)
    status = 400 if form.is_submitted() else 200
    return render_template("checkout/form.html", form=form, view=view), status


def _already_placed(token: str) -> Order | None:
    """The order this browser already placed with ``token``, if any."""
    if request.method != "POST" or not token:
        return None
    order = find_order_by_checkout_token(token[:64])
    mine = session.get("orders", [])
    return order if order is not None and order.number in mine else None


def _place(form: CheckoutForm):
    if form.checkout_token.data != session.get("checkout_token"):
        # A form from an older cart (or someone else's token): start again from this cart.
        flash(_("Your cart changed while you were checking out. Please check it and try again."),
              "error")
        return redirect(url_for("checkout.start"))
    expire_orders()  # frees keys held by abandoned orders before reserving new ones
    buyer = Buyer(form.email.data, form.full_name.data, (form.phone.data or "").strip())
    try:
        placed = place_order(
            cart=current_cart(), buyer=buyer, checkout_token=form.checkout_token.data,
            locale=str(get_locale() or "es"),
            payment_window=timedelta(minutes=current_app.config["STORE_PAYMENT_WINDOW_MINUTES"]),
        )
    except (CartNeedsReview, OutOfStock) as error:
        flash(str(error.detail), "error")
        return redirect(url_for("cart.show"))
    order = placed.order
    remember_order(order.number)
    if not placed.created:  # the same checkout again (a second tab)
        return redirect(order_link(order))
    save_cart({})
    try:
        return redirect(begin_payment(order, form.payment_method.data))
    except PaymentProviderError as error:
        flash(str(error.detail or error.title), "error")
        return redirect(order_link(order))
