"""The back office's orders: the list and its filters, the CSV export, the order page with
its timeline, and the actions on an order that needs attention."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from store.accounts.models import Role
from store.admin.services import orders as order_listing
from store.catalogue.models import Plan
from store.extensions import db
from store.licensing.models import Licence, LicenceStatus
from store.mail.models import OutboxMessage
from store.mail.services import send_pending
from store.mail.transports import MemoryTransport
from store.orders.models import Order, OrderLine, OrderStatus
from store.payments.gateway import PaymentProviderError
from store.payments.models import Payment, PaymentStatus
from store.payments.providers.sandbox import SandboxProvider
from store.vault import reveal
from tests.conftest import Shopper, StaffDesk
from tests.factories import make_order, make_plan, make_pool, make_product

NUMBER_CELL = re.compile(r'<td><a href="/admin/pedidos/([^"]+)">')


def errors_in(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<p class="field-error">(.*?)</p>', html)]


def listed(html: str) -> list[str]:
    """The order numbers of the list page, in the order shown."""
    return NUMBER_CELL.findall(html)


def make_orders(app, specs: list[dict]) -> list[str]:
    """Orders of a 50 CUP plan from ``specs`` (fields of Order, ``paid_with`` a provider)."""
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        numbers = []
        for spec in specs:
            spec = dict(spec)
            provider = spec.pop("paid_with", None)
            order = make_order(plan, **spec)
            db.session.flush()
            if provider:
                db.session.add(Payment(
                    order_id=order.id, provider=provider, reference=f"ref-{order.number}",
                    amount_minor=5000, currency="CUP", order_amount_minor=5000,
                    order_currency="CUP", status=PaymentStatus.APPROVED))
            numbers.append(order.number)
        db.session.commit()
        return numbers


def a_plan(app) -> int:
    """A new 50 CUP plan with generated keys; its id."""
    with app.app_context():
        plan = make_plan(make_product(plans=[]), price_minor=5000)
        db.session.commit()
        return plan.id


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_orders_that_need_attention_come_first_then_the_newest(app, admin):
    old, stuck, new = make_orders(app, [
        {"created_at": days_ago(3)},
        {"created_at": days_ago(10), "status": OrderStatus.NEEDS_ATTENTION},
        {"created_at": days_ago(1)},
    ])

    page = admin.client.get("/admin/pedidos")

    assert page.status_code == 200
    assert listed(page.get_data(as_text=True)) == [stuck, new, old]


@pytest.mark.parametrize("query, wanted", [
    ("status=fulfilled", ["fulfilled"]),
    ("email=PEREZ%40Example", ["ana"]),
    ("number={ana}", ["ana"]),
    ("method=sandbox", ["fulfilled", "ana"]),
    ("placed_from={three_days_ago}&placed_to={three_days_ago}", ["three_days"]),
    ("placed_from={two_days_ago}", ["fulfilled", "ana"]),
])
def test_the_filters_narrow_the_list(app, admin, query, wanted):
    names = ["fulfilled", "ana", "three_days"]
    numbers = dict(zip(names, make_orders(app, [
        {"status": OrderStatus.FULFILLED, "paid_with": "sandbox", "created_at": days_ago(0)},
        {"email": "Ana.Perez@example.com", "paid_with": "sandbox", "created_at": days_ago(1)},
        {"created_at": days_ago(3)},
    ])))
    havana = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])  # the days are the store's
    values = {**numbers, "three_days_ago": days_ago(3).astimezone(havana).date().isoformat(),
              "two_days_ago": days_ago(2).astimezone(havana).date().isoformat()}

    page = admin.client.get(f"/admin/pedidos?{query.format(**values)}")

    assert page.status_code == 200
    assert listed(page.get_data(as_text=True)) == [numbers[name] for name in wanted]


@pytest.mark.parametrize("query, field_error", [
    ("placed_from=ayer", "No es una fecha válida."),
    ("status=lost", "Opción inválida."),
    ("method=bitcoin", "Opción inválida."),
    ("placed_from=2026-11-20&placed_to=2026-11-01", "El último día es anterior al primero."),
    ("email=" + "a" * 300, "El campo no puede tener más de 254 caracteres."),
])
def test_a_bad_filter_shows_a_spanish_error_and_every_order(app, admin, query, field_error):
    numbers = make_orders(app, [{"status": OrderStatus.FULFILLED}, {}])

    page = admin.client.get(f"/admin/pedidos?{query}")

    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert field_error in errors_in(html)
    assert sorted(listed(html)) == sorted(numbers)


def test_a_bad_filter_exports_nothing(app, admin):
    make_orders(app, [{}])

    export = admin.client.get("/admin/pedidos.csv?placed_to=nunca")

    assert export.status_code == 400
    assert "No es una fecha válida." in export.get_data(as_text=True)


@pytest.mark.parametrize("orders", [10, 200])
def test_the_list_costs_the_same_queries_whatever_the_number_of_orders(
    app, admin, count_queries, orders
):
    make_orders(app, [{"paid_with": "sandbox"} for _ in range(orders)])

    with count_queries() as counter:
        page = admin.client.get("/admin/pedidos")

    assert page.status_code == 200 and len(listed(page.get_data(as_text=True))) == min(orders, 50)
    statements = [s for s in counter.statements if s != "BEGIN"]  # SQLite logs its BEGIN
    assert len(statements) == QUERIES_PER_LIST_PAGE, statements


# The signed-in user, the count, the page of orders, their payments, their lines.
QUERIES_PER_LIST_PAGE = 5


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_export_has_one_row_per_filtered_order_with_its_columns(app, admin):
    fulfilled, pending = make_orders(app, [
        {"status": OrderStatus.FULFILLED, "paid_with": "sandbox", "email": "ana@example.com",
         "created_at": datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC), "total_minor": 125050},
        {"status": OrderStatus.PENDING_PAYMENT},
    ])

    export = admin.client.get("/admin/pedidos.csv?status=fulfilled")

    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    assert read_csv(export) == [
        ["number", "placed_at", "status", "email", "total", "currency", "payment_method",
         "lines"],
        [fulfilled, "2026-11-20T15:04:05+00:00", "fulfilled", "ana@example.com", "1250.50",
         "CUP", "sandbox", "1"],
    ]


def test_the_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(app, admin):
    make_orders(app, [{"email": "=HYPERLINK(\"http://x\")@example.com"},
                      {"email": "+1@example.com"}, {"email": "-2@example.com"},
                      {"email": "@3@example.com"}, {"email": "\t4@example.com"}])

    rows = read_csv(admin.client.get("/admin/pedidos.csv"))

    emails = sorted(row[3] for row in rows[1:])
    assert emails == sorted(["'=HYPERLINK(\"http://x\")@example.com", "'+1@example.com",
                             "'-2@example.com", "'@3@example.com", "'\t4@example.com"])


def test_the_export_streams_in_batches_of_bounded_size(app, admin, count_queries, monkeypatch):
    monkeypatch.setattr(order_listing, "EXPORT_BATCH", 10)
    numbers = make_orders(app, [{} for _ in range(35)])

    with count_queries() as counter:
        export = admin.client.get("/admin/pedidos.csv")
        assert export.is_streamed
        chunks = list(export.response)

    order_reads = [s for s in counter.statements if s.lstrip().startswith("SELECT customer_order.id")]
    assert len(chunks) >= 4  # the header with the first batch, then a chunk per batch
    assert len(order_reads) == 5  # four batches of at most 10, then an empty read
    assert all("LIMIT" in statement for statement in order_reads)
    rows = list(csv.reader(io.StringIO("".join(c.decode() for c in chunks))))
    assert [row[0] for row in rows[1:]] == list(reversed(numbers))


def keys_of(app, number: str) -> list[str]:
    with app.app_context():
        return [reveal(licence) for licence in db.session.scalars(
            sa.select(Licence).join(OrderLine, Licence.order_line_id == OrderLine.id)
            .join(Order, OrderLine.order_id == Order.id).where(Order.number == number))]


def test_the_order_page_shows_lines_payment_masked_keys_and_the_timeline_in_order(
    app, admin, shopper
):
    shopper.buy(a_plan(app))
    number = shopper.last_order()
    with app.app_context():
        send_pending(transport=MemoryTransport())
    refunded = admin.client.post(f"/admin/pedidos/{number}/reembolsar",
                                 data={"refund-reason": "Cliente pidió la devolución"})

    page = admin.client.get(f"/admin/pedidos/{number}")

    html = unescape(page.get_data(as_text=True))
    assert refunded.status_code == 302 and page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    (key,) = keys_of(app, number)
    assert key not in html and f"••••-{key.replace('-', '')[-4:]}" in html
    assert "Ana Pérez" in html and "ana@example.com" in html and "50.00 CUP" in html
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S)[1]
    steps = [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<strong>(.*?)</strong>", timeline)]
    # Each transaction's steps together, the transactions in time order (within one, the
    # order of the rows' writes decides).
    groups = [
        {"Pedido realizado", "Pago iniciado", "Pago registrado en sandbox"},  # checkout
        {"Estado: Pagado", "Estado: Entregado", "Correo en cola: Entrega de claves",
         "Notificación de sandbox: Pagado, claves emitidas"},  # the provider's notification
        {"Correo enviado: Entrega de claves"},  # the outbox worker
        {"Licencia revocada por un reembolso por admin@example.com", "Reembolsado en sandbox",
         "Estado: Reembolsado", "Correo en cola: Aviso de reembolso",
         "Pedido reembolsado por admin@example.com", "Pago reembolsado por admin@example.com"},
    ]
    sizes = [0] + [len(group) for group in groups]
    bounds = [sum(sizes[:i + 1]) for i in range(len(sizes))]
    assert [set(steps[a:b]) for a, b in zip(bounds, bounds[1:])] == groups, steps
    assert len(steps) == bounds[-1]
    # The payment's and the licence's status in Spanish, as the timeline names them.
    assert '<td data-label="Estado">Reembolsado</td>' in html
    assert '<td data-label="Estado">Reembolsada</td>' in html
    assert ">refunded<" not in html


def test_an_unknown_order_is_not_found(admin):
    assert admin.client.get("/admin/pedidos/A-NONE-NONE").status_code == 404


@pytest.fixture
def stranded(app, till) -> tuple[str, int]:
    """An order that needs attention (its pool ran dry): (number, plan id)."""
    order_id, plan_id = till.strand()
    with app.app_context():
        return db.session.get(Order, order_id).number, plan_id


def status_of(app, number: str) -> OrderStatus:
    with app.app_context():
        return db.session.scalar(sa.select(Order.status).where(Order.number == number))


def test_an_order_that_needs_attention_says_why_and_offers_the_three_actions(admin, stranded):
    number, _ = stranded

    html = unescape(admin.page(f"/admin/pedidos/{number}"))

    assert "Qué salió mal" in html and "cannot issue keys" in html
    for action in ("reintentar", "resolver", "reembolsar"):
        assert f'action="/admin/pedidos/{number}/{action}"' in html


def test_retrying_after_importing_keys_fulfils_the_order_from_the_page(app, admin, stranded):
    number, plan_id = stranded
    with app.app_context():
        make_pool(db.session.get(Plan, plan_id), 1, prefix="NEW")
        db.session.commit()

    done = admin.client.post(f"/admin/pedidos/{number}/reintentar",
                             data={"retry-reason": "Claves importadas"})

    assert done.status_code == 302 and done.headers["Location"] == f"/admin/pedidos/{number}"
    assert status_of(app, number) == OrderStatus.FULFILLED
    assert Shopper.flashes_in(admin.page(done.headers["Location"]), "success")


def test_retrying_with_an_empty_pool_says_so_and_changes_nothing(app, admin, stranded, count):
    number, _ = stranded

    refused = admin.client.post(f"/admin/pedidos/{number}/reintentar",
                                data={"retry-reason": "Otra vez"})

    assert refused.status_code == 409
    assert Shopper.flashes_in(refused.get_data(as_text=True))
    assert status_of(app, number) == OrderStatus.NEEDS_ATTENTION
    assert count(Licence) == 0
    assert count(OutboxMessage, OutboxMessage.kind == "order_delivery") == 0


def test_marking_resolved_needs_a_reason_then_fulfils_the_order(app, admin, stranded):
    number, _ = stranded

    empty = admin.client.post(f"/admin/pedidos/{number}/resolver", data={"resolve-reason": " "})
    long = admin.client.post(f"/admin/pedidos/{number}/resolver",
                             data={"resolve-reason": "x" * 501})
    assert (empty.status_code, long.status_code) == (400, 400)
    assert "Di por qué." in errors_in(empty.get_data(as_text=True))
    assert status_of(app, number) == OrderStatus.NEEDS_ATTENTION

    done = admin.client.post(f"/admin/pedidos/{number}/resolver",
                             data={"resolve-reason": "Claves enviadas a mano"})

    assert done.status_code == 302
    assert status_of(app, number) == OrderStatus.FULFILLED


def test_a_refund_the_provider_refuses_changes_nothing_and_says_so(
    app, admin, shopper, monkeypatch, count
):
    shopper.buy(a_plan(app))
    number = shopper.last_order()

    def refuse(self, payment, amount):
        raise PaymentProviderError()

    monkeypatch.setattr(SandboxProvider, "refund", refuse)
    refused = admin.client.post(f"/admin/pedidos/{number}/reembolsar",
                                data={"refund-reason": "Cliente pidió la devolución"})

    assert refused.status_code == 502
    assert Shopper.flashes_in(refused.get_data(as_text=True)) == [
        "El servicio de pago no respondió"]
    assert status_of(app, number) == OrderStatus.FULFILLED
    assert count(Licence, Licence.status == LicenceStatus.ACTIVE) == 1
    assert count(OutboxMessage, OutboxMessage.kind == "order_refunded") == 0


def test_a_second_refund_from_the_page_is_refused_with_a_clear_message(app, admin, shopper):
    shopper.buy(a_plan(app))
    number = shopper.last_order()
    reason = {"refund-reason": "Cliente pidió la devolución"}

    first = admin.client.post(f"/admin/pedidos/{number}/reembolsar", data=reason)
    second = admin.client.post(f"/admin/pedidos/{number}/reembolsar", data=reason)

    assert first.status_code == 302
    assert second.status_code == 409
    assert Shopper.flashes_in(second.get_data(as_text=True)) == [
        f"El pedido {number} ya fue reembolsado."]


def test_the_actions_carry_their_own_csrf_tokens(csrf_app, shopper_for, stranded):
    number, _ = stranded
    desk, browser = StaffDesk(csrf_app), shopper_for(csrf_app)
    secret = desk.enrol(desk.hire("boss@example.com", Role.ADMIN))[0]
    token = re.compile(r'name="([\w-]*csrf_token)" type="hidden" value="([^"]+)"')
    name, value = token.search(browser.page("/cuenta/entrar")).groups()
    browser.sign_in(email="boss@example.com", **{name: value})
    name, value = token.search(browser.page("/staff/segundo-factor")).groups()
    browser.client.post("/staff/segundo-factor", data={"code": desk.code(secret), name: value})
    page = browser.page(f"/admin/pedidos/{number}")
    tokens = dict(token.findall(page))

    without = browser.client.post(f"/admin/pedidos/{number}/resolver",
                                  data={"resolve-reason": "Resuelto"})
    done = browser.client.post(f"/admin/pedidos/{number}/resolver", data={
        "resolve-reason": "Resuelto", "resolve-csrf_token": tokens["resolve-csrf_token"]})

    assert set(tokens) == {"retry-csrf_token", "resolve-csrf_token", "refund-csrf_token"}
    assert without.status_code == 400
    assert done.status_code == 302


def insert_orders(app, start: int, count: int) -> None:
    """``count`` fulfilled orders written in one statement (fast enough for thousands)."""
    placed = datetime(2026, 11, 1, tzinfo=UTC)
    with app.app_context():
        db.session.execute(sa.insert(Order), [
            {"number": f"B-{i:06d}", "email": f"buyer{i}@example.com", "currency": "CUP",
             "total_minor": 5000, "status": OrderStatus.FULFILLED, "locale": "es",
             "created_at": placed, "updated_at": placed}
            for i in range(start, start + count)])
        db.session.commit()


def export_peak_memory(admin) -> tuple[int, int, int]:
    """Stream the whole export; return (chunks, bytes, peak bytes allocated meanwhile)."""
    tracemalloc.start()
    try:
        export = admin.client.get("/admin/pedidos.csv")
        size = chunks = 0
        for chunk in export.response:
            size, chunks = size + len(chunk), chunks + 1
        return chunks, size, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_ten_thousand_order_export_holds_one_batch_at_a_time(app, admin):
    insert_orders(app, 0, 1_000)
    export_peak_memory(admin)  # compiles the queries and templates once
    _, small_size, small_peak = export_peak_memory(admin)
    insert_orders(app, 1_000, 9_000)

    chunks, size, peak = export_peak_memory(admin)

    assert chunks == 10_000 // order_listing.EXPORT_BATCH + 1
    assert size > 9 * small_size
    # Ten times the orders, about the same memory: one batch at a time, never all rows.
    assert peak < 2 * small_peak, (peak, small_peak)


@pytest.mark.parametrize("query", ["placed_to=9999-12-31", "placed_from=0001-01-01"])
def test_a_date_out_of_any_range_is_a_filter_error_not_a_crash(admin, query):
    page = admin.client.get(f"/admin/pedidos?{query}")
    export = admin.client.get(f"/admin/pedidos.csv?{query}")

    assert page.status_code == 400 and export.status_code == 400
    assert "Escribe una fecha de 2000 a 2999." in page.get_data(as_text=True)
