"""Payment forms: paying a pending order again (with what each method charges), and the
sandbox gateway's buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import AnyOf, InputRequired

from store.i18n import money_filter
from store.money import Money
from store.payments.gateway import PaymentProviderError
from store.payments.registry import enabled_providers, provider_choices
from store.payments.services import quote


class PayAgainForm(FlaskForm):
    method = RadioField(
        _l("Payment method"), validators=[InputRequired(_l("Choose how to pay."))], choices=[]
    )


def pay_again_form(total: Money | None = None) -> PayAgainForm:
    """The form with the enabled providers (each with what it charges for ``total`` when
    given), the first one chosen unless the buyer chose."""
    form = PayAgainForm()
    form.method.choices = provider_choices() if total is None else priced_choices(total)
    if not form.is_submitted():
        form.method.data = form.method.choices[0][0]
    return form


class SandboxDecisionForm(FlaskForm):
    # Rendered as two submit buttons named "decision".
    decision = StringField(validators=[InputRequired(), AnyOf(["approved", "declined"])])


def charged_as_it_is(total: Money) -> bool:
    """True when every enabled provider charges ``total`` in its own currency, so a button
    may say the amount; False when a method charges it converted (its choice says how
    much)."""
    return all(provider.currency == total.currency
               for provider in enabled_providers().values())


def priced_choices(total: Money) -> list[tuple[str, str]]:
    """(name, label) of each enabled provider with what it charges for ``total``, computed
    as payments compute it: "International card (Stripe): 10.42 USD"."""
    choices = []
    for name, provider in enabled_providers().items():
        try:
            charge, _rate = quote(total, provider)
        except PaymentProviderError:  # no exchange rate for its currency
            choices.append((name, _l("%(method)s (not available right now)",
                                     method=provider.label)))
            continue
        choices.append((name, _l("%(method)s: %(amount)s", method=provider.label,
                                 amount=money_filter(charge))))
    return choices
