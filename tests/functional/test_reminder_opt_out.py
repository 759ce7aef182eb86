"""The link in a reminder email that stops the renewal reminders: it opens a page whose
one button records the opt-out (opening the link alone changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsdangerous import URLSafeSerializer

from store.extensions import db
from store.licensing.models import Licence
from store.renewals.links import OPT_OUT_SALT, opt_out_token, renewal_token
from store.renewals.models import ReminderOptOut
from store.renewals.reminders import send_reminders
from tests.factories import renewable_licence

EXPIRY = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _opt_out_path(app, email: str) -> str:
    with app.app_context():
        return f"/renovar/avisos/baja/{opt_out_token(email)}"


def test_one_click_records_the_opt_out_once_and_stops_later_reminders(app, client, count):
    with app.app_context():
        renewable_licence(EXPIRY, email="ana@example.com")
    path = _opt_out_path(app, "ana@example.com")

    opened = client.get(path)
    assert opened.status_code == 200 and count(ReminderOptOut) == 0  # a scanner's fetch
    assert f'action="{path}"' in opened.get_data(as_text=True)

    first, second = client.post(path), client.post(path)

    assert (first.status_code, second.status_code) == (200, 200)
    assert ("No te enviaremos más recordatorios de renovación a ana@example.com."
            in first.get_data(as_text=True))
    assert count(ReminderOptOut, ReminderOptOut.email == "ana@example.com") == 1
    with app.app_context():
        assert send_reminders(EXPIRY - timedelta(days=3)) == 0


def test_a_forged_or_damaged_link_records_nothing(app, client, count):
    genuine = _opt_out_path(app, "ana@example.com")
    with app.app_context():
        forged = "/renovar/avisos/baja/" + opt_out_token("ana@example.com").replace(".", ".x", 1)
        signer = URLSafeSerializer(app.secret_key, salt=OPT_OUT_SALT)
        not_an_email = "/renovar/avisos/baja/" + signer.dumps(42)

    responses = [send(path) for path in (forged, genuine[:-3], genuine + "x", not_an_email,
                                         "/renovar/avisos/baja/" + "a" * 3000)
                 for send in (client.get, client.post)]

    assert [r.status_code for r in responses] == [404] * 10
    assert "no es válido" in responses[0].get_data(as_text=True)
    assert count(ReminderOptOut) == 0


def test_a_renewal_link_does_not_pass_for_an_opt_out_link(app, client, count):
    with app.app_context():
        licence = db.session.get(Licence, renewable_licence(EXPIRY))
        token = renewal_token(licence)

    assert client.post(f"/renovar/avisos/baja/{token}").status_code == 404
    assert count(ReminderOptOut) == 0
