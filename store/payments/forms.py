"""Payment forms: paying a pending order again, and the sandbox gateway's buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import AnyOf, InputRequired

from store.payments.registry import provider_choices


class PayAgainForm(FlaskForm):
    method = RadioField(
        _l("Payment method"), validators=[InputRequired(_l("Choose how to pay."))], choices=[]
    )


def pay_again_form() -> PayAgainForm:
    """The form with the enabled providers, the first one chosen unless the buyer chose."""
    form = PayAgainForm()
    form.method.choices = provider_choices()
    if not form.is_submitted():
        form.method.data = form.method.choices[0][0]
    return form


class SandboxDecisionForm(FlaskForm):
    # Rendered as two submit buttons named "decision".
    decision = StringField(validators=[InputRequired(), AnyOf(["approved", "declined"])])
