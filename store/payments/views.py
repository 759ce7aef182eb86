"""Paying a pending order again, coming back from a provider, provider notifications (a
JSON API), and the sandbox's test gateway page."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from store.dbtypes import utcnow
from store.extensions import csrf, db
from store.forms import first_error
from store.licensing.services import OutOfStock
from store.orders.caps import HoldingLimitReached, pool_keys_of
from store.orders.models import Order, OrderStatus
from store.errors import NotFound
from store.orders.services import find_own_order, order_id_by_number, owner_of
from store.orders.states import shown_status
from store.payments import bp
from store.payments.checking import PaymentCheck, check_payment
from store.payments.forms import SandboxDecisionForm, pay_again_form
from store.payments.gateway import PaymentOutcome, PaymentProviderError
from store.payments.models import Payment, PaymentStatus
from store.payments.registry import enabled_providers, get_provider, method_label
from store.payments.services import OrderNotPayable, confirm_payment, pay_order
from store.ratelimit import (
    client_address, limited, note_pool_keys_held, pool_keys_held, visitor,
)
from store.visitor import remembered_orders


@bp.post("/pedido/<number>/pagar")
def pay_again(number: str):
    """The order page's pay button: resume or start a payment with the chosen provider.

    A declined or expired order is reopened, its keys reserved again, when nothing it
    holds changed since it was placed.
    """
    order = find_own_order(number, remembered_orders(), owner_of(current_user))
    order_page = url_for("orders.show", number=order.number)
    form = pay_again_form()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return redirect(order_page)
    window = timedelta(minutes=current_app.config["STORE_PAYMENT_WINDOW_MINUTES"])
    address = client_address()
    reopening = shown_status(order, utcnow()) != OrderStatus.PENDING_PAYMENT
    try:
        pay_at = pay_order(order.id, form.method.data, payment_window=window,
                           keys_held_by_address=pool_keys_held(address, window))
    except (OrderNotPayable, HoldingLimitReached, OutOfStock, PaymentProviderError) as error:
        flash(str(error.detail or error.title), "error")
        return redirect(order_page)
    if reopening:  # its keys are held again, from this address
        note_pool_keys_held(address, pool_keys_of(order), window)
    return redirect(pay_at)


# Orders whose buyer came back from a provider that had no answer yet: {number: provider}.
CONFIRMING = "confirming_payments"
MAX_CONFIRMING = 20


def _confirming() -> dict[str, str]:
    value = session.get(CONFIRMING)
    return dict(value) if isinstance(value, dict) else {}


def _remember_confirming(number: str, provider: str | None) -> None:
    confirming = _confirming()
    confirming.pop(number, None)
    if provider is not None:
        confirming[number] = provider
    session[CONFIRMING] = dict(list(confirming.items())[-MAX_CONFIRMING:])


def confirming_payment(order: Order) -> str | None:
    """For the order page: the provider this session's buyer came back from while it had
    no answer yet, as long as the order still waits for payment (else None)."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        return None
    return _confirming().get(order.number)


@bp.route("/pedido/<number>/volver/<provider>", methods=["GET", "POST"])
@limited("STORE_LIMIT_CHECKOUT_PER_VISITOR", per=visitor, scope="payment-check")
@limited("STORE_LIMIT_ORDER_LINK", scope="payment-check")
def come_back(number: str, provider: str):
    """The buyer is back from ``provider`` (GET: the return address given to it), or asks
    again with the order page's "Check the payment" button (POST): complete the payment
    there, act on the answer once, and show the order page.

    The one GET that writes, on purpose: it is the confirmation step, idempotent (an
    answer acts once by its event id). The POST is checked for its CSRF token like every
    form (CSRFProtect). A buyer back in another browser than the one they ordered in (a
    bank's app opens the phone's default browser) is not known there: the payment is
    still checked, and a page that shows nothing of the order says where the keys go.
    """
    get_provider(provider)  # NotFound for a provider not enabled, whoever asks
    try:
        order = find_own_order(number, remembered_orders(), owner_of(current_user))
    except NotFound:
        return _back_in_another_browser(number, provider)
    order_page = url_for("orders.show", number=order.number)
    try:
        checked = check_payment(order.id, provider)
    except PaymentProviderError:
        _remember_confirming(order.number, provider)
        flash(_("We could not check your payment with %(method)s right now. Try again in a "
                "few minutes; if you did not pay, you can pay below.",
                method=method_label(provider)), "error")
        return redirect(order_page)
    _remember_confirming(order.number, provider if checked == PaymentCheck.PENDING else None)
    return redirect(order_page)


def _back_in_another_browser(number: str, provider: str):
    """Check the payment of order ``number`` (if there is one) and say the same thing
    whether or not there is: nobody learns which order numbers exist or what they hold."""
    order_id = order_id_by_number(number)
    if order_id is not None and request.method == "GET":
        try:
            check_payment(order_id, provider)
        except PaymentProviderError:
            pass  # reconciling asks again; the page says the same either way
    return render_template("payments/returned.html")


def _provider_and_address() -> str:
    provider = (request.view_args or {}).get("provider", "")[:32]
    return f"provider:{provider}:{client_address()}"


@bp.post("/api/pagos/notificacion/<provider>")
@csrf.exempt  # providers sign their notifications instead
@limited("STORE_LIMIT_NOTIFICATION", per=_provider_and_address)
def notify(provider: str):
    outcome = confirm_payment(provider, request.get_data(cache=False), request.headers)
    return jsonify(status=outcome.value)


def _sandbox_payment(reference: str) -> Payment:
    sandbox = enabled_providers().get("sandbox")
    payment = db.session.scalar(
        select(Payment).where(Payment.provider == "sandbox", Payment.reference == reference[:64])
    )
    if sandbox is None or payment is None:
        abort(404)
    return payment


@bp.get("/pago-de-prueba/<reference>")
def sandbox_gateway(reference: str):
    payment = _sandbox_payment(reference)
    return render_template(
        "payments/sandbox.html", payment=payment, order=payment.order, form=SandboxDecisionForm()
    )


@bp.post("/pago-de-prueba/<reference>")
def sandbox_decide(reference: str):
    """Play the provider: send a signed notification through the real endpoint's code path."""
    payment = _sandbox_payment(reference)
    form = SandboxDecisionForm()
    # Back to the order page without its access token: the buyer's session opens it, and
    # whoever else knows this gateway address does not get the keys.
    order_page = url_for("orders.show", number=payment.order.number)
    if not form.validate_on_submit() or payment.status != PaymentStatus.PENDING:
        return redirect(order_page)
    body, headers = enabled_providers()["sandbox"].answer(
        payment.reference, PaymentOutcome(form.decision.data), payment.amount
    )
    confirm_payment("sandbox", body, headers)
    return redirect(order_page)
