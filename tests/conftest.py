"""Shared fixtures: a fresh app and database per test, on SQLite or PostgreSQL.

SQLite (the default) gets a new file per test. With STORE_TEST_DATABASE_URL the suite
runs on that PostgreSQL database instead: the schema is created once and every table
is emptied after each test. STORE_REQUIRE_PG=1 turns "skipped: no PostgreSQL" into a
failure, so CI cannot pass without running the PostgreSQL tests.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from store import create_app
from store.checkout.services import Buyer, PlacedOrder, check_out
from store.extensions import db
from store.money import Money
from store.payments.models import Payment
from store.payments.registry import enabled_providers
from store.payments.services import Confirmation, confirm_payment
from tests.fakes.enzona_server import FakeEnZona

PG_URL = os.environ.get("STORE_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("STORE_REQUIRE_PG") == "1"
# Variables the test run itself reads; every other STORE_* is cleared for each test.
TEST_RUN_VARIABLES = {"STORE_TEST_DATABASE_URL", "STORE_REQUIRE_PG", "STORE_REQUIRE_BROWSER",
                      "STORE_REDIS_URL", "STORE_REQUIRE_REDIS"}
# With STORE_REDIS_URL set (CI sets it) every test app keeps its rate limits in Redis,
# each under a key prefix of its own, so no test sees another's counts.
REDIS_URL = os.environ.get("STORE_REDIS_URL", "")
REQUIRE_REDIS = os.environ.get("STORE_REQUIRE_REDIS") == "1"


def pytest_report_header(config) -> str:
    return (f"store database: {PG_URL or 'SQLite, one file per test'}; "
            f"rate limits: {REDIS_URL or 'memory'}")


def config_for_tests(instance_path, database_url: str, **overrides) -> dict:
    """The configuration every test app starts from."""
    config = {
        "STORE_ENV": "testing",
        "STORE_DATABASE_URL": database_url,
        "STORE_SECRET_KEY": "test-secret-key",
        "STORE_INSTANCE_PATH": str(instance_path),
        "STORE_REDIS_PREFIX": f"store-test-{uuid.uuid4().hex}",
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    return config


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("STORE_") and name not in TEST_RUN_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL URL of the test run; skips (or fails under STORE_REQUIRE_PG=1) without it."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("STORE_REQUIRE_PG=1 but STORE_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL not configured (set STORE_TEST_DATABASE_URL)")
    return PG_URL


@pytest.fixture
def redis_url() -> str:
    """The Redis URL of the test run, answering; skips without one (fails under
    STORE_REQUIRE_REDIS=1, and whenever the Redis named does not answer)."""
    import redis

    if not REDIS_URL:
        if REQUIRE_REDIS:
            pytest.fail("STORE_REQUIRE_REDIS=1 but STORE_REDIS_URL is not set")
        pytest.skip("Redis not configured (set STORE_REDIS_URL)")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(f"STORE_REDIS_URL={REDIS_URL} does not answer: {error}")
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def limits_storage(request) -> dict[str, str]:
    """Run a rate-limit test on each storage: settings for ``make_app``."""
    if request.param == "memory":
        return {"STORE_REDIS_URL": ""}
    return {"STORE_REDIS_URL": request.getfixturevalue("redis_url")}


@pytest.fixture(scope="session")
def _pg_schema(tmp_path_factory) -> None:
    """Create the schema once per run on the PostgreSQL test database."""
    if not PG_URL:
        return
    app = create_app(config_for_tests(tmp_path_factory.mktemp("pg-schema"), PG_URL))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.drop_all()
        db.create_all()
        db.engine.dispose()


def _empty_all_tables() -> None:
    # TRUNCATE on purpose: the audit log's triggers refuse row deletes, not a TRUNCATE.
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(tmp_path, _pg_schema) -> str:
    return PG_URL or f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
def make_app(tmp_path, database_url) -> Iterator:
    """Build apps on the test database: ``make_app(STORE_NAME="x")``."""
    apps: list[Flask] = []

    def factory(**overrides) -> Flask:
        app = create_app(config_for_tests(tmp_path / "instance", database_url, **overrides))
        apps.append(app)
        if not PG_URL:
            with app.app_context():
                db.create_all()
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            if PG_URL and app is apps[0]:
                _empty_all_tables()
            db.engine.dispose()


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_context(app):
    """For integration tests that call services directly (never hold it around requests)."""
    with app.app_context():
        yield


class QueryCounter:
    """Counts the SQL statements an engine runs while active."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` then ``counter.count``."""

    def start() -> QueryCounter:
        with app.app_context():
            return QueryCounter(db.engine)

    return start


