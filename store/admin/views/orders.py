"""Orders section: the filtered list and its CSV export, one order's page with its
timeline, and the actions on an order (retry fulfilment, mark resolved, refund)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from store.admin import bp
from store.admin.forms.orders import STATUS_LABELS, OrderFilterForm, ReasonForm
from store.admin.services.order_detail import order_detail
from store.admin.services.orders import (
    CSV_HEADER,
    OrderFilter,
    export_rows,
    find_order_id,
    list_orders,
    payment_methods,
)
from store.audit.models import Actor
from store.errors import StoreError
from store.payments.attention import resolve, retry_fulfilment
from store.payments.refunds import refund_order
from store.payments.registry import method_label

PER_PAGE = 50
LABELS = {"status_labels": STATUS_LABELS, "method_label": method_label}
# The three actions: (form prefix, use case, what the flash says when it is done).
ACTIONS: dict[str, tuple[Callable, object]] = {
    "retry": (retry_fulfilment, _l("Licences issued and the delivery email queued.")),
    "resolve": (resolve, _l("Order marked resolved.")),
    "refund": (refund_order, _l(
        "Order refunded: its licences were revoked and an email to the customer is on its way.")),
}


@bp.get("/pedidos")
def orders():
    form = OrderFilterForm(request.args, payment_methods())
    filters, page = form.to_filter()
    results = list_orders(filters or OrderFilter(), page=page, per_page=PER_PAGE)
    return render_template(
        "admin/orders.html", form=form, results=results,
        args=(filters or OrderFilter()).query_args(), **LABELS,
    ), 200 if filters is not None else 400


@bp.get("/pedidos.csv")
def orders_csv():
    form = OrderFilterForm(request.args, payment_methods())
    filters, _page = form.to_filter()
    if filters is None:
        problems = "; ".join(f"{form[name].label.text}: {errors[0]}"
                             for name, errors in form.errors.items())
        return Response(problems + "\n", 400, mimetype="text/plain")
    return Response(
        stream_with_context(_csv_chunks(filters)), mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="pedidos.csv"'},
    )


def _csv_chunks(filters: OrderFilter) -> Iterator[str]:
    """The header, then one chunk of text per batch of orders."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for rows in export_rows(filters):
        writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


@bp.get("/pedidos/<number>")
def order(number: str):
    return _order_page(number)


def _order_page(number: str, forms: dict[str, ReasonForm] | None = None, status: int = 200):
    detail = order_detail(number)
    forms = {name: ReasonForm(prefix=name, formdata=None) for name in ACTIONS} | (forms or {})
    return render_template("admin/order.html", detail=detail, order=detail.order,
                           forms=forms, **LABELS), status


def _act(number: str, action: str):
    """Run ``action`` on the order with the admin's reason; back to the order page."""
    use_case, done = ACTIONS[action]
    form = ReasonForm(prefix=action)
    if not form.validate_on_submit():
        return _order_page(number, {action: form}, 400)
    order_id = find_order_id(number)
    try:
        use_case(order_id, reason=form.reason.data, actor=Actor.of(current_user))
    except StoreError as error:
        flash(str(error.detail or error.title), "error")
        return _order_page(number, {action: form}, error.status)
    flash(str(done), "success")
    return redirect(url_for("admin.order", number=number))


@bp.post("/pedidos/<number>/reintentar")
def retry_order(number: str):
    return _act(number, "retry")


@bp.post("/pedidos/<number>/resolver")
def resolve_order(number: str):
    return _act(number, "resolve")


@bp.post("/pedidos/<number>/reembolsar")
def refund(number: str):
    return _act(number, "refund")
