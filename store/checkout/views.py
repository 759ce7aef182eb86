"""The checkout page: one use case places the order and hands the buyer to the provider."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from store.cart import services as cart_services
from store.checkout import bp
from store.checkout.forms import CheckoutForm
from store.checkout.services import (
    Buyer,
    CartNeedsReview,
    PaymentNotStarted,
    PlacedOrder,
    check_out,
)
from store.licensing.services import OutOfStock
from store.orders.caps import HoldingLimitReached
from store.money import Money
from store.orders.models import Order
from store.orders.services import find_order_by_checkout_token
from store.payments.gateway import PaymentProviderError
from store.payments.forms import priced_choices
from store.ratelimit import client_address, limited, note_pool_keys_held, pool_keys_held, visitor
from store.visitor import (
    checkout_token,
    current_cart,
    remember_order,
    remembered_orders,
    save_cart,
)


def _form(total: Money) -> CheckoutForm:
    form = CheckoutForm()
    form.payment_method.choices = priced_choices(total)
    if not form.is_submitted():
        form.payment_method.data = form.payment_method.choices[0][0]
        form.checkout_token.data = checkout_token()
        if current_user.is_authenticated:  # a signed-in customer's details, to change if need be
            form.email.data, form.full_name.data = current_user.email, current_user.name
    return form


def _order_page(order: Order):
    return redirect(url_for("orders.show", number=order.number))


@bp.route("/caja/", methods=["GET", "POST"])
@limited("STORE_LIMIT_CHECKOUT_PER_VISITOR", per=visitor, methods=["POST"])
@limited("STORE_LIMIT_CHECKOUT_PER_ADDRESS", methods=["POST"])
def start():
    placed = _already_placed(request.form.get("checkout_token", ""))
    if placed is not None:  # a second click or tab: the order exists, go to it
        return _order_page(placed)
    view = cart_services.view(current_cart())
    if not view.lines:
        flash(_("Your cart is empty."), "error")
        return redirect(url_for("cart.show"))
    form = _form(view.total)
    if form.validate_on_submit():
        return _place(form)
    status = 400 if form.is_submitted() else 200
    return render_template("checkout/form.html", form=form, view=view), status


def _already_placed(token: str) -> Order | None:
    """The order this browser already placed with ``token``, if any."""
    if request.method != "POST" or not token:
        return None
    order = find_order_by_checkout_token(token[:64])
    return order if order is not None and order.number in remembered_orders() else None


def _place(form: CheckoutForm):
    if form.checkout_token.data != checkout_token():
        # A form from an older cart (or someone else's token): start again from this cart.
        flash(_("Your cart changed while you were checking out. Please check it and try again."),
              "error")
        return redirect(url_for("checkout.start"))
    buyer = Buyer(form.email.data, form.full_name.data, (form.phone.data or "").strip(),
                  user_id=current_user.id if current_user.is_authenticated else None)
    window = timedelta(minutes=current_app.config["STORE_PAYMENT_WINDOW_MINUTES"])
    address = client_address()
    try:
        placed = check_out(
            cart=current_cart(), buyer=buyer, checkout_token=form.checkout_token.data,
            locale=str(get_locale() or "es"), provider_name=form.payment_method.data,
            payment_window=window, keys_held_by_address=pool_keys_held(address, window),
        )
    except (CartNeedsReview, HoldingLimitReached, OutOfStock) as error:
        flash(str(error.detail), "error")
        return redirect(url_for("cart.show"))
    except PaymentProviderError as error:  # the method cannot take this order; nothing placed
        flash(str(error.detail or error.title), "error")
        return redirect(url_for("checkout.start"))
    except PaymentNotStarted as error:
        note_pool_keys_held(address, PlacedOrder(error.order).pool_keys, window)
        remember_order(error.order.number)
        save_cart({})
        flash(str(error.detail or error.title), "error")
        return _order_page(error.order)
    remember_order(placed.order.number)
    if not placed.created:  # the same checkout again (a second tab)
        return _order_page(placed.order)
    note_pool_keys_held(address, placed.pool_keys, window)
    save_cart({})
    return redirect(placed.pay_at)
