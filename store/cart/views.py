"""Cart pages. Changes are POSTs with CSRF; each redirects back to the cart page."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_babel import gettext as _

from store.cart import bp, services
from store.cart.forms import AddForm, LineForm, QuantityForm
from store.cart.services import CartError
from store.dbtypes import utcnow
from store.forms import first_error
from store.i18n import line_title
from store.orders.models import OrderStatus
from store.orders.services import find_own_order, owner_of, put_back, unpaid_orders
from store.visitor import current_cart, remembered_orders, save_cart


def _plan_title(plan_id: int) -> str:
    plan = services.find_plan(plan_id)
    return line_title(plan.product.name, plan.name) if plan else _("This plan")


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
    unpaid = unpaid_orders(remembered_orders(), utcnow())
    return render_template(
        "cart/show.html", view=view, max_quantity=_max_quantity(), unpaid=unpaid
    )


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
    changed = _apply(form, lambda cart: services.set_quantity(
        cart, form.plan_id.data, form.quantity.data, max_quantity=_max_quantity()
    ))
    if changed:
        flash(_("%(plan)s: the quantity is now %(num)d.", plan=_plan_title(form.plan_id.data),
                num=form.quantity.data), "success")
    return redirect(url_for("cart.show"))


@bp.post("/carrito/quitar")
def remove():
    form = LineForm()
    if _apply(form, lambda cart: services.remove(cart, form.plan_id.data, form.licence_id.data)):
        flash(_("%(plan)s was removed from your cart.", plan=_plan_title(form.plan_id.data)),
              "success")
    return redirect(url_for("cart.show"))


@bp.get("/carrito/vaciar")
def confirm_empty():
    """Emptying asks first, without JavaScript: this page holds the button that does it."""
    view = services.view(current_cart())
    if not view.lines:
        return redirect(url_for("cart.show"))
    return render_template("cart/empty.html", view=view)


@bp.post("/carrito/vaciar")
def empty():
    # CSRFProtect has already checked the token of every POST.
    if current_cart():
        save_cart({})
        flash(_("Your cart is now empty."), "success")
    return redirect(url_for("cart.show"))


@bp.post("/carrito/desde-pedido/<number>")
def restore_order(number: str):
    """Put an order's plans back in the cart to change it; an unpaid order is cancelled."""
    order = put_back(find_own_order(number, remembered_orders(), owner_of(current_user)).id)
    added = services.add_lines(
        current_cart(),
        [(line.plan_id, line.quantity, line.renews_licence_id) for line in order.lines],
        max_quantity=_max_quantity(), max_lines=current_app.config["STORE_CART_MAX_LINES"],
    )
    save_cart(added.cart)
    if order.status == OrderStatus.CANCELLED:
        flash(_("Order %(number)s is cancelled: change its plans here and check out again.",
                number=order.number), "success")
    if len(added.left_out) < len(order.lines):
        flash(_("The plans of order %(number)s are in your cart, at today's prices.",
                number=order.number), "success")
    for line in order.lines:
        title = line_title(line.product_name, line.plan_name)
        if line.plan_id in added.left_out:
            flash(_("%(plan)s could not be added: it is no longer on sale or your cart is "
                    "full.", plan=title), "error")
        elif line.plan_id in added.capped:
            flash(_("%(plan)s: your cart holds at most %(num)d.", plan=title,
                    num=_max_quantity()), "error")
    return redirect(url_for("cart.show"))


@bp.post("/carrito/aceptar")
def accept():
    """The buyer saw the changed prices (or dropped plans) and goes on with today's."""
    save_cart(services.accept_prices(current_cart(), services.view(current_cart())))
    return redirect(url_for("checkout.start"))
