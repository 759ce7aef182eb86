"""Cart forms: they check shape (whole numbers in range); services check the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import InputRequired, NumberRange, Optional

from store.forms import WholeNumberField
from store.urls import safe_local_path

MAX_ID = 2**31 - 1


class PlanForm(FlaskForm):
    plan_id = WholeNumberField(
        validators=[InputRequired(_l("Choose a plan.")), NumberRange(1, MAX_ID, _l("Choose a plan."))]
    )


class LineForm(PlanForm):
    """A cart line: a plan, or the renewal of one licence by a plan."""

    licence_id = WholeNumberField(validators=[Optional(), NumberRange(1, MAX_ID, _l("Choose a plan."))])


class RenewalForm(LineForm):
    """Adding the renewal of a licence (from the renewal pages)."""

    licence_id = WholeNumberField(
        validators=[InputRequired(_l("Choose a licence.")), NumberRange(1, MAX_ID, _l("Choose a licence."))]
    )


class QuantityForm(PlanForm):
    quantity = WholeNumberField(
        _l("Quantity"),
        validators=[
            InputRequired(_l("Enter how many you want.")),
            # The upper limit is a store setting, checked (with its own message) by the service.
            NumberRange(min=1, message=_l("The quantity must be a whole number of at least 1.")),
        ],
    )


class AddForm(QuantityForm):
    """Adding from a product page, which names itself in ``next``: a refusal goes back there."""

    next = HiddenField()

    def safe_next(self) -> str | None:
        """Return ``next`` only when it is a short path on this site (no open redirect)."""
        return safe_local_path(self.next.data)
