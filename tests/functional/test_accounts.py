"""Customer accounts through the test client: register, verify, sign in and out, reset
the password, and the orders an account sees."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from store.accounts import services
from store.accounts.models import Role, User
from store.extensions import db
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.orders.models import Order
from tests.conftest import Shopper


def sent_links(app, path: str) -> list[str]:
    """Send the outbox and return the links to ``path`` in the emails sent so far."""
    with app.app_context():
        send_pending()
    texts = [email.get_body(preferencelist=("plain",)).get_content()
             for email in app.extensions["store_mail_transport"].sent]
    found = re.findall(rf"http://127\.0\.0\.1:5000({re.escape(path)}\S+)", "\n".join(texts))
    return found


def user(app) -> User:
    with app.app_context():
        found = db.session.scalar(sa.select(User))
        db.session.expunge_all()
        return found


def test_registering_makes_an_unverified_account_signs_in_and_queues_the_verification_email(
    app, shopper, count
):
    response = shopper.register(email="  Ana@Example.COM ")

    assert response.headers["Location"] == "/cuenta/pedidos"
    account = user(app)
    assert account.email == "ana@example.com" and account.role == Role.CUSTOMER
    assert account.email_verified_at is None
    assert account.password_hash.startswith("scrypt:")
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert (message.kind, message.payload) == ("account_verification", {"user_id": account.id})
    html = shopper.page("/cuenta/pedidos")
    assert "<h1>Mis pedidos</h1>" in html and 'class="account-link"' in html


@pytest.mark.parametrize(("password", "message"), [
    ("corto", "Usa al menos 10 caracteres."),
    ("password123", "Esta contraseña es demasiado fácil de adivinar."),
    ("1234567890", "Esta contraseña es demasiado fácil de adivinar."),
    ("anaperez2026", "Esta contraseña es demasiado fácil de adivinar."),
])
def test_a_short_or_guessable_password_is_refused_and_nothing_is_written(
    shopper, count, password, message
):
    response = shopper.register(password=password)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count(User) == 0 and count(OutboxMessage) == 0


def test_an_email_with_an_account_is_refused_whatever_its_case(shopper, shopper_for, app, count):
    shopper.register()

    again = shopper_for(app).register(email="ANA@example.com")

    assert again.status_code == 400 and "Ya hay una cuenta con este correo." in again.get_data(
        as_text=True)
    assert count(User) == 1


def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(shopper, shopper_for, app):
    shopper.register()
    other = shopper_for(app)

    unknown = other.sign_in(email="nadie@example.com").get_data(as_text=True)
    wrong = other.sign_in(password="otra-clave-larga-99").get_data(as_text=True)

    refusal = "El correo o la contraseña no son correctos."
    assert Shopper.flashes_in(unknown) == [refusal] == Shopper.flashes_in(wrong)
    assert "_user_id" not in other.session()


def test_signing_in_starts_a_fresh_session_that_keeps_the_cart(app, shopper, shopper_for, plans):
    shopper.register()
    visitor = shopper_for(app)
    visitor.add(plans["generated"])
    with visitor.client.session_transaction() as session:
        session["planted"] = "by an attacker"
    cart = visitor.session()["cart"]

    response = visitor.sign_in(next="/carrito/")

    session = visitor.session()
    assert response.headers["Location"] == "/carrito/"
    assert "planted" not in session and session["cart"] == cart
    assert session["_user_id"] == f"{user(app).id}:1"


def test_remember_me_sets_a_lasting_cookie_and_signing_out_ends_the_session(app, shopper):
    shopper.register()
    shopper.client.post("/cuenta/salir")

    signed_in = shopper.sign_in(remember="y")
    signed_out = shopper.client.post("/cuenta/salir")

    assert "remember_token=" in signed_in.headers.get("Set-Cookie", "")
    assert signed_out.headers["Location"] == "/"
    assert shopper.client.get("/cuenta/pedidos").headers["Location"].startswith(
        "/cuenta/entrar?next=")


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "/" + "a" * 600])
def test_sign_in_ignores_a_next_that_leaves_the_store(shopper, target):
    shopper.register()
    shopper.client.post("/cuenta/salir")

    response = shopper.sign_in(next=target)

    assert response.headers["Location"] == "/cuenta/pedidos"


def test_the_verification_link_confirms_the_email_only_with_its_button(app, shopper):
    shopper.register()
    link = sent_links(app, "/cuenta/verificar/")[0]

    page = shopper.client.get(link)
    after_get = user(app).email_verified_at
    confirmed = shopper.client.post(link)

    assert page.status_code == 200 and "Confirmar mi correo" in page.get_data(as_text=True)
    assert after_get is None and user(app).email_verified_at is not None
    assert shopper.flashes("success", "/cuenta/pedidos") == [
        "Gracias: ana@example.com está confirmado."]
    assert confirmed.headers["Location"] == "/cuenta/pedidos"


def test_guest_orders_with_the_same_email_appear_only_once_it_is_verified(
    app, shopper, shopper_for, plans
):
    shopper.buy(plans["generated"])  # as a guest, ana@example.com
    number = shopper.last_order()
    member = shopper_for(app)
    member.register()

    before = member.page("/cuenta/pedidos")
    closed = member.client.get(f"/pedido/{number}/").status_code
    member.client.post(sent_links(app, "/cuenta/verificar/")[0])
    after = member.page("/cuenta/pedidos")
    opened = member.client.get(f"/pedido/{number}/")

    assert number not in before and closed == 404
    assert f'href="/pedido/{number}/"' in after
    assert opened.status_code == 200 and len(Shopper.keys_in(opened.get_data(as_text=True))) == 1


def test_another_customer_gets_404_for_an_account_order(app, shopper, shopper_for, plans):
    shopper.register()
    shopper.buy(plans["generated"], 1)
    number = shopper.last_order()
    other = shopper_for(app)
    other.register(email="beto@example.com", name="Beto Díaz")

    assert other.client.get(f"/pedido/{number}/").status_code == 404
    assert other.client.get(f"/pedido/{number}/claves.txt").status_code == 404
    assert number not in other.page("/cuenta/pedidos")


def test_a_signed_in_checkout_is_prefilled_and_the_order_is_linked_to_the_account(
    app, shopper, plans
):
    shopper.register(email="carla@example.com", name="Carla Ruiz")
    shopper.add(plans["generated"])

    form = shopper.page("/caja/")
    shopper.check_out(email="carla@example.com", full_name="Carla Ruiz")

    assert 'value="carla@example.com"' in form and 'value="Carla Ruiz"' in form
    with app.app_context():
        assert db.session.scalar(sa.select(Order.user_id)) == user(app).id
    assert shopper.last_order() in shopper.page("/cuenta/pedidos")


def test_a_reset_link_sets_a_new_password_once_and_signs_out_other_sessions(
    app, shopper, shopper_for
):
    shopper.register()  # this browser stays signed in with the old password
    other = shopper_for(app)
    other.client.post("/cuenta/olvide", data={"email": "ANA@example.com"})
    link = sent_links(app, "/cuenta/restablecer/")[0]

    changed = other.client.post(link, data={"password": "girasol-escalera-mar-77"})
    reused = other.client.post(link, data={"password": "otra-cosa-distinta-88"})

    assert changed.headers["Location"] == "/cuenta/pedidos"
    assert reused.headers["Location"] == "/cuenta/olvide"
    assert user(app).auth_version == 2 and user(app).email_verified_at is not None
    assert shopper.client.get("/cuenta/pedidos").status_code == 302  # signed out
    assert other.sign_in(password="girasol-escalera-mar-77").headers["Location"] == (
        "/cuenta/pedidos")


def test_a_reset_link_older_than_an_hour_is_refused(app, shopper, monkeypatch):
    shopper.register()
    shopper.client.post("/cuenta/olvide", data={"email": "ana@example.com"})
    link = sent_links(app, "/cuenta/restablecer/")[0]
    monkeypatch.setattr(services, "RESET_MAX_AGE", -1)  # as if an hour had gone by

    response = shopper.client.post(link, data={"password": "girasol-escalera-mar-77"})

    assert response.headers["Location"] == "/cuenta/olvide"
    assert user(app).auth_version == 1


def test_asking_for_a_reset_says_the_same_whether_or_not_the_email_has_an_account(
    app, shopper, count
):
    shopper.register()
    baseline = count(OutboxMessage)

    known = shopper.client.post("/cuenta/olvide", data={"email": "ana@example.com"})
    unknown = shopper.client.post("/cuenta/olvide", data={"email": "nadie@example.com"})

    assert known.headers["Location"] == unknown.headers["Location"] == "/cuenta/entrar"
    assert count(OutboxMessage) == baseline + 1
    known_message, unknown_message = shopper.flashes("success", "/cuenta/entrar")[-2:]
    assert unknown_message.replace("nadie@", "ana@") == known_message


def test_create_user_makes_a_verified_staff_account_from_the_environment(app, count, monkeypatch):
    monkeypatch.setenv("STORE_NEW_USER_PASSWORD", "tortuga-lampara-nube-42")

    result = app.test_cli_runner().invoke(
        args=["store", "create-user", "Admin@Example.com", "--role", "admin"])

    assert result.exit_code == 0, result.output
    assert "Usuario admin@example.com creado con el rol Administración." in result.output
    account = user(app)
    assert account.role == Role.ADMIN and account.email_verified_at is not None
    assert count(OutboxMessage) == 0


@pytest.mark.parametrize(("args", "password", "message"), [
    (["ana@example.com"], "password123", "demasiado fácil de adivinar"),
    (["no es un correo"], "tortuga-lampara-nube-42", "Escribe un correo válido"),
    (["ana@example.com", "--role", "root"], "tortuga-lampara-nube-42", "Invalid value"),
])
def test_create_user_refuses_bad_input_and_writes_nothing(
    app, count, monkeypatch, args, password, message
):
    monkeypatch.setenv("STORE_NEW_USER_PASSWORD", password)

    result = app.test_cli_runner().invoke(args=["store", "create-user", *args])

    assert result.exit_code != 0 and message in result.output
    assert count(User) == 0


def test_create_user_asks_for_the_password_twice_without_the_variable(app, count, monkeypatch):
    monkeypatch.delenv("STORE_NEW_USER_PASSWORD", raising=False)

    result = app.test_cli_runner().invoke(
        args=["store", "create-user", "soporte@example.com", "--role", "support"],
        input="tortuga-lampara-nube-42\ntortuga-lampara-nube-42\n",
    )

    assert result.exit_code == 0, result.output
    assert user(app).role == Role.SUPPORT


def test_my_licences_masks_each_key_and_a_post_shows_one_once_without_caching(
    app, shopper, shopper_for, plans
):
    shopper.register()
    order_page = shopper.buy(plans["generated"], 2)
    keys = Shopper.keys_in(shopper.page(order_page))

    listing = shopper.page("/cuenta/licencias")
    with app.app_context():
        from store.licensing.models import Licence

        licence_id = db.session.scalars(sa.select(Licence.id).order_by(Licence.id)).first()
    shown = shopper.client.post(f"/cuenta/licencias/{licence_id}/ver")
    theirs = shopper_for(app)
    theirs.register(email="beto@example.com", name="Beto Díaz")
    stolen = theirs.client.post(f"/cuenta/licencias/{licence_id}/ver")

    assert not any(key in listing for key in keys)
    assert all(f"••••-{key[-4:]}" in listing for key in keys)
    assert "Activa" in listing and "1 dispositivo" in listing
    html = shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    assert len([key for key in keys if key in Shopper.keys_in(html)]) == 1
    assert stolen.status_code == 404


def test_a_licence_close_to_its_end_says_so(app, shopper, plans):
    from datetime import timedelta

    from store.dbtypes import utcnow
    from store.licensing.models import Licence

    shopper.register()
    shopper.buy(plans["generated"])
    with app.app_context():
        db.session.scalar(sa.select(Licence)).expires_at = utcnow() + timedelta(days=10)
        db.session.commit()

    assert "Vence pronto: renuévala a tiempo" in shopper.page("/cuenta/licencias")


def test_changing_the_email_asks_for_the_password_and_verifies_the_new_address(
    app, shopper, count
):
    shopper.register()
    shopper.client.post(sent_links(app, "/cuenta/verificar/")[0])

    wrong = shopper.client.post("/cuenta/correo", data={
        "email": "ana.nueva@example.com", "password": "no-es-la-clave-77"})
    after_wrong = user(app).email
    moved = shopper.client.post("/cuenta/correo", data={
        "email": "Ana.Nueva@example.com", "password": Shopper.PASSWORD})

    assert wrong.status_code == 400 and after_wrong == "ana@example.com"
    assert moved.headers["Location"] == "/cuenta/"
    account = user(app)
    assert account.email == "ana.nueva@example.com" and account.email_verified_at is None
    assert sent_links(app, "/cuenta/verificar/")[-1] != sent_links(app, "/cuenta/verificar/")[0]


def test_changing_the_password_keeps_this_session_and_signs_out_the_others(
    app, shopper, shopper_for
):
    shopper.register()
    elsewhere = shopper_for(app)
    elsewhere.sign_in()

    changed = shopper.client.post("/cuenta/contrasena", data={
        "current": Shopper.PASSWORD, "password": "girasol-escalera-mar-77"})

    assert changed.headers["Location"] == "/cuenta/"
    assert shopper.client.get("/cuenta/").status_code == 200
    assert elsewhere.client.get("/cuenta/").status_code == 302
    assert user(app).auth_version == 2


def test_changing_the_name_saves_it(app, shopper):
    shopper.register()

    shopper.client.post("/cuenta/nombre", data={"name": "  Ana María Pérez "})

    assert user(app).name == "Ana María Pérez"


def test_an_old_reset_link_dies_when_the_account_moves_to_another_address(
    app, shopper, shopper_for, plans
):
    shopper_for(app).buy(plans["generated"])  # Ana's guest order
    eve = shopper
    eve.register(email="eve@example.com", name="Eve")
    eve.client.post("/cuenta/olvide", data={"email": "eve@example.com"})
    link = sent_links(app, "/cuenta/restablecer/")[0]
    eve.client.post("/cuenta/correo", data={"email": "ana@example.com",
                                            "password": Shopper.PASSWORD})

    response = eve.client.post(link, data={"password": "girasol-escalera-mar-77"})

    assert response.headers["Location"] == "/cuenta/olvide"
    assert user(app).email_verified_at is None
    assert "Pedido A-" not in eve.page("/cuenta/pedidos")


def test_a_verification_email_sent_before_an_address_change_verifies_nothing(
    app, shopper, shopper_for, plans
):
    shopper_for(app).buy(plans["generated"])  # Ana's guest order
    shopper.register(email="eve@example.com", name="Eve")
    shopper.client.post("/cuenta/correo", data={"email": "ana@example.com",
                                                "password": Shopper.PASSWORD})
    to_eve = sent_links(app, "/cuenta/verificar/")[0]  # rendered after the change

    shopper.client.post(to_eve)

    assert user(app).email == "ana@example.com" and user(app).email_verified_at is None
    assert "Pedido A-" not in shopper.page("/cuenta/pedidos")


def test_signing_out_leaves_nothing_of_the_customer_in_the_browser(app, shopper, plans):
    shopper.register()
    shopper.buy(plans["generated"])
    number = shopper.last_order()
    shopper.add(plans["generated"])

    shopper.client.post("/cuenta/salir")

    assert shopper.client.get(f"/pedido/{number}/").status_code == 404
    assert shopper.session().get("cart", {}) == {} and "orders" not in shopper.session()


def test_signing_in_again_and_again_never_locks_the_account(app, shopper):
    shopper.register()
    for _ in range(7):
        shopper.client.post("/cuenta/salir")
        assert shopper.sign_in().headers["Location"] == "/cuenta/pedidos"
