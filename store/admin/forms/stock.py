"""The key import form: a pool plan, a key file of at most 20 MB, and a dry-run box."""

from __future__ import annotations

import os

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField
from wtforms.validators import InputRequired, ValidationError

MAX_KEY_FILE_MB = 20
MAX_KEY_FILE_BYTES = MAX_KEY_FILE_MB * 1024 * 1024
TOO_LARGE = _l("The file is larger than %(mb)d MB. Split it and import each part.",
               mb=MAX_KEY_FILE_MB)


def _at_most_max_size(form, field) -> None:
    stream = field.data.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > MAX_KEY_FILE_BYTES:
        raise ValidationError(TOO_LARGE)


class ImportKeysForm(FlaskForm):
    """The view fills ``plan_id.choices`` with the pool plans."""

    plan_id = SelectField(_l("Plan"), coerce=int, validators=[InputRequired(_l("Choose a plan."))])
    key_file = FileField(
        _l("Key file"),
        description=_l("One key per line, or a CSV file with a “key” column; UTF-8 text, "
                       "at most %(mb)d MB.", mb=MAX_KEY_FILE_MB),
        validators=[FileRequired(_l("Choose the file with the keys.")), _at_most_max_size],
    )
    dry_run = BooleanField(_l("Dry run: check and count everything, import nothing"))
