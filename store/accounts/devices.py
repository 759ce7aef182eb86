"""The devices on "Mis licencias": a customer frees a seat of their own licence.

The customer's own action, so it is not audited (the audit log is for staff actions);
``free_seat`` logs it without the key.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from store.accounts import bp
from store.accounts.forms import ConfirmForm
from store.dbtypes import utcnow
from store.errors import NotFound
from store.licensing.activations import free_seat
from store.orders.services import customer_licences, owner_of, pick_licence


@bp.post("/cuenta/licencias/<int:licence_id>/dispositivos/<int:activation_id>/liberar")
@login_required
def free_device(licence_id: int, activation_id: int):
    """Free one device's seat of the customer's licence (404 for anyone else's licence)."""
    owned = pick_licence(customer_licences(owner_of(current_user), utcnow()), licence_id)
    if ConfirmForm().validate_on_submit():
        try:
            free_seat(owned.licence.id, activation_id)
        except NotFound:  # freed already: a second click, another tab, the device itself
            flash(_("That device was already freed: it no longer uses this licence."), "info")
        else:
            flash(_("The device is freed: its seat can now go to another device."), "success")
    return redirect(url_for("accounts.my_licences"))
