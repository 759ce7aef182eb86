"""Back office users: find accounts, change a role, disable and enable, reset a second factor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pyotp
import pytest
import sqlalchemy as sa

from store.accounts.models import Role, User
from store.audit.models import AuditEvent
from store.extensions import db
from store.staff.models import RecoveryCode, SecondFactor
from tests.conftest import Shopper


def errors_in(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<p class="field-error">(.*?)</p>', html)]


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return list(found)


def account(app, id_: int) -> User:
    with app.app_context():
        user = db.session.get(User, id_)
        db.session.expunge(user)
        return user


def test_the_list_finds_accounts_by_email_or_name_and_by_role(app, admin, desk):
    desk.hire("luisa.support@example.com", Role.SUPPORT)
    desk.hire("pedro@example.com", Role.CUSTOMER)

    by_text = admin.page("/admin/usuarios?q=LUISA")
    by_role = admin.page("/admin/usuarios?role=customer")
    everyone = admin.page("/admin/usuarios")

    assert "luisa.support@example.com" in by_text and "pedro@example.com" not in by_text
    assert "pedro@example.com" in by_role and "luisa.support@example.com" not in by_role
    assert all(email in everyone for email in
               ("admin@example.com", "luisa.support@example.com", "pedro@example.com"))
    assert "3 cuentas" in everyone


def test_a_junk_role_filter_is_a_field_error_in_spanish(admin):
    response = admin.client.get("/admin/usuarios?role=emperor&q=" + "x" * 300)

    assert response.status_code == 400
    assert errors_in(response.get_data(as_text=True))


def test_changing_a_role_is_audited_with_the_reason_and_the_values_before_and_after(app, admin, desk):
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)

    response = admin.client.post(f"/admin/usuarios/{pedro}/rol", data={
        "role-role": "support", "role-reason": "Joins the support desk"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/usuarios/{pedro}"
    assert account(app, pedro).role == Role.SUPPORT
    (event,) = events(app, "user.role_changed")
    assert (event.actor, event.actor_id) == ("admin@example.com", user_id(app, "admin@example.com"))
    assert (event.subject_type, event.subject_id) == ("user_account", pedro)
    assert event.reason == "Joins the support desk"
    assert event.details == {"changes": {"role": ["customer", "support"]}}
    assert "pedro@example.com es ahora Soporte." in Shopper.flashes_in(
        admin.page(f"/admin/usuarios/{pedro}"), "success")


def test_a_role_change_without_a_reason_or_with_a_junk_role_changes_nothing(
    app, admin, desk, count
):
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)

    no_reason = admin.client.post(f"/admin/usuarios/{pedro}/rol",
                                  data={"role-role": "admin", "role-reason": "  "})
    junk_role = admin.client.post(f"/admin/usuarios/{pedro}/rol",
                                  data={"role-role": "emperor", "role-reason": "why not"})

    assert no_reason.status_code == junk_role.status_code == 400
    assert "Di por qué." in errors_in(no_reason.get_data(as_text=True))
    assert errors_in(junk_role.get_data(as_text=True))
    assert account(app, pedro).role == Role.CUSTOMER
    assert count(AuditEvent, AuditEvent.action.like("user.%")) == 0


def test_the_last_admin_can_neither_demote_nor_disable_themself(app, admin, count):
    me = user_id(app, "admin@example.com")

    demoted = admin.client.post(f"/admin/usuarios/{me}/rol",
                                data={"role-role": "support", "role-reason": "step down"})
    disabled = admin.client.post(f"/admin/usuarios/{me}/desactivar",
                                 data={"status-reason": "leaving"})

    assert demoted.status_code == disabled.status_code == 302
    mine = account(app, me)
    assert mine.role == Role.ADMIN and not mine.is_disabled
    assert count(AuditEvent, AuditEvent.action.like("user.%")) == 0
    assert Shopper.flashes_in(admin.page(f"/admin/usuarios/{me}")) == [
        "La tienda necesita al menos un administrador activo: haz administrador a otra "
        "persona primero."] * 2


def test_an_admin_may_demote_another_admin_while_one_remains(app, admin, desk):
    other = desk.hire("otra.admin@example.com", Role.ADMIN)

    response = admin.client.post(f"/admin/usuarios/{other}/rol",
                                 data={"role-role": "customer", "role-reason": "left"})

    assert response.status_code == 302
    assert account(app, other).role == Role.CUSTOMER


def test_a_disabled_user_is_signed_out_at_once_and_cannot_sign_in(app, admin, shopper):
    shopper.register(email="pedro@example.com", name="Pedro")
    assert shopper.client.get("/cuenta/").status_code == 200
    pedro = user_id(app, "pedro@example.com")

    response = admin.client.post(f"/admin/usuarios/{pedro}/desactivar",
                                 data={"status-reason": "Chargebacks"})

    assert response.status_code == 302
    assert account(app, pedro).is_disabled
    assert shopper.client.get("/cuenta/").status_code == 302  # the next request is anonymous
    again = Shopper(app.test_client())
    refused = again.sign_in(email="pedro@example.com")
    assert refused.status_code == 400
    assert Shopper.flashes_in(refused.get_data(as_text=True)) == [
        "Esta cuenta está desactivada. Escribe a la tienda si crees que es un error."]
    assert again.client.get("/cuenta/").status_code == 302
    (event,) = events(app, "user.disabled")
    assert event.reason == "Chargebacks" and event.details["changes"]["auth_version"] == [1, 2]


def test_enabling_an_account_lets_it_sign_in_again(app, admin, desk):
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)
    admin.client.post(f"/admin/usuarios/{pedro}/desactivar", data={"status-reason": "check"})

    response = admin.client.post(f"/admin/usuarios/{pedro}/activar",
                                 data={"status-reason": "checked"})

    assert response.status_code == 302 and not account(app, pedro).is_disabled
    assert Shopper(app.test_client()).sign_in(email="pedro@example.com").status_code == 302
    assert [e.action for e in events(app, "user.enabled")] == ["user.enabled"]


def test_resetting_a_second_factor_ends_the_sessions_and_the_next_sign_in_enrols_again(
    app, admin, desk, count
):
    support = desk.signed_in("luisa@example.com", Role.SUPPORT)
    luisa = user_id(app, "luisa@example.com")
    assert support.client.get("/support").status_code == 200

    response = admin.client.post(f"/admin/usuarios/{luisa}/segundo-factor",
                                 data={"factor-reason": "Lost her phone"})

    assert response.status_code == 302
    assert count(SecondFactor, SecondFactor.user_id == luisa) == 0
    assert count(RecoveryCode, RecoveryCode.user_id == luisa) == 0
    assert support.client.get("/support").status_code == 302  # signed out
    assert support.client.get("/support").headers["Location"].startswith("/cuenta/entrar")
    assert support.sign_in(email="luisa@example.com").status_code == 302
    assert support.client.get("/support").headers["Location"].startswith(
        "/staff/segundo-factor/alta")
    (event,) = events(app, "staff.second_factor_reset")
    assert event.reason == "Lost her phone" and event.subject_id == luisa


def test_resetting_the_second_factor_of_a_customer_is_refused(app, admin, desk, count):
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)

    response = admin.client.post(f"/admin/usuarios/{pedro}/segundo-factor",
                                 data={"factor-reason": "why"})

    assert response.status_code == 302
    assert Shopper.flashes_in(admin.page(f"/admin/usuarios/{pedro}")) == [
        "Esta cuenta no tiene un segundo factor que restablecer."]
    assert count(AuditEvent, AuditEvent.action == "staff.second_factor_reset") == 0


def test_the_user_page_shows_the_account_and_its_latest_audit_events(app, admin, desk):
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)
    admin.client.post(f"/admin/usuarios/{pedro}/rol",
                      data={"role-role": "support", "role-reason": "Joins support"})

    html = admin.page(f"/admin/usuarios/{pedro}")

    assert "pedro@example.com" in html and "Joins support" in html
    assert "role: customer → support" in re.sub(r"<[^>]+>", "", html)
    assert admin.client.get("/admin/usuarios/999999").status_code == 404


def test_a_disabled_account_cannot_come_back_through_a_password_reset_link(app, admin, desk):
    from store.accounts.services import reset_token

    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)
    admin.client.post(f"/admin/usuarios/{pedro}/desactivar", data={"status-reason": "fraud"})
    with app.app_context():
        user = db.session.get(User, pedro)
        token = reset_token(user, user.email)
        old_hash = user.password_hash
    visitor = Shopper(app.test_client())

    response = visitor.client.post(f"/cuenta/restablecer/{token}",
                                   data={"password": "otra-clave-muy-larga-77"})

    assert response.status_code == 302
    assert Shopper.flashes_in(visitor.page(response.headers["Location"])) == [
        "Esta cuenta está desactivada. Escribe a la tienda si crees que es un error."]
    assert account(app, pedro).password_hash == old_hash
    assert visitor.client.get("/cuenta/").status_code == 302


def test_the_account_forms_work_with_csrf_checks_on(csrf_app, shopper_for):
    """Each form of the page carries its own (prefixed) token, as a browser sends it."""
    from tests.conftest import StaffDesk

    desk = StaffDesk(csrf_app)
    admin_id = desk.hire("admin@example.com", Role.ADMIN)
    secret = desk.enrol(admin_id)[0]
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)
    browser = shopper_for(csrf_app)

    def token(path: str, name: str = "csrf_token") -> str:
        return re.search(rf'name="{name}" type="hidden" value="([^"]+)"', browser.page(path))[1]

    browser.sign_in(email="admin@example.com", csrf_token=token("/cuenta/entrar"))
    browser.client.post("/staff/segundo-factor", data={
        "code": desk.code(secret), "csrf_token": token("/staff/segundo-factor")})
    page = f"/admin/usuarios/{pedro}"

    changed = browser.client.post(f"{page}/rol", data={
        "role-role": "support", "role-reason": "Joins support",
        "role-csrf_token": token(page, "role-csrf_token")})
    disabled = browser.client.post(f"{page}/desactivar", data={
        "status-reason": "Left", "status-csrf_token": token(page, "status-csrf_token")})
    forged = browser.client.post(f"{page}/activar", data={"status-reason": "x"})

    assert changed.status_code == disabled.status_code == 302
    assert forged.status_code == 400
    assert account(csrf_app, pedro).role == Role.SUPPORT and account(csrf_app, pedro).is_disabled


def next_code(secret: str) -> str:
    """The code the app shows in 30 seconds: newer than the one the sign-in used."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


