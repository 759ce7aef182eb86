"""Who may use which route: every registered route, for every kind of visitor.

A new route fails ``test_every_route_is_in_the_access_table`` until it is added here, with
what each visitor should get.
Guests: ``anonymous`` (a new browser), ``buyer`` (the session that placed the order,
now waiting for payment) and ``other`` (another session, with a plan in its cart).
Signed in, each in a browser of their own with an empty cart: ``customer``; ``support``
and ``admin`` (second factor entered in this session); ``support-unverified`` (second
factor set up, not entered in this session); ``support-unenrolled`` (no second factor yet).
"""

from __future__ import annotations

import pytest

from store.accounts.models import Role
from store.extensions import db
from tests.factories import make_product

GUESTS = ("anonymous", "buyer", "other")
SIGNED_IN = ("customer", "support", "support-unverified", "support-unenrolled", "admin")
VISITORS = GUESTS + SIGNED_IN


def by_visitor(guests: int, customer: int, support: int, unverified: int, unenrolled: int,
               admin: int) -> dict[str, int]:
    """Statuses for the guests (all three alike) and each signed-in visitor."""
    return {**dict.fromkeys(GUESTS, guests), "customer": customer, "support": support,
            "support-unverified": unverified, "support-unenrolled": unenrolled, "admin": admin}


