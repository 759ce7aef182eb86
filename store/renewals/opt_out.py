"""The "no more reminders" page, opened from the signed link in a reminder email.

Opening the link shows one button; one click on it records the opt-out (again and again
changes nothing) and says so. Opening the link alone changes nothing, so mail scanners
that fetch every link in a message unsubscribe nobody. A forged or damaged link records
nothing and gets a "link not valid" page.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from store.errors import NotFound
from store.renewals import bp
from store.renewals.links import email_from_opt_out_token
from store.renewals.reminders import stop_reminders


class OptOutLinkNotValid(NotFound):
    """The opt-out link is forged or damaged: nothing was recorded."""

    title = _l("This link to stop the reminders is not valid")


@bp.route("/renovar/avisos/baja/<token>", methods=["GET", "POST"])
def opt_out(token: str):
    email = email_from_opt_out_token(token)
    if email is None:
        raise OptOutLinkNotValid(_l(
            "Copy the whole address from the email, or write to us and we will stop the "
            "reminders for you."))
    if request.method == "GET":
        return render_template("renewals/opt_out.html", email=email, done=False)
    stop_reminders(email)  # CSRFProtect has checked the form's token
    return render_template("renewals/opt_out.html", email=email, done=True)
