"""Form pieces every area uses: strict whole numbers, email addresses, the first error.

Forms check shape; services check the store's rules.
"""

from __future__ import annotations

import re
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError

# ASCII digits, with an optional minus so a negative number gets the range message.
WHOLE_NUMBER = re.compile(r"-?[0-9]+")
MAX_DIGITS = 100  # far beyond any limit the store has; longer text is not a number here
# WTForms' own message, translated by its catalogue (a constant, so ours does not extract it).
NOT_AN_INTEGER = "Not a valid integer value."


class WholeNumberField(IntegerField):
    """An integer typed with ASCII digits only.

    Python's int() also takes "٣", "３", "1_0", "+2" and spaces; a form should not.
    """

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0]
        if not isinstance(text, str) or len(text) > MAX_DIGITS or not WHOLE_NUMBER.fullmatch(text):
            self.data = None
            raise ValueError(self.gettext(NOT_AN_INTEGER))
        self.data = int(text)

    def pre_validate(self, form) -> None:
        # Something typed that is not a number: that one message is enough (no range check
        # on nothing). A blank field is left to Optional or InputRequired, which say more.
        if self.process_errors and self.raw_data and str(self.raw_data[0]).strip():
            raise StopValidation()


# Dates people filter by: far enough either way for any record, near enough that a day
# after the last one, or one before the first, in any time zone, is still a date.
EARLIEST_DATE, LATEST_DATE = date(2000, 1, 1), date(2999, 12, 31)


def within_dates(form, field) -> None:
    """A date field's validator: the date lies between EARLIEST_DATE and LATEST_DATE."""
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_l("Enter a date from 2000 to 2999."))


class StopOnFailure:
    """Wrap a validator so that, when it fails, no later validator of the field runs.

    Cheap checks (length) then guard expensive ones (parsing an email address).
    """

    def __init__(self, validator) -> None:
        self.validator = validator

    def __call__(self, form, field) -> None:
        try:
            self.validator(form, field)
        except StopValidation:
            raise
        except ValueError as error:  # ValidationError is a ValueError
            raise StopValidation(str(error)) from error


class EmailAddress:
    """One plain address, checked by email-validator and stored in its normal form.

    Refuses lists ("a,b@x"), comments ("a(b)@x"), quoted forms, addresses with markup, and
    non-ASCII before the @ (mail servers may not carry it). Domains are kept in ASCII.
    """

    def __init__(self, message=None) -> None:
        self.message = message or _l("Enter a valid email address, like ana@example.com.")

    def __call__(self, form, field) -> None:
        try:
            checked = validate_email(
                field.data or "", check_deliverability=False, allow_smtputf8=False
            )
        except EmailNotValidError:
            raise StopValidation(self.message) from None
        field.data = checked.ascii_email


MAX_EMAIL_LENGTH = 254


def strip_text(value):
    """Filter: surrounding spaces off a submitted string."""
    return value.strip() if isinstance(value, str) else value


def buyer_email_field(description) -> EmailField:
    """The email a buyer orders with, checked the same way wherever it is asked for."""
    return EmailField(
        _l("Email"),
        filters=[strip_text],
        validators=[
            InputRequired(_l("Enter your email address.")),
            # A long field stops here, before the address is parsed.
            StopOnFailure(Length(
                max=MAX_EMAIL_LENGTH,
                message=_l("An email address has at most %(max)d characters."),
            )),
            EmailAddress(),
        ],
        description=description,
    )


def first_error(form: FlaskForm) -> str:
    """The first validation message of ``form``, for a flash message."""
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return str(_l("The request could not be understood. Please try again."))
