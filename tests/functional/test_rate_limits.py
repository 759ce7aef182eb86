"""Rate limits and caps on held keys, tried as an attacker would.

Before these limits one session placed 25 unpaid orders in about 1.1 s, 120 guesses of an
order's token met no limit, and one unpaid order for 10 units held a whole 10-key pool.
Each limit test runs on memory and on Redis (CI requires Redis), trips the limit, then
resets the storage and is served again.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment
from store.extensions import db, limiter
from store.licensing.models import PoolKey, PoolKeyState
from store.orders.models import Order
from tests.conftest import Shopper
from tests.factories import make_plan, make_pool, make_product

WAIT = re.compile(r"Inténtalo de nuevo en (\d+) minutos?\.")


@pytest.fixture
def app(make_app, limits_storage):
    return make_app(STORE_MAIL_TRANSPORT="memory", **limits_storage)


@pytest.fixture
def generated_plan(app) -> int:
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        db.session.commit()
        return plan.id


def pool_plan(app, keys: int) -> int:
    with app.app_context():
        plan = make_plan(make_product(name="Almiquí Servidor", plans=[]), name="1 año",
                         fulfilment=Fulfilment.POOL, price_minor=15000)
        db.session.commit()
        make_pool(plan, keys)
        db.session.commit()
        return plan.id


def reserved(count) -> int:
    return count(PoolKey, PoolKey.state == PoolKeyState.RESERVED)


def assert_spanish_429(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    minutes = int(WAIT.search(html)[1])
    assert minutes == -(-int(response.headers["Retry-After"]) // 60)
    assert "Demasiadas solicitudes" in html


def test_rapid_checkouts_from_one_session_stop_at_the_limit_with_a_spanish_429(
    app, shopper, generated_plan, count
):
    statuses = []
    for _ in range(25):
        shopper.add(generated_plan)
        statuses.append(shopper.check_out().status_code)

    assert statuses == [302] * 10 + [429] * 15  # STORE_LIMIT_CHECKOUT_PER_VISITOR
    assert count(Order) == 10
    assert_spanish_429(shopper.check_out())

    with app.app_context():
        limiter.reset()
    assert shopper.check_out().status_code == 302
    assert count(Order) == 11


def test_checkouts_from_one_address_stop_at_its_limit_whatever_the_session(
    make_app, limits_storage, generated_plan, count
):
    app = make_app(STORE_LIMIT_CHECKOUT_PER_ADDRESS="3 per hour", **limits_storage)
    sessions = [Shopper(app.test_client()) for _ in range(5)]

    statuses = []
    for shopper in sessions:
        shopper.add(generated_plan)
        statuses.append(shopper.check_out().status_code)

    assert statuses == [302, 302, 302, 429, 429]
    assert count(Order) == 3


def test_guessing_an_order_token_stops_at_the_limit_while_the_buyer_still_opens_the_order(
    app, shopper, stranger, generated_plan
):
    shopper.add(generated_plan)
    shopper.check_out()
    number = shopper.last_order()

    guesses = [stranger.client.get(f"/pedido/{number}/?t=guess-{i:04d}").status_code
               for i in range(120)]

    assert guesses == [404] * 20 + [429] * 100  # STORE_LIMIT_ORDER_LINK
    assert_spanish_429(stranger.client.get(f"/pedido/{number}/claves.txt?t=x"))
    own = [shopper.client.get(f"/pedido/{number}/").status_code for _ in range(30)]
    assert own == [200] * 30
    assert stranger.client.get(f"/pedido/{number}/").status_code == 404  # still no access

    with app.app_context():
        limiter.reset()
    assert stranger.client.get(f"/pedido/{number}/?t=guess").status_code == 404


def test_order_link_guesses_count_per_forwarded_address_behind_a_trusted_proxy(
    make_app, limits_storage, generated_plan
):
    app = make_app(STORE_PROXY_HOPS="1", STORE_LIMIT_ORDER_LINK="3 per hour", **limits_storage)
    client = app.test_client()

    def guess(address):
        return client.get("/pedido/A-XXXX-XXXX/?t=guess",
                          headers={"X-Forwarded-For": address}).status_code

    assert [guess("10.0.0.1") for _ in range(4)] == [404, 404, 404, 429]
    assert guess("10.0.0.2") == 404


def notification_for(app, reference: str, event: str) -> tuple[bytes, dict]:
    from store.payments.registry import enabled_providers

    with app.app_context():
        from store.payments.models import Payment

        payment = db.session.scalar(sa.select(Payment).where(Payment.reference == reference))
        return enabled_providers()["sandbox"].notification(
            event_id=event, reference=reference, outcome="approved", amount=payment.amount
        )


def test_payment_notifications_tolerate_a_providers_burst_of_retries(
    app, client, shopper, generated_plan, count
):
    shopper.add(generated_plan)
    reference = shopper.check_out().headers["Location"].rsplit("/", 1)[1]
    body, headers = notification_for(app, reference, "evt-burst")

    answers = [client.post("/api/pagos/notificacion/sandbox", data=body, headers=headers)
               for _ in range(150)]

    assert {answer.status_code for answer in answers} == {200}
    assert [a.get_json()["status"] for a in answers[:2]] == ["fulfilled", "duplicate"]


def test_a_flood_of_notifications_gets_a_problem_429_with_retry_after(
    make_app, limits_storage
):
    app = make_app(STORE_LIMIT_NOTIFICATION="5 per minute", **limits_storage)
    client = app.test_client()

    answers = [client.post("/api/pagos/notificacion/sandbox", data=b"{}") for _ in range(7)]

    assert [a.status_code for a in answers] == [400] * 5 + [429] * 2
    assert answers[-1].mimetype == "application/problem+json"
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    # Another provider's notifications count apart.
    assert client.post("/api/pagos/notificacion/other", data=b"{}").status_code != 429


def test_one_unpaid_order_can_no_longer_hoard_a_whole_pool(app, shopper, stranger, count):
    plan = pool_plan(app, 10)

    shopper.add(plan, 10)
    response = shopper.check_out()

    assert response.headers["Location"] == "/carrito/"
    assert shopper.flashes() == [
        "Puedes pedir como máximo 5 licencias de «Almiquí Servidor — 1 año» a la vez."
    ]
    assert count(Order) == 0 and reserved(count) == 0
    stranger.add(plan, 2)
    assert stranger.check_out().headers["Location"].startswith("http://127.0.0.1:5000/pago")
    assert count(Order) == 1 and reserved(count) == 2


def test_unpaid_orders_of_one_email_hold_at_most_the_cap_from_any_session(
    make_app, limits_storage, count
):
    app = make_app(STORE_POOL_MAX_HELD_PER_BUYER="3", **limits_storage)
    plan = pool_plan(app, 20)
    first, second = Shopper(app.test_client()), Shopper(app.test_client())
    second.client.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # another address: the email counts

    first.add(plan, 2)
    first.check_out()
    second.add(plan, 2)
    second.check_out()

    assert second.flashes() == [
        "Como máximo 3 licencias en existencia pueden esperar el pago a la vez, y tus pedidos "
        "sin pagar ya retienen 2. Págalos o cancélalos primero, o pide menos."
    ]
    assert count(Order) == 1 and reserved(count) == 2


def test_unpaid_orders_from_one_address_hold_at_most_the_cap_whatever_the_email(
    make_app, limits_storage, count
):
    app = make_app(STORE_POOL_MAX_HELD_PER_BUYER="3", **limits_storage)
    plan = pool_plan(app, 20)
    shopper = Shopper(app.test_client())

    shopper.add(plan, 2)
    shopper.check_out(email="ana@example.com")
    shopper.add(plan, 2)
    shopper.check_out(email="otra@example.com")

    assert len(shopper.flashes()) == 1
    assert count(Order) == 1 and reserved(count) == 2


def test_one_buyer_holds_at_most_the_configured_share_of_a_small_pool(app, shopper, count):
    plan = pool_plan(app, 4)

    shopper.add(plan, 3)
    shopper.check_out()

    assert shopper.flashes() == [
        "Un comprador puede retener como máximo 2 licencias de «Almiquí Servidor — 1 año» "
        "mientras esperan el pago."
    ]
    assert count(Order) == 0 and reserved(count) == 0
    shopper.client.post("/carrito/cantidad", data={"plan_id": plan, "quantity": 2})
    shopper.check_out()
    assert count(Order) == 1 and reserved(count) == 2


def test_redis_answers_when_the_run_requires_it(redis_url):
    import redis

    assert redis.Redis.from_url(redis_url).ping() is True


def test_password_guesses_on_one_account_stop_at_its_limit_from_any_address(
    app, shopper, shopper_for, count
):
    shopper.register()
    guesses = [shopper_for(app).sign_in(password=f"adivinanza-{i:03d}-xyz").status_code
               for i in range(7)]

    assert guesses == [400] * 5 + [429] * 2  # STORE_LIMIT_ACCOUNT_PER_ACCOUNT: 5 per 15 min
    assert_spanish_429(shopper_for(app).sign_in())  # even the right password waits

    with app.app_context():
        limiter.reset()
    assert shopper_for(app).sign_in().headers["Location"] == "/cuenta/pedidos"


def test_sign_ups_and_reset_requests_from_one_address_stop_at_its_limit(app, shopper, count):
    from store.accounts.models import User
    from store.mail.models import OutboxMessage

    statuses = [shopper.register(email=f"cuenta{i}@example.com").status_code for i in range(22)]
    resets = [shopper.client.post("/cuenta/olvide", data={"email": f"x{i}@example.com"})
              .status_code for i in range(22)]

    assert statuses == [302] * 20 + [429] * 2  # STORE_LIMIT_ACCOUNT_PER_ADDRESS: 20 per 15 min
    assert resets == [302] * 20 + [429] * 2
    assert count(User) == 20 and count(OutboxMessage) == 20  # one verification email each
    assert shopper.client.get("/cuenta/entrar").status_code == 200  # pages are never counted


def test_lost_link_requests_stop_at_the_limit_per_email_and_per_address(
    app, shopper, shopper_for, count
):
    from store.mail.models import OutboxMessage

    def ask(visitor, email):
        return visitor.client.post("/pedido/perdido", data={"email": email}).status_code

    # Per email, from any address: STORE_LIMIT_LOST_KEYS_PER_EMAIL, 5 per hour.
    same_email = [ask(shopper_for(app), "Ana@example.com") for _ in range(7)]
    # Per address, whatever the email: STORE_LIMIT_LOST_KEYS_PER_ADDRESS, 20 per hour.
    with app.app_context():
        limiter.reset()
    many_emails = [ask(shopper, f"x{i}@example.com") for i in range(22)]

    assert same_email == [302] * 5 + [429] * 2
    assert many_emails == [302] * 20 + [429] * 2
    response = shopper.client.post("/pedido/perdido", data={"email": "y@example.com"})
    assert_spanish_429(response)
    assert count(OutboxMessage) == 0  # no order was placed with any of them
    assert shopper.client.get("/pedido/perdido").status_code == 200  # the page is never counted