def wrong_code(secret: str) -> str:
    """Six digits the app shows at no moment the check accepts now."""
    totp, now = pyotp.TOTP(secret), datetime.now(UTC)
    valid = {totp.at(now + timedelta(seconds=30 * step)) for step in (-1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444")
                if code not in valid)


def signed_in_admin(app, desk, shopper_for) -> tuple[Shopper, str, list[str], str]:
    """A browser signed in as an enrolled admin: (browser, secret, recovery codes, the
    TOTP code the sign-in used)."""
    secret, codes = desk.enrol(desk.hire("admin@example.com", Role.ADMIN))
    admin = shopper_for(app)
    admin.sign_in(email="admin@example.com")
    used = desk.code(secret)
    assert admin.enter_code(used).status_code == 302
    return admin, secret, codes, used


def recovery_hashes(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(RecoveryCode.code_hash)))


def test_an_admin_gets_ten_new_recovery_codes_once_and_the_old_ones_stop_working(
    app, desk, shopper_for
):
    admin, secret, old_codes, _ = signed_in_admin(app, desk, shopper_for)

    response = admin.client.post("/admin/mis-codigos-de-recuperacion",
                                 data={"codes-code": next_code(secret)})

    html = response.get_data(as_text=True)
    new_codes = re.findall(r"<li><code>([0-9A-Z-]+)</code></li>", html)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert len(set(new_codes)) == 10 and not set(new_codes) & set(old_codes)
    again = shopper_for(app)
    again.sign_in(email="admin@example.com")
    assert again.enter_code(old_codes[0]).status_code == 400
    assert again.enter_code(new_codes[0]).status_code == 302
    assert [e.reason for e in events(app, "staff.recovery_codes_regenerated")] == [
        "new recovery codes asked for"]


