"""Staff sign-in with a second factor: enrolment, codes, recovery codes, the policy."""

from __future__ import annotations

import re
from html import unescape

import pyotp
import pytest
import sqlalchemy as sa

from store.accounts.models import Role, User
from store.audit.models import AuditEvent
from store.extensions import db
from store.staff.models import RecoveryCode, SecondFactor
from store.vault import reveal
from tests.conftest import Shopper

SECRET = re.compile(r'<code class="totp-secret" id="totp-secret">(.*?)</code>', re.S)
RECOVERY = re.compile(r"<li><code>([0-9A-Z-]+)</code></li>")


def shown_secret(html: str) -> str:
    return re.sub(r"<[^>]+>|\s", "", SECRET.search(html)[1])


def errors_in(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<p class="field-error">(.*?)</p>', html)]


@pytest.fixture
def admin(app, desk, shopper) -> int:
    return desk.hire("admin@example.com", Role.ADMIN)


def test_a_staff_sign_in_leads_to_enrolment_which_keeps_the_secret_sealed_and_shows_ten_codes_once(
    app, admin, shopper, count
):
    signed_in = shopper.sign_in(email="admin@example.com")
    to_enrol = shopper.client.get(signed_in.headers["Location"])
    page = shopper.client.get(to_enrol.headers["Location"])
    html = page.get_data(as_text=True)
    secret = shown_secret(html)
    waiting = str(shopper.session())  # the secret waits sealed in the session

    done = shopper.client.post("/staff/segundo-factor/alta",
                               data={"code": pyotp.TOTP(secret).now(), "next": "/admin/"})

    assert signed_in.headers["Location"] == "/admin/"
    assert to_enrol.headers["Location"] == "/staff/segundo-factor/alta?next=/admin/"
    assert page.headers["Cache-Control"] == "no-store" and done.headers["Cache-Control"] == "no-store"
    assert "<svg" in html and "style" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    codes = RECOVERY.findall(done.get_data(as_text=True))
    assert len(set(codes)) == 10
    with app.app_context():
        factor = db.session.scalar(sa.select(SecondFactor))
        stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
        raw_rows = db.session.execute(sa.text("SELECT * FROM staff_second_factor")).one()
        assert factor.user_id == admin and reveal(factor) == secret
        assert all(secret.encode() not in bytes(value) if isinstance(value, (bytes, memoryview))
                   else secret not in str(value) for value in raw_rows)
        assert len(stored) == 10 and not set(codes) & set(stored)
        assert db.session.scalar(sa.select(AuditEvent.action)) == "staff.second_factor_enrolled"
    assert shopper.client.get("/admin/").status_code == 200
    assert "second_factor_pending" in waiting and secret not in waiting
    assert "second_factor_pending" not in shopper.session()
    # The codes are never shown again: the enrolment page now sends to the code page.
    assert shopper.client.get("/staff/segundo-factor/alta").status_code == 302


def test_a_wrong_enrolment_code_is_refused_and_nothing_is_written(app, admin, shopper, count):
    shopper.sign_in(email="admin@example.com")
    secret = shown_secret(shopper.page("/staff/segundo-factor/alta"))
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"

    response = shopper.client.post("/staff/segundo-factor/alta", data={"code": wrong})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_in(html) == ["Ese código no es correcto. Comprueba la hora del teléfono y "
                               "prueba con el código actual."]
    assert shown_secret(html) == secret  # the same secret, to try again
    assert count(SecondFactor) == 0 and count(RecoveryCode) == 0
    assert shopper.client.get("/admin/").headers["Location"].startswith(
        "/staff/segundo-factor/alta")


def test_sign_in_then_the_current_code_opens_admin(admin, desk, shopper):
    secret, _codes = desk.enrol(admin)
    shopper.sign_in(email="admin@example.com")

    before = shopper.client.get("/admin/")
    entered = shopper.enter_code(desk.code(secret), next="/admin/")

    assert before.headers["Location"] == "/staff/segundo-factor?next=/admin/"
    assert entered.headers["Location"] == "/admin/"
    page = shopper.client.get("/admin/")
    assert page.status_code == 200 and "<h1>Administración</h1>" in page.get_data(as_text=True)


def test_a_wrong_code_is_refused_and_changes_nothing(app, admin, desk, shopper):
    secret, _codes = desk.enrol(admin)
    with app.app_context():
        step = db.session.scalar(sa.select(SecondFactor.last_used_step))
    shopper.sign_in(email="admin@example.com")
    wrong = f"{(int(desk.code(secret)) + 1) % 1_000_000:06d}"

    response = shopper.enter_code(wrong)

    assert response.status_code == 400
    assert errors_in(response.get_data(as_text=True))[0].startswith("Ese código no es correcto.")
    with app.app_context():
        assert db.session.scalar(sa.select(SecondFactor.last_used_step)) == step
    assert shopper.client.get("/admin/").status_code == 302


def test_guessing_codes_stops_at_the_account_limit_even_for_the_right_code(
    app, admin, desk, shopper
):
    secret, _codes = desk.enrol(admin)
    shopper.sign_in(email="admin@example.com")
    wrong = f"{(int(desk.code(secret)) + 1) % 1_000_000:06d}"

    statuses = [shopper.enter_code(wrong).status_code for _ in range(6)]
    right = shopper.enter_code(desk.code(secret))

    assert statuses == [400] * 5 + [429]  # STORE_LIMIT_ACCOUNT_PER_ACCOUNT: 5 per 15 minutes
    assert right.status_code == 429 and shopper.client.get("/admin/").status_code == 302


def test_the_same_valid_code_is_refused_the_second_time(app, admin, desk, shopper, shopper_for):
    secret, _codes = desk.enrol(admin)
    shopper.sign_in(email="admin@example.com")
    code = desk.code(secret)
    shopper.enter_code(code)
    other = shopper_for(app)  # someone who saw the code, with the password
    other.sign_in(email="admin@example.com")

    replayed = other.enter_code(code)

    assert replayed.status_code == 400
    assert errors_in(replayed.get_data(as_text=True)) == [
        "Ese código ya se usó. Espera al siguiente y escríbelo."]
    assert other.client.get("/admin/").status_code == 302
    assert shopper.client.get("/admin/").status_code == 200


def test_a_recovery_code_works_once(app, admin, desk, shopper, shopper_for):
    _secret, codes = desk.enrol(admin)
    shopper.sign_in(email="admin@example.com")

    used = shopper.enter_code(codes[3].lower().replace("-", " "))
    again = shopper_for(app)
    again.sign_in(email="admin@example.com")
    reused = again.enter_code(codes[3])

    assert used.headers["Location"] == "/admin/"
    assert shopper.flashes("success", "/admin/") == [
        "Usaste un código de recuperación; te quedan 9."]
    assert reused.status_code == 400 and again.client.get("/admin/").status_code == 302
    assert again.enter_code(codes[4]).headers["Location"] == "/admin/"
    with app.app_context():
        used_rows = db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                                      .where(RecoveryCode.used_at.is_not(None)))
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert used_rows == 2 and actions.count("staff.recovery_code_used") == 2