@pytest.fixture
def csrf_app(make_app) -> Flask:
    """An app that checks CSRF tokens, as production does (the other test apps do not)."""
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def count(app) -> Callable[..., int]:
    """``count(Order)`` or ``count(PoolKey, PoolKey.state == ...)``: rows in the database.

    Inside the test's own app context it counts through that session (flushed rows too).
    """

    def rows(model, *where) -> int:
        query = sa.select(sa.func.count()).select_from(model).where(*where)
        if has_app_context() and current_app._get_current_object() is app:
            return db.session.scalar(query)
        with app.app_context():
            return db.session.scalar(query)

    return rows


@pytest.fixture
def run_at_once(app) -> Callable[[int, Callable], list]:
    """``run_at_once(20, work)``: ``work(i)`` in 20 threads released together by a barrier.

    Returns each result, or the exception it raised.
    """

    def run(count: int, work: Callable) -> list:
        barrier = threading.Barrier(count)
        results: list = [None] * count

        def runner(i: int) -> None:
            with app.app_context():
                barrier.wait(timeout=60)
                try:
                    results[i] = work(i)
                except Exception as error:  # noqa: BLE001 - the test inspects every outcome
                    db.session.rollback()
                    results[i] = error
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        return results

    return run


# The sandbox gateway's address, built from the tests' STORE_BASE_URL.
GATEWAY = "http://127.0.0.1:5000/pago-de-prueba/"


class Shopper:
    """A buyer's browser session through the test client, like the Flask tutorial's AuthActions.

    ``shopper.buy(plan_id)`` adds to the cart, checks out and answers the sandbox gateway;
    the steps are there on their own for tests that stop half-way.
    """

    BUYER = {"email": "ana@example.com", "full_name": "Ana Pérez", "phone": "+53 5 123 4567",
             "payment_method": "sandbox", "accept_terms": "y"}
    FLASH = r'class="flash flash-{category}" role="\w+">(.*?)</p>'

    def __init__(self, client) -> None:
        self.client = client

    def add(self, plan_id, quantity=1, **extra):
        return self.client.post(
            "/carrito/anadir", data={"plan_id": plan_id, "quantity": quantity, **extra}
        )

    CHOOSER = re.compile(
        r'<form class="plan-chooser" method="post" action="([^"]*)">(.*?)</form>', re.S
    )

    def choose_plan(self, path: str, plan_id="preselected", quantity=None):
        """Send the plan chooser of the product page at ``path``, as a browser does.

        The page's hidden fields go too. ``plan_id`` is one of the page's options (by default
        the one the page preselects; None sends no choice); ``quantity`` is typed into the
        box (by default its value is left as the page shows it).
        """
        found = self.CHOOSER.search(self.page(path))
        assert found, f"{path} shows no plan chooser"
        action, form = unescape(found[1]), found[2]
        data = {name: unescape(value) for name, value in
                re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)}
        offered = re.findall(r'<input type="radio" name="plan_id" value="(\d+)"( checked)?', form)
        if plan_id == "preselected":
            (plan_id,) = [value for value, checked in offered if checked]
        if plan_id is not None:
            assert str(plan_id) in [value for value, _ in offered], f"{path} offers no {plan_id}"
            data["plan_id"] = str(plan_id)
        shown = re.search(r'<input id="quantity" name="quantity" [^>]*value="(\d+)"', form)[1]
        data["quantity"] = shown if quantity is None else str(quantity)
        return self.client.post(action, data=data)

    def session(self) -> dict:
        with self.client.session_transaction() as session:
            return dict(session)

    def last_order(self) -> str:
        """The number of the order this session placed or opened last."""
        return self.session()["orders"][-1]

    def checkout_token(self) -> str:
        """Open the checkout page, as the buyer does, and read the form's idempotency key."""
        html = self.page("/caja/")
        found = re.search(r'name="checkout_token" type="hidden" value="([^"]+)"', html)
        assert found, "the checkout form is not shown (is the cart empty?)"
        return found[1]

    def check_out(self, **fields):
        """Post the checkout form; ``field=None`` leaves that field out."""
        data = {**self.BUYER, "checkout_token": self.checkout_token(), **fields}
        return self.client.post("/caja/", data={k: v for k, v in data.items() if v is not None})

    def answer_gateway(self, gateway: str, decision: str = "approved"):
        return self.client.post(gateway, data={"decision": decision})

    def place_unpaid(self, plan_id, quantity: int = 1) -> tuple[str, str]:
        """Add and check out without answering the gateway; return (order number, gateway)."""
        self.add(plan_id, quantity)
        gateway = self.check_out().headers["Location"]
        return re.search(r"Pedido (A-[0-9A-Z-]+)", self.page(gateway))[1], gateway

    def buy(self, plan_id, quantity: int = 1, decision: str = "approved") -> str:
        """Add, check out and answer on the sandbox gateway; return the order page's address."""
        self.add(plan_id, quantity)
        gateway = self.check_out().headers["Location"]
        return self.answer_gateway(gateway, decision).headers["Location"]

    PASSWORD = "tortuga-lampara-nube-42"  # strong enough for zxcvbn

    def register(self, email: str = "ana@example.com", name: str = "Ana Pérez",
                 password: str = PASSWORD, **extra):
        return self.client.post("/cuenta/registro", data={
            "email": email, "name": name, "password": password, **extra})

    def sign_in(self, email: str = "ana@example.com", password: str = PASSWORD, **extra):
        return self.client.post("/cuenta/entrar", data={
            "email": email, "password": password, **extra})

    def page(self, path: str) -> str:
        return self.client.get(path).get_data(as_text=True)

    def enter_code(self, code: str, next: str | None = None):
        """Send the staff second-factor form with a TOTP or recovery code."""
        data = {"code": code} if next is None else {"code": code, "next": next}
        return self.client.post("/staff/segundo-factor", data=data)

    KEY = re.compile(r'<code class="licence-key"[^>]*>(.*?)</code>', re.S)

    @classmethod
    def keys_in(cls, html: str) -> list[str]:
        """The licence keys shown on a page, as text (their groups are spans)."""
        return [re.sub(r"<[^>]+>", "", key) for key in cls.KEY.findall(html)]

    @classmethod
    def flashes_in(cls, html: str, category: str = "error") -> list[str]:
        """The flashed messages of one category on a page already fetched."""
        return [unescape(m) for m in re.findall(cls.FLASH.format(category=category), html)]

    def flashes(self, category: str = "error", path: str = "/carrito/") -> list[str]:
        """Open ``path`` (the cart, by default) and read its flashed messages."""
        return self.flashes_in(self.page(path), category)