@pytest.mark.parametrize("typed, error", [
    ("", "Escribe el código."),
    ("wrong", "Ese código no es correcto."),
    ("recovery", "Ese código no es correcto."),  # a recovery code will not do
    ("used", "Ese código ya se usó."),  # the sign-in's code, replayed
])
def test_new_recovery_codes_need_a_fresh_code_from_the_app(
    app, desk, shopper_for, typed, error
):
    admin, secret, old_codes, used = signed_in_admin(app, desk, shopper_for)
    before = recovery_hashes(app)
    typed = {"recovery": old_codes[0], "used": used, "wrong": wrong_code(secret)}.get(typed, typed)

    response = admin.client.post("/admin/mis-codigos-de-recuperacion",
                                 data={"codes-code": typed})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert [e for e in errors_in(html) if e.startswith(error)]
    assert "<li><code>" not in html
    assert recovery_hashes(app) == before
    assert events(app, "staff.recovery_codes_regenerated") == []
    again = shopper_for(app)
    again.sign_in(email="admin@example.com")
    assert again.enter_code(old_codes[0]).status_code == 302  # the old codes still work


def test_the_code_that_got_new_recovery_codes_cannot_get_them_again(app, desk, shopper_for):
    admin, secret, _, _ = signed_in_admin(app, desk, shopper_for)
    code = next_code(secret)
    first = admin.client.post("/admin/mis-codigos-de-recuperacion", data={"codes-code": code})
    after_first = recovery_hashes(app)

    replay = admin.client.post("/admin/mis-codigos-de-recuperacion", data={"codes-code": code})

    assert first.status_code == 200 and replay.status_code == 400
    assert recovery_hashes(app) == after_first
    assert len(events(app, "staff.recovery_codes_regenerated")) == 1


def test_the_user_page_asks_for_a_code_before_new_recovery_codes(app, desk, shopper_for):
    admin, _, _, _ = signed_in_admin(app, desk, shopper_for)

    html = unescape(admin.page(f"/admin/usuarios/{user_id(app, 'admin@example.com')}"))

    form = re.search(r'<form[^>]*action="/admin/mis-codigos-de-recuperacion".*?</form>',
                     html, re.S)[0]
    assert 'name="codes-code"' in form and "Código de la aplicación" in form