def test_a_customer_gets_403_on_the_staff_pages(shopper):
    shopper.register()

    assert shopper.client.get("/admin/").status_code == 403
    assert shopper.client.get("/support").status_code == 403
    assert shopper.client.get("/staff/segundo-factor/alta").status_code == 403


def test_support_gets_403_on_admin_and_opens_support_after_the_code(desk, shopper):
    user_id = desk.hire("soporte@example.com", Role.SUPPORT)
    secret, _codes = desk.enrol(user_id)
    shopper.sign_in(email="soporte@example.com")

    before = shopper.client.get("/support")
    entered = shopper.enter_code(desk.code(secret))

    assert before.status_code == 302 and entered.headers["Location"] == "/support"
    assert shopper.client.get("/support").status_code == 200
    assert shopper.client.get("/admin/").status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(shopper):
    response = shopper.client.get("/admin/")

    assert response.headers["Location"] == "/cuenta/entrar?next=%2Fadmin%2F"


def test_a_new_sign_in_asks_for_the_code_again(admin, desk, shopper):
    secret, _codes = desk.enrol(admin)
    shopper.sign_in(email="admin@example.com")
    shopper.enter_code(desk.code(secret))
    opened = shopper.client.get("/admin/").status_code

    shopper.client.post("/cuenta/salir")
    shopper.sign_in(email="admin@example.com")

    assert opened == 200
    assert shopper.client.get("/admin/").headers["Location"].startswith("/staff/segundo-factor")
    assert "second_factor_user" not in shopper.session()


def test_the_code_pages_need_csrf_tokens(csrf_app, shopper_for, desk):
    visitor = shopper_for(csrf_app)
    with csrf_app.app_context():
        from store.accounts.services import NewAccount, register

        register(NewAccount(email="admin@example.com", name="Admin", password=Shopper.PASSWORD,
                            role=Role.ADMIN), verified=True)
    page = visitor.page("/cuenta/entrar")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    visitor.sign_in(email="admin@example.com", csrf_token=token)

    refused = visitor.client.post("/staff/segundo-factor/alta", data={"code": "123456"})

    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Solicitud incorrecta" in html
    assert 'class="field-error"' not in html  # refused before the code was looked at


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "¹²³⁴⁵⁶", "１２３４５６", "12345\x00"])
def test_digits_of_other_scripts_are_a_wrong_code_not_an_error(admin, desk, shopper, code):
    desk.enrol(admin)
    shopper.sign_in(email="admin@example.com")

    response = shopper.enter_code(code)

    assert response.status_code == 400
    assert shopper.client.get("/admin/").status_code == 302  # still no staff page


def test_a_staff_members_own_account_pages_wait_for_the_second_factor(app, admin, desk, shopper):
    desk.enrol(admin)
    shopper.sign_in(email="admin@example.com")

    response = shopper.client.post("/cuenta/contrasena", data={
        "current": Shopper.PASSWORD, "password": "girasol-escalera-mar-77"})

    assert response.headers["Location"].startswith("/staff/segundo-factor")
    with app.app_context():
        assert db.session.get(User, admin).auth_version == 1
