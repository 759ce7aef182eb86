"""The exchange rate form: a settlement currency and how many CUP one unit of it is worth."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from store.payments.rates import MAX_RATE, RATE_DECIMALS, SETTLEMENT_CURRENCIES

# ASCII digits with one optional decimal point or comma ("120", "120.5", "120,50").
RATE_TEXT = re.compile(r"([0-9]{1,7})(?:[.,]([0-9]{1,%d}))?" % RATE_DECIMALS)
MAX_RATE_TEXT = 40
ENTER_THE_RATE = _l("Enter the rate.")


class RateField(StringField):
    """CUP per unit, typed as a decimal with at most 6 decimals; ``data`` is a Decimal."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0].strip() if isinstance(valuelist[0], str) else ""
        self.raw_text = text
        found = RATE_TEXT.fullmatch(text) if len(text) <= MAX_RATE_TEXT else None
        if not text:
            self.data = None
            raise ValueError(ENTER_THE_RATE)
        if found is None:
            self.data = None
            raise ValueError(_l("Write the rate as a number, like 120 or 120.50, with at most "
                                "6 decimals."))
        rate = Decimal(f"{found[1]}.{found[2]}" if found[2] else found[1])
        if rate <= 0:
            self.data = None
            raise ValueError(_l("Enter a number greater than zero."))
        if rate > MAX_RATE:
            self.data = None
            raise ValueError(_l("Enter at most 1,000,000 CUP, with at most 6 decimals."))
        self.data = rate

    def _value(self):
        return getattr(self, "raw_text", None) or (format(self.data, "f") if self.data else "")


class ExchangeRateForm(FlaskForm):
    currency = SelectField(_l("Currency"),
                           choices=[SelectChoice(c, c) for c in SETTLEMENT_CURRENCIES],
                           validators=[InputRequired(_l("Choose a currency."))])
    rate = RateField(
        _l("CUP per 1 unit of the currency"),
        description=_l("For example 120.50 means 120.50 CUP per 1 USD. At most 6 decimals."),
        # InputRequired, not DataRequired: that one would drop the error of a junk value.
        validators=[InputRequired(ENTER_THE_RATE)],
    )
    confirm = BooleanField(_l("Yes, this rate is right"))
    asks_confirmation = False  # set by the view when the rate is far from the one in use
