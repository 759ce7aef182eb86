"""Exchange rates: the rates in use, a form to set a new one, and their history."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from store.admin import bp
from store.admin.forms.rates import ExchangeRateForm
from store.audit.models import Actor
from store.dbtypes import utcnow
from store.errors import InvalidInput
from store.payments.rates import (
    RateNeedsConfirmation,
    rate_history,
    rates_in_use,
    set_exchange_rate,
)


@bp.route("/tipos-de-cambio", methods=["GET", "POST"])
def rates():
    form = ExchangeRateForm()
    if form.validate_on_submit():
        try:
            row = set_exchange_rate(
                form.currency.data, form.rate.data, actor=Actor.of(current_user), now=utcnow(),
                fallback=current_app.config["STORE_EXCHANGE_RATES"], confirmed=form.confirm.data)
        except RateNeedsConfirmation as error:
            form.rate.errors.append(error.detail)
            form.asks_confirmation = True
        except InvalidInput as error:
            form.rate.errors.append(error.detail)
        else:
            flash(_("New payments in %(currency)s now use %(rate)s CUP per 1 %(currency)s.",
                    currency=row.currency, rate=row.cup_per_unit), "success")
            return redirect(url_for("admin.rates"))
    return render_template(
        "admin/rates.html", form=form, history=rate_history(),
        in_use=rates_in_use(current_app.config["STORE_EXCHANGE_RATES"]),
    ), 400 if form.is_submitted() else 200
