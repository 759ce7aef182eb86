"""The desk's forms: the search box, a note, and the reason every action asks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, TextAreaField
from wtforms.validators import DataRequired, Length

from store.admin.forms import clean_text
from store.admin.forms.orders import ReasonForm
from store.support.models import MAX_NOTE

MAX_QUERY = 254

__all__ = ["NoteForm", "ReasonForm", "SearchForm"]


class SearchForm(FlaskForm):
    """One box: an email, an order number or a licence key. It is posted, so a key
    never appears in an address."""

    q = SearchField(_l("Email, order number or licence key"), filters=[clean_text], validators=[
        DataRequired(_l("Type what to look for.")),
        Length(max=MAX_QUERY, message=_l("At most %(max)d characters.")),
    ])


class NoteForm(FlaskForm):
    """An internal note on an order: staff read it, the customer never does."""

    body = TextAreaField(_l("Internal note"), filters=[clean_text], validators=[
        DataRequired(_l("Write the note.")),
        Length(max=MAX_NOTE, message=_l("At most %(max)d characters.")),
    ])
