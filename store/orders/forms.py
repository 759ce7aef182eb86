"""The orders area's form: the email a buyer placed orders with, to get fresh links."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from store.forms import buyer_email_field


class LostLinksForm(FlaskForm):
    # Checked like checkout's email field, so any address an order has is accepted.
    email = buyer_email_field(_l("The email you wrote when you bought."))
