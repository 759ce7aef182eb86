"""Orders section forms: the list's filters (query string) and the reason every action asks."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SearchField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from store.admin.forms import clean_text
from store.admin.services.orders import OrderFilter
from store.forms import WholeNumberField, within_dates
from store.orders.messages import STATUS_LABELS
from store.orders.models import OrderStatus

MAX_FILTER_TEXT = 254
MAX_REASON = 500
MAX_PAGE = 100_000


class OrderFilterForm(FlaskForm):
    """GET filters of the order list; no CSRF since they change nothing. A FlaskForm for
    WTForms' own messages in the page's language."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("All statuses"))]
        + [SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()],
        default="", validate_choice=True,
    )
    placed_from = DateField(_l("Placed from"), validators=[Optional(), within_dates])
    placed_to = DateField(_l("Placed until"), validators=[Optional(), within_dates])
    email = SearchField(_l("Email"), filters=[clean_text],
                        validators=[Optional(), Length(max=MAX_FILTER_TEXT)])
    method = SelectField(_l("Payment method"), default="", validate_choice=True)
    number = SearchField(_l("Order number"), filters=[clean_text],
                         validators=[Optional(), Length(max=MAX_FILTER_TEXT)])
    page = WholeNumberField(validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])

    def __init__(self, formdata, methods: list[tuple[str, str]]) -> None:
        super().__init__(formdata=formdata)
        self.method.choices = [SelectChoice("", _l("All methods"))] + [
            SelectChoice(name, label) for name, label in methods]

    def validate_placed_to(self, field) -> None:
        start = self.placed_from.data
        if field.data and start and field.data < start:
            raise ValidationError(_l("The last day comes before the first."))

    def to_filter(self) -> tuple[OrderFilter | None, int]:
        """The filter and page; no filter (None) when any value is not valid."""
        valid = self.validate()
        page = self.page.data if "page" not in self.errors and self.page.data else 1
        if not valid:
            return None, page
        return OrderFilter(
            status=OrderStatus(self.status.data) if self.status.data else None,
            placed_from=self.placed_from.data, placed_to=self.placed_to.data,
            email=self.email.data or "", method=self.method.data or "",
            number=self.number.data or "", zone=ZoneInfo(str(get_timezone())),
        ), page


class ReasonForm(FlaskForm):
    """Every action on an order asks why; the reason goes to the audit log."""

    reason = TextAreaField(_l("Reason"), filters=[clean_text], validators=[
        DataRequired(_l("Say why.")),
        Length(max=MAX_REASON, message=_l("At most %(max)d characters.")),
    ])
