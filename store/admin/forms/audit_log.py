"""Audit log filters: a GET form read from the query string."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from store.admin.forms import clean_text
from store.forms import WholeNumberField, within_dates

MAX_TEXT = 254
MAX_ID = 2**31 - 1


def _text(label, description=""):
    return StringField(label, description=description, filters=[clean_text], validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("Use at most %(max)d characters."))])


class AuditFilterForm(FlaskForm):
    """What to look for in the log (nothing changes: no CSRF token)."""

    class Meta:
        csrf = False  # read from the query string; it changes nothing

    actor = _text(_l("Who (email)"))
    action = _text(_l("Action"), _l('Exact ("user.disabled"), or a prefix ending in a dot '
                                    '("user.").'))
    subject_type = _text(_l("Subject type"), _l('For example "user_account" or "plan".'))
    subject_id = WholeNumberField(_l("Subject id"), validators=[
        Optional(), NumberRange(min=1, max=MAX_ID,
                                message=_l("Enter a number from %(min)d to %(max)d."))])
    since = DateField(_l("From"), validators=[Optional(), within_dates])
    until = DateField(_l("To"), validators=[Optional(), within_dates])

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))
