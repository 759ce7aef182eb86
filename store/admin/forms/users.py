"""Users section forms: the search (a GET form), a role change, a reason, and the code
that new recovery codes ask for."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SearchField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from store.accounts.models import ROLE_LABELS, Role
from store.admin.forms import clean_text
from store.staff.forms import MAX_CODE_LENGTH

MAX_SEARCH = 254
MAX_REASON = 500


def _role_or_none(value):
    return Role(value) if value else None


class UserSearchForm(FlaskForm):
    """The list's filters, read from the query string (nothing changes: no CSRF token)."""

    class Meta:
        csrf = False  # read from the query string; it changes nothing

    q = SearchField(_l("Email or name"), filters=[clean_text], validators=[
        Optional(), Length(max=MAX_SEARCH, message=_l("Use at most %(max)d characters."))])
    role = SelectField(_l("Role"), coerce=_role_or_none, validate_choice=True, default="",
                       choices=[SelectChoice("", _l("All roles"))]
                       + [SelectChoice(r.value, ROLE_LABELS[r]) for r in Role])


def _reason_field():
    return TextAreaField(_l("Reason"), filters=[clean_text], description=_l(
        "Kept in the audit log with your name."), validators=[
        DataRequired(_l("Say why.")),
        Length(max=MAX_REASON, message=_l("Use at most %(max)d characters.")),
    ])


class ReasonForm(FlaskForm):
    """Disable, enable, reset the second factor: the action needs only a reason."""

    reason = _reason_field()


class RoleForm(FlaskForm):
    role = RadioField(_l("Role"), choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role],
                      validators=[InputRequired(_l("Choose a role."))])
    reason = _reason_field()


class RecoveryCodesForm(FlaskForm):
    """New recovery codes: a code from the app, so a session alone cannot get them."""

    code = StringField(_l("Code from the app"), filters=[clean_text], description=_l(
        "Six digits; a new one every 30 seconds."), validators=[
        InputRequired(_l("Enter the code.")),
        Length(max=MAX_CODE_LENGTH, message=_l("A code has at most %(max)d characters.")),
    ])
