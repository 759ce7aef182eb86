"""What the buyer reads on the order page for each status of the order, and what staff
pages call each status."""

from __future__ import annotations

from flask_babel import format_date, format_time, ngettext, to_user_timezone
from flask_babel import lazy_gettext as _l

from store.orders.models import Order, OrderStatus

S = OrderStatus
STATUS_MESSAGES = {
    S.FULFILLED: _l("Paid. Your licence keys are below; we also sent them to %(email)s."),
    S.PENDING_PAYMENT: _l(
        "Waiting for your payment. The order is kept for you %(until)s."
    ),
    S.PAID: _l("Paid. Your licence keys are being prepared."),
    S.NEEDS_ATTENTION: _l(
        "We received your payment and our staff is completing your order. You will get an "
        "email as soon as your keys are ready."
    ),
    S.EXPIRED: _l(
        "The payment window closed before we received a payment. Nothing was charged."
    ),
    S.FAILED: _l("The payment was declined. Nothing was charged."),
    S.CANCELLED: _l("This order was cancelled."),
    S.REFUNDED: _l("This order was refunded."),
}


# What staff pages call each status (the buyer reads STATUS_MESSAGES instead).
STATUS_LABELS = {
    S.PENDING_PAYMENT: _l("Pending payment"),
    S.PAID: _l("Paid"),
    S.FULFILLED: _l("Fulfilled"),
    S.REFUNDED: _l("Refunded in full"),
    S.EXPIRED: _l("Expired unpaid"),
    S.CANCELLED: _l("Cancelled"),
    S.FAILED: _l("Failed"),
    S.NEEDS_ATTENTION: _l("Needs attention"),
}


RENEWED = _l("Paid. Your renewal is done, shown below; we also sent it to %(email)s.")


def status_message(order: Order, status: OrderStatus) -> str:
    """The sentence the order page shows for ``status``, filled in for ``order``."""
    message = STATUS_MESSAGES[status]
    if status == S.FULFILLED and all(line.is_renewal for line in order.lines):
        message = RENEWED  # no new key: the order extended licences the buyer has
    return str(message) % {"email": order.email, "until": _until(order)}


def _until(order: Order) -> str:
    """"hasta las 20:05 del 28 de noviembre de 2026": the words people say, in the store's
    time zone. Spanish says "la 1:05" but "las 2:05": the hour picks the plural form."""
    if order.expires_at is None:
        return ""
    local = to_user_timezone(order.expires_at)
    return ngettext(
        "until %(time)s on %(date)s", "until %(time)s on %(date)s", local.hour,
        time=format_time(order.expires_at, "short"), date=format_date(order.expires_at, "long"),
    )