# (rule, method): (form data, {visitor: status}); one status stands for all visitors.
# A dict that names only guests gives the signed-in visitors the anonymous status: their
# carts are empty and they placed no order.
TABLE: dict[tuple[str, str], tuple[dict, int | dict[str, int]]] = {
    ("/", "GET"): ({}, 200),
    ("/productos/", "GET"): ({}, 200),
    ("/productos/<slug>/", "GET"): ({}, 200),
    ("/terminos", "GET"): ({}, 200),
    ("/devoluciones", "GET"): ({}, 200),
    ("/quienes-somos", "GET"): ({}, 200),
    ("/formas-de-pago", "GET"): ({}, 200),
    ("/healthz", "GET"): ({}, 200),
    ("/readyz", "GET"): ({}, 200),
    ("/static/<path:filename>", "GET"): ({}, 200),
    # No image was uploaded here: a well-formed name that is no file.
    ("/imagenes/<name>.webp", "GET"): ({}, 404),
    ("/idioma", "POST"): ({"language": "en", "next": "/"}, 302),
    ("/carrito/", "GET"): ({}, 200),
    ("/carrito/anadir", "POST"): ({"plan_id": "{plan_id}", "quantity": "1"}, 302),
    ("/carrito/cantidad", "POST"): ({"plan_id": "{plan_id}", "quantity": "2"}, 302),
    ("/carrito/quitar", "POST"): ({"plan_id": "{plan_id}"}, 302),
    # Emptying asks first when there is something to empty; an empty cart goes back.
    ("/carrito/vaciar", "GET"): ({}, {"anonymous": 302, "buyer": 302, "other": 200}),
    ("/carrito/vaciar", "POST"): ({}, 302),
    ("/carrito/aceptar", "POST"): ({}, 302),
    # An empty cart goes back to the cart; a cart with a plan shows (or checks) the form.
    ("/caja/", "GET"): ({}, {"anonymous": 302, "buyer": 302, "other": 200}),
    ("/caja/", "POST"): ({}, {"anonymous": 302, "buyer": 302, "other": 400}),
    # The order page and its pay button: the buyer's session only; others learn nothing.
    # Fresh order links: open to everybody; an empty form is refused.
    ("/pedido/perdido", "GET"): ({}, 200),
    ("/pedido/perdido", "POST"): ({}, 400),
    # Renewals: the key box is open to everybody (an empty form is refused); licence 1 is
    # nobody's here and the token is not signed, so nobody opens them; an empty add form
    # goes back to the key box.
    ("/renovar/", "GET"): ({}, 200),
    ("/renovar/", "POST"): ({}, 400),
    ("/renovar/licencia/<int:licence_id>", "GET"): ({}, 404),
    ("/renovar/enlace/<token>", "GET"): ({}, 404),
    ("/renovar/anadir", "POST"): ({}, 302),
    ("/pedido/<number>/", "GET"): ({}, {"anonymous": 404, "buyer": 200, "other": 404}),
    ("/pedido/<number>/pagar", "POST"): (
        {"method": "sandbox"}, {"anonymous": 404, "buyer": 302, "other": 404},
    ),
    # Coming back from a provider, and the order page's "Check the payment" button: the
    # buyer's session asks the provider and goes to the order page; others (a buyer back in
    # another browser) get a page that shows nothing of the order, the same for any number.
    ("/pedido/<number>/volver/<provider>", "GET"): (
        {}, {"anonymous": 200, "buyer": 302, "other": 200},
    ),
    ("/pedido/<number>/volver/<provider>", "POST"): (
        {}, {"anonymous": 200, "buyer": 302, "other": 200},
    ),
    ("/pedido/<number>/claves.txt", "GET"): ({}, {"anonymous": 404, "buyer": 200, "other": 404}),
    # Licence 1 is nobody's here (the world's order is unpaid): nobody gets a file.
    ("/pedido/<number>/licencias/<int:licence_id>.json", "GET"): ({}, 404),
    ("/carrito/desde-pedido/<number>", "POST"): (
        {}, {"anonymous": 404, "buyer": 302, "other": 404},
    ),
    # Accounts: forms open for everybody; an empty form is refused; a signed-out visitor
    # is sent to sign in. Links from emails open a page whose button does the change.
    ("/cuenta/registro", "GET"): ({}, 200),
    ("/cuenta/registro", "POST"): ({}, 400),
    ("/cuenta/entrar", "GET"): ({}, 200),
    ("/cuenta/entrar", "POST"): ({}, 400),
    ("/cuenta/salir", "POST"): ({}, 302),
    ("/cuenta/verificar/<token>", "GET"): ({}, 200),
    ("/cuenta/verificar/<token>", "POST"): ({}, 302),
    ("/cuenta/olvide", "GET"): ({}, 200),
    ("/cuenta/olvide", "POST"): ({}, 400),
    ("/cuenta/restablecer/<token>", "GET"): ({}, 200),
    ("/cuenta/restablecer/<token>", "POST"): ({}, 400),
    # A staff member's own account pages wait for the second factor, like staff pages.
    ("/cuenta/pedidos", "GET"): ({}, by_visitor(302, 200, 200, 302, 302, 200)),
    ("/cuenta/licencias", "GET"): ({}, by_visitor(302, 200, 200, 302, 302, 200)),
    # Licence 1 is nobody's here: a signed-in visitor learns nothing more than a 404.
    ("/cuenta/licencias/<int:licence_id>/ver", "POST"): (
        {}, by_visitor(302, 404, 404, 302, 302, 404)),
    ("/cuenta/licencias/<int:licence_id>/licencia.json", "GET"): (
        {}, by_visitor(302, 404, 404, 302, 302, 404)),
    ("/cuenta/licencias/<int:licence_id>/dispositivos/<int:activation_id>/liberar", "POST"): (
        {}, by_visitor(302, 404, 404, 302, 302, 404)),
    ("/cuenta/", "GET"): ({}, by_visitor(302, 200, 200, 302, 302, 200)),
    ("/cuenta/nombre", "POST"): ({"name": "Otro"}, 302),
    ("/cuenta/correo", "POST"): ({}, by_visitor(302, 400, 400, 302, 302, 400)),
    ("/cuenta/contrasena", "POST"): ({}, by_visitor(302, 400, 400, 302, 302, 400)),
    # Staff pages (store/staff/policy.py): guests sign in first, customers get 403, support
    # gets 403 on admin pages; staff without the second factor of this session are sent to
    # set it up or to enter a code before any staff page opens.
    # The back office (store/admin): admins with the second factor only.
    ("/admin/", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/productos/", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/productos/nuevo", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/productos/nuevo", "POST"): ({}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/productos/<int:product_id>/", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/productos/<int:product_id>/", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/productos/<int:product_id>/activo", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/productos/<int:product_id>/planes/nuevo", "GET"): (
        {}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/productos/<int:product_id>/planes/nuevo", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/planes/<int:plan_id>/", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/planes/<int:plan_id>/", "POST"): ({}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/planes/<int:plan_id>/activo", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/existencias", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/existencias/importar", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/existencias/importar", "POST"): ({}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/tipos-de-cambio", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/tipos-de-cambio", "POST"): ({}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/pedidos", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/pedidos.csv", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/pedidos/<number>", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/pedidos/<number>/reintentar", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/pedidos/<number>/resolver", "POST"): ({}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/pedidos/<number>/reembolsar", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    # Users and the audit log; account 1 is the admin's own (an empty form changes nothing).
    ("/admin/usuarios", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/usuarios/<int:user_id>", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/admin/usuarios/<int:user_id>/rol", "POST"): ({}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/usuarios/<int:user_id>/desactivar", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/usuarios/<int:user_id>/activar", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/usuarios/<int:user_id>/segundo-factor", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/mis-codigos-de-recuperacion", "POST"): (
        {}, by_visitor(302, 403, 403, 403, 403, 400)),
    ("/admin/auditoria", "GET"): ({}, by_visitor(302, 403, 403, 403, 403, 200)),
    ("/support", "GET"): ({}, by_visitor(302, 403, 200, 302, 302, 200)),
    # The support desk (store/support): support staff and admins with the second factor.
    # Licence 1 does not exist here; an empty form changes nothing.
    ("/support/buscar", "GET"): ({}, by_visitor(302, 403, 200, 302, 302, 200)),
    ("/support/buscar", "POST"): ({}, by_visitor(302, 403, 400, 302, 302, 400)),
    ("/support/pedidos/<number>", "GET"): ({}, by_visitor(302, 403, 200, 302, 302, 200)),
    ("/support/pedidos/<number>/notas", "POST"): ({}, by_visitor(302, 403, 400, 302, 302, 400)),
    ("/support/pedidos/<number>/reenviar", "POST"): (
        {}, by_visitor(302, 403, 400, 302, 302, 400)),
    ("/support/licencias/<int:licence_id>", "GET"): ({}, by_visitor(302, 403, 404, 302, 302, 404)),
    ("/support/licencias/<int:licence_id>/liberar", "POST"): (
        {}, by_visitor(302, 403, 404, 302, 302, 404)),
    ("/support/licencias/<int:licence_id>/reemitir", "POST"): (
        {}, by_visitor(302, 403, 404, 302, 302, 404)),
    ("/staff/segundo-factor/alta", "GET"): ({}, by_visitor(302, 403, 302, 302, 200, 302)),
    ("/staff/segundo-factor/alta", "POST"): ({}, by_visitor(302, 403, 302, 302, 400, 302)),
    ("/staff/segundo-factor", "GET"): ({}, by_visitor(302, 403, 302, 200, 302, 302)),
    ("/staff/segundo-factor", "POST"): ({}, by_visitor(302, 403, 400, 400, 302, 400)),
    # Providers sign their notifications; an unsigned one is refused for everybody.
    ("/api/pagos/notificacion/<provider>", "POST"): ({}, 400),
    # The licence API (store/api): the same for everybody, no session; this client posts
    # form data, which the JSON routes refuse.
    ("/api/v1/openapi.json", "GET"): ({}, 200),
    ("/api/v1/licences/validate", "POST"): ({}, 400),
    ("/api/v1/licences/activate", "POST"): ({}, 400),
    ("/api/v1/licences/deactivate", "POST"): ({}, 400),
    ("/api/v1/licences/file", "POST"): ({}, 400),
    ("/api/v1/signing-keys", "GET"): ({}, 200),
    # The one-click stop of renewal reminders: a forged link records nothing.
    ("/renovar/avisos/baja/<token>", "GET"): ({}, 404),
    ("/renovar/avisos/baja/<token>", "POST"): ({}, 404),
    # The test gateway opens for whoever holds the payment's reference (no keys on it).
    ("/pago-de-prueba/<reference>", "GET"): ({}, 200),
    ("/pago-de-prueba/<reference>", "POST"): ({}, 302),
}


def _signed_in(app, shopper_for, desk, role: Role, *, enrolled: bool, verified: bool):
    """A new browser signed in as a new user of ``role``, at the second-factor stage asked."""
    visitor = shopper_for(app)
    email = f"{role.value}@example.com"
    if role == Role.CUSTOMER:
        visitor.register(email=email)
        return visitor
    user_id = desk.hire(email, role)
    secret = desk.enrol(user_id)[0] if enrolled else None
    visitor.sign_in(email=email)
    if verified:
        assert visitor.enter_code(desk.code(secret)).status_code == 302
    return visitor


@pytest.fixture
def world(app, shopper, stranger, shopper_for, desk) -> dict:
    """A product on sale, the buyer's pending order and the other session's cart; the
    signed-in visitors are made when a test asks for one (each costs a password hash)."""
    with app.app_context():
        product = make_product(slug="hogar")
        db.session.commit()
        product_id, plan_id = product.id, product.plans[0].id
    shopper.add(plan_id)
    gateway = shopper.check_out().headers["Location"]
    stranger.add(plan_id)
    number = shopper.session()["orders"][-1]
    return {
        "values": {"slug": "hogar", "number": number, "reference": gateway.rsplit("/", 1)[1],
                   "provider": "sandbox", "path:filename": "css/store.css",
                   "plan_id": str(plan_id), "token": "not-a-signed-token",
                   "int:licence_id": "1", "int:product_id": str(product_id),
                   "int:plan_id": str(plan_id), "name": "0" * 32 + "-card",
                   "int:user_id": "1", "int:activation_id": "1"},
        "visitors": {
            "anonymous": lambda: shopper_for(app), "buyer": lambda: shopper,
            "other": lambda: stranger,
            "customer": lambda: _signed_in(app, shopper_for, desk, Role.CUSTOMER,
                                           enrolled=False, verified=False),
            "support": lambda: _signed_in(app, shopper_for, desk, Role.SUPPORT,
                                          enrolled=True, verified=True),
            "support-unverified": lambda: _signed_in(app, shopper_for, desk, Role.SUPPORT,
                                                     enrolled=True, verified=False),
            "support-unenrolled": lambda: _signed_in(app, shopper_for, desk, Role.SUPPORT,
                                                     enrolled=False, verified=False),
            "admin": lambda: _signed_in(app, shopper_for, desk, Role.ADMIN,
                                        enrolled=True, verified=True),
        },
    }


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"<{name}>", value).replace(f"{{{name}}}", value)
    return text


def test_every_route_is_in_the_access_table(app):
    routes = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - set(TABLE) == set(), "add the new routes to TABLE"
    assert set(TABLE) - routes == set(), "remove routes that no longer exist from TABLE"


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("route", sorted(TABLE), ids=lambda route: f"{route[1]} {route[0]}")
def test_each_visitor_gets_what_the_table_says(world, route, visitor):
    rule, method = route
    data, expected = TABLE[route]
    values = world["values"]
    client = world["visitors"][visitor]().client

    response = client.open(
        _fill(rule, values), method=method,
        data={key: _fill(value, values) for key, value in data.items()},
    )

    if isinstance(expected, int):
        wanted = expected
    else:
        wanted = expected.get(visitor, expected["anonymous"])
    assert response.status_code == wanted
