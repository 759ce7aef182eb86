"""Cart pages. Changes are POSTs with CSRF; each redirects back to the cart page."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from store.cart import bp, services
from store.cart.forms import AddForm, PlanForm, QuantityForm
from store.cart.services import CartError
from store.forms import first_error
from store.visitor import current_cart, save_cart


def _max_quantity() -> int:
    return current_app.config["STORE_CART_MAX_QUANTITY"]


def _apply(form, change) -> bool:
    """Validate ``form``, apply ``change`` to the session cart; flash why when refused."""
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return False
    try:
        save_cart(change(current_cart()))
    except CartError as error:
        flash(str(error.detail), "error")
        return False
    return True


@bp.get("/carrito/")
def show():
    view = services.view(current_cart())
    return render_template("cart/show.html", view=view, max_quantity=_max_quantity())


@bp.post("/carrito/anadir")
def add():
    form = AddForm()
    added = _apply(form, lambda cart: services.add(
        cart, form.plan_id.data, form.quantity.data, max_quantity=_max_quantity(),
        max_lines=current_app.config["STORE_CART_MAX_LINES"],
    ))
    if not added:
        # Back to the product page, where the buyer can choose again, when it sent us here.
        return redirect(form.safe_next() or url_for("cart.show"))
    flash(_("Added to your cart."), "success")
    return redirect(url_for("cart.show"))


@bp.post("/carrito/cantidad")
def update():
    form = QuantityForm()
    _apply(form, lambda cart: services.set_quantity(
        cart, form.plan_id.data, form.quantity.data, max_quantity=_max_quantity()
    ))
    return redirect(url_for("cart.show"))


@bp.post("/carrito/quitar")
def remove():
    form = PlanForm()
    _apply(form, lambda cart: services.remove(cart, form.plan_id.data))
    return redirect(url_for("cart.show"))


@bp.post("/carrito/vaciar")
def empty():
    # CSRFProtect has already checked the token of every POST.
    save_cart({})
    return redirect(url_for("cart.show"))


@bp.post("/carrito/aceptar")
def accept():
    """The buyer saw the changed prices (or dropped plans) and goes on with today's."""
    save_cart(services.accept_prices(current_cart(), services.view(current_cart())))
    return redirect(url_for("checkout.start"))