class StaffDesk:
    """Staff accounts and their second factor, made through the use cases the pages call.

    ``desk.hire("admin@example.com", Role.ADMIN)`` creates a verified account;
    ``desk.enrol(user_id)`` sets up its TOTP app a minute ago (so a code of now is newer
    than the one enrolment used) and returns (secret, recovery codes); ``desk.code(secret)``
    is what the app shows now.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def hire(self, email: str, role, password: str = Shopper.PASSWORD) -> int:
        from store.accounts.services import NewAccount, register

        with self.app.app_context():
            return register(NewAccount(email=email, name=email.split("@")[0], password=password,
                                       role=role), verified=True).id

    def enrol(self, user_id: int) -> tuple[str, list[str]]:
        import pyotp

        from store.dbtypes import utcnow
        from store.staff.services import enrol, new_secret

        secret, earlier = new_secret(), utcnow() - timedelta(minutes=1)
        with self.app.app_context():
            codes = enrol(user_id, secret, pyotp.TOTP(secret).at(earlier), now=earlier)
        return secret, codes

    @staticmethod
    def code(secret: str) -> str:
        import pyotp

        return pyotp.TOTP(secret).now()

    def signed_in(self, email: str, role) -> Shopper:
        """A new browser signed in as a new staff member of ``role``, second factor entered."""
        staff = Shopper(self.app.test_client())
        secret = self.enrol(self.hire(email, role))[0]
        assert staff.sign_in(email=email).status_code == 302
        assert staff.enter_code(self.code(secret)).status_code == 302
        return staff


@pytest.fixture
def desk(app) -> StaffDesk:
    return StaffDesk(app)


@pytest.fixture
def admin(desk) -> Shopper:
    """A browser signed in as an admin (admin@example.com) who entered the second factor."""
    from store.accounts.models import Role

    return desk.signed_in("admin@example.com", Role.ADMIN)


@pytest.fixture
def shopper(client) -> Shopper:
    return Shopper(client)


@pytest.fixture
def stranger(app) -> Shopper:
    """Another browser, with a session of its own."""
    return Shopper(app.test_client())


@pytest.fixture
def shopper_for() -> Callable[[Flask], Shopper]:
    """``shopper_for(app)``: a new browser session on another app (say, one with CSRF)."""
    return lambda app: Shopper(app.test_client())


class Till:
    """The checkout and payment use cases, called as the views call them, without requests."""

    WINDOW = timedelta(minutes=30)
    BUYER = Buyer("ana@example.com", "Ana Pérez")

    def __init__(self, app: Flask) -> None:
        self.app = app

    def place(self, cart: dict, token: str = "token-0000000000000001", locale: str = "es",
              buyer: Buyer | None = None, provider: str = "sandbox") -> PlacedOrder:
        """The checkout use case as the page calls it, paying on the sandbox (or ``provider``).

        Call it inside an app context to use the order it returns.
        """
        return check_out(cart=cart, buyer=buyer or self.BUYER, checkout_token=token,
                         locale=locale, payment_window=self.WINDOW, provider_name=provider)

    def check_out(self, cart: dict, token: str = "token-0000000000000001",
                  locale: str = "es", provider: str = "sandbox") -> tuple[int, str]:
        """Place an order and start its payment (sandbox unless ``provider`` says otherwise);
        return (order id, payment reference)."""
        with self.app.app_context():
            placed = self.place(cart, token, locale, provider=provider)
            reference = db.session.scalar(
                sa.select(Payment.reference).where(Payment.order_id == placed.order.id)
                .order_by(Payment.id.desc())
            )
            return placed.order.id, reference

    def check_out_generated(self, quantity: int = 1, locale: str = "es",
                            provider: str = "sandbox") -> tuple[int, str]:
        """Checkout of ``quantity`` licences of a new 50.00 CUP generated plan."""
        from tests.factories import make_plan, make_product

        with self.app.app_context():
            plan = make_plan(make_product(plans=[]), price_minor=5000)
            db.session.commit()
            cart = {str(plan.id): {"q": quantity, "p": 5000}}
        return self.check_out(cart, token=f"token-generated-{plan.id:06d}", locale=locale,
                              provider=provider)

    def notify(self, reference: str, *, event: str = "evt-1", outcome: str = "approved",
               amount: Money | None = None, tamper=None) -> Confirmation:
        """Send a signed sandbox notification through the real verification path."""
        with self.app.app_context():
            sandbox = enabled_providers()["sandbox"]
            if amount is None:
                amount = db.session.scalar(
                    sa.select(Payment).where(Payment.reference == reference)
                ).amount
            body, headers = sandbox.notification(
                event_id=event, reference=reference, outcome=outcome, amount=amount
            )
            return confirm_payment("sandbox", tamper(body) if tamper else body, headers)

    def strand(self) -> tuple[int, int]:
        """A paid order of one pool licence whose key vanished before the payment arrived,
        so it needs attention; return (order id, plan id)."""
        from store.catalogue.models import Fulfilment
        from store.licensing.models import PoolKey
        from tests.factories import make_plan, make_pool, make_product

        with self.app.app_context():
            plan = make_plan(make_product(plans=[]), price_minor=3000, fulfilment=Fulfilment.POOL)
            make_pool(plan, 1)
            db.session.commit()
            plan_id, cart = plan.id, {str(plan.id): {"q": 1, "p": 3000}}
        order_id, reference = self.check_out(cart, token=f"stranded-order-{plan_id:06d}")
        with self.app.app_context():
            db.session.execute(sa.delete(PoolKey).where(PoolKey.plan_id == plan_id))
            db.session.commit()
        assert self.notify(reference, event=f"evt-stranded-{plan_id}") == Confirmation.OUT_OF_STOCK
        return order_id, plan_id


@pytest.fixture
def till(app) -> Till:
    return Till(app)


@pytest.fixture
def fake_enzona() -> Iterator[FakeEnZona]:
    """A local EnZona the real client talks to (tests/fakes/enzona_server.py)."""
    with FakeEnZona() as fake:
        yield fake


@pytest.fixture
def till_for() -> Callable[[Flask], Till]:
    """``till_for(app)``: the use cases on another app (say, one with other settings)."""
    return Till
