"""The renewal pages: find a licence by its key (guests), choose a renewal for a licence
the visitor may renew, and open the renewal from a reminder email's link.

A visitor may renew a licence they own through their account, whose order they placed
or opened in this browser, whose key they typed here, or whose reminder link they
followed. The cart adds the renewal; checkout and payment check it again.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from store.cart import services as cart
from store.cart.forms import RenewalForm
from store.cart.services import CartError
from store.errors import NotFound
from store.forms import first_error
from store.orders.services import owner_of
from store.ratelimit import limited
from store.renewals import bp
from store.renewals.forms import KeyForm
from store.renewals.links import licence_id_from_token
from store.renewals.services import licence_for_key, may_renew, renewal_choice
from store.visitor import current_cart, prove_licence, proven_licences, remembered_orders, save_cart


def _may_renew(licence_id: int) -> bool:
    return may_renew(licence_id, owner=owner_of(current_user), orders=remembered_orders(),
                     proven=proven_licences())


@bp.route("/renovar/", methods=["GET", "POST"])
@limited("STORE_LIMIT_RENEWAL_KEY", scope="renewal-key", methods=["POST"])
def start():
    """Type the key of the licence to renew; the key is posted, never put in an address."""
    form = KeyForm()
    if not form.validate_on_submit():
        return render_template("renewals/start.html", form=form), 400 if form.is_submitted() else 200
    licence = licence_for_key(form.key.data)
    if licence is None:
        form.key.errors.append(_("No licence has this key. Check it and try again."))
        return render_template("renewals/start.html", form=form), 400
    prove_licence(licence.id)
    return redirect(url_for("renewals.choose", licence_id=licence.id))


@bp.get("/renovar/licencia/<int:licence_id>")
def choose(licence_id: int):
    if not _may_renew(licence_id):
        raise NotFound()
    choice = renewal_choice(licence_id)
    prove_licence(choice.licence.id)  # its newest key, should it have been reissued since
    return render_template("renewals/choose.html", choice=choice, form=RenewalForm(formdata=None))


@bp.get("/renovar/enlace/<token>")
def from_link(token: str):
    """A reminder email's one-click link: it names the licence (never its key)."""
    licence_id = licence_id_from_token(token)
    if licence_id is None:
        return render_template("renewals/link_expired.html"), 404
    prove_licence(licence_id)
    return redirect(url_for("renewals.choose", licence_id=licence_id))


@bp.post("/renovar/anadir")
def add():
    form = RenewalForm()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return redirect(url_for("renewals.start"))
    if not _may_renew(form.licence_id.data):
        raise NotFound()
    try:
        save_cart(cart.add_renewal(current_cart(), form.plan_id.data, form.licence_id.data,
                                   max_lines=current_app.config["STORE_CART_MAX_LINES"]))
    except CartError as error:
        flash(str(error.detail), "error")
        return redirect(url_for("renewals.choose", licence_id=form.licence_id.data))
    flash(_("The renewal is in your cart."), "success")
    return redirect(url_for("cart.show"))
