"""The one-click "no more reminders" page, opened from the link in a reminder email.

One click is the whole action: opening the signed link records the opt-out (again and
again changes nothing) and says so. A forged or damaged link records nothing and gets a
"link not valid" page.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from store.errors import NotFound
from store.renewals import bp
from store.renewals.links import email_from_opt_out_token
from store.renewals.reminders import stop_reminders


class OptOutLinkNotValid(NotFound):
    """The opt-out link is forged or damaged: nothing was recorded."""

    title = _l("This link to stop the reminders is not valid")


@bp.get("/renovar/avisos/baja/<token>")
def opt_out(token: str):
    email = email_from_opt_out_token(token)
    if email is None:
        raise OptOutLinkNotValid(_l(
            "Copy the whole address from the email, or write to us and we will stop the "
            "reminders for you."))
    stop_reminders(email)
    return render_template("renewals/opt_out.html", email=email)
