"""Order use cases outside checkout and payment: finding, viewing, links, expiring."""

from __future__ import annotations

import enum
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from store.catalogue.models import PlanKind
from store.dbtypes import utcnow
from store.errors import NotFound, StoreError
from store.extensions import db
from store.licensing import services as licensing
from store.licensing.renewals import NotRenewable, check_renewable, current_licence
from store.licensing.models import Activation, Licence, LicenceRenewal, LicenceStatus
from store.orders.activation import ProductGuide, product_guides
from store.orders.caps import PoolCaps, check_pool_caps
from store.orders.models import Order, OrderAccess, OrderLine, OrderStatus
from store.orders.states import can_transition, note, shown_status, transition
from store.unit_of_work import use_case
from store.urls import public_url
from store.vault import get_vault, lookup_form, reveal, seal_into

EXPIRY_BATCH = 100
ACCESS_TOKEN_BYTES = 20  # 160 random bits, written as 40 hex digits
MAX_TOKEN_LENGTH = 100
MAX_NUMBER_LENGTH = 20
MAX_REMEMBERED = 20  # a session remembers at most this many orders (store/visitor.py)


def grant_access(order: Order) -> None:
    """Give ``order`` a new random link token (sealed in the vault); an old link stops working.

    A step: runs in the caller's transaction. An existing access row is sealed again in
    place (replacing the row would insert the new one before deleting the old, against
    the unique order_id).
    """
    token = secrets.token_hex(ACCESS_TOKEN_BYTES)
    if order.access is None:
        order.access = seal_into(OrderAccess(), token)
    else:
        seal_into(order.access, token)


def order_link(order: Order) -> str:
    """The emailed address of the order page: it carries the access token.

    Opening it moves the access into the visitor's session and redirects to the clean
    ``order_page_url``, so the token is seen in one request only.
    """
    return public_url("orders.show", number=order.number, t=reveal(order.access))


def keys_file_link(order: Order) -> str:
    """The emailed address of the order's keys as a text file (carries the access token)."""
    return public_url("orders.keys_file", number=order.number, t=reveal(order.access))


def licence_file_link(order: Order, licence: Licence) -> str:
    """The emailed address of one licence's signed file (carries the order's access token,
    never the licence key)."""
    return public_url("orders.licence_download", number=order.number, licence_id=licence.id,
                      t=reveal(order.access))


def order_page_url(order: Order) -> str:
    """The order page's public address without the token (opens for the buyer's session)."""
    return public_url("orders.show", number=order.number)


def _token_opens(order: Order, token: str | None) -> bool:
    """True when ``token`` is the order's current link token (compared by keyed hash)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or order.access is None:
        return False
    offered = get_vault().lookup_hash(str(token)).encode()
    return hmac.compare_digest(offered, order.access.lookup_hash.encode())


@dataclass(frozen=True)
class LineView:
    line: OrderLine
    licences: list[tuple[Licence, str]]  # each licence with its key, decrypted
    # A renewal line: the renewal applied once paid (the licence, its new expiry), and
    # the renewed key's last characters (the key itself was shown by its own order).
    renewal: LicenceRenewal | None = None
    renewed_key: str = ""


@dataclass(frozen=True)
class OrderView:
    order: Order
    lines: list[LineView]
    guides: list[ProductGuide]  # download and activation, one per product bought


def order_view(order_id: int) -> OrderView:
    """The order with its lines and current licences, keys decrypted (for its owner only),
    and a guide per product bought. Four queries, whatever the number of lines (two more
    when it renews licences)."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_l("This order does not exist."))
    licences = db.session.scalars(
        select(Licence)
        .join(OrderLine, Licence.order_line_id == OrderLine.id)
        .where(OrderLine.order_id == order.id, Licence.replaced_by_id.is_(None))
        .order_by(Licence.order_line_id, Licence.unit)
    ).all()
    by_line: dict[int, list[tuple[Licence, str]]] = {line.id: [] for line in order.lines}
    for licence in licences:
        by_line[licence.order_line_id].append((licence, reveal(licence)))
    renewals = _renewals_of(order)
    return OrderView(order, [
        LineView(line, by_line[line.id], *renewals.get(line.id, (None, "")))
        for line in order.lines], product_guides(order.lines))


def _renewals_of(order: Order) -> dict[int, tuple[LicenceRenewal | None, str]]:
    """For each renewal line: its applied renewal (None until paid) and the masked key of
    the licence it renews. One query, none without renewal lines."""
    ids = {line.renews_licence_id for line in order.lines if line.is_renewal}
    if not ids:
        return {}
    done = {renewal.order_line_id: renewal for renewal in db.session.scalars(
        select(LicenceRenewal).where(LicenceRenewal.order_line_id.in_(
            [line.id for line in order.lines])))}
    renewed = {licence.id: licence for licence in db.session.scalars(
        select(Licence).where(Licence.id.in_(ids)))}
    return {line.id: (done.get(line.id), masked_key(renewed[line.renews_licence_id]))
            for line in order.lines if line.is_renewal}


def order_licence(order: Order, licence_id: int) -> Licence:
    """Licence ``licence_id`` when it was issued for ``order``. Raises NotFound otherwise."""
    licence = db.session.get(Licence, licence_id)
    if licence is None or licence.order_line.order_id != order.id:
        raise NotFound()
    return licence


def _by_number(number: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.number == number[:MAX_NUMBER_LENGTH]))


@dataclass(frozen=True)
class Owner:
    """A signed-in customer, as orders sees one: their orders are those placed while signed
    in, and guest orders placed with their email once that email is verified."""

    user_id: int
    email: str  # normalised (lower case)
    email_verified: bool

    def owns(self, order: Order) -> bool:
        return order.user_id == self.user_id or (
            self.email_verified and order.email.strip().lower() == self.email
        )

    def orders_clause(self):
        mine = Order.user_id == self.user_id
        if not self.email_verified:
            return mine
        return or_(mine, func.lower(Order.email) == self.email)


def owner_of(user) -> Owner | None:
    """The Owner for a signed-in user (Flask-Login's current_user), None for a guest."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Owner(user.id, user.email, user.email_verified)


def find_own_order(number: str, own_numbers: list[str], owner: Owner | None = None) -> Order:
    """The order, when it is one of ``own_numbers`` (the visitor's session's orders) or
    belongs to the signed-in ``owner``.

    Raises NotFound otherwise, the same for an unknown number and a stranger's order, so
    nobody learns which order numbers exist.
    """
    order = _by_number(number)
    if order is None or not (number in own_numbers or (owner and owner.owns(order))):
        raise NotFound()
    return order


EXPIRES_SOON = timedelta(days=30)


class LicenceState(enum.StrEnum):
    """What "Mis licencias" says of a licence."""

    ACTIVE = "active"
    EXPIRES_SOON = "expires_soon"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REFUNDED = "refunded"


def masked_key(licence: Licence) -> str:
    """Only the key's last four letters and digits: enough to tell keys apart, whatever
    the key's shape (vendor keys may have no dashes)."""
    return "••••-" + lookup_form(reveal(licence))[-4:]


@dataclass(frozen=True)
class OwnedLicence:
    licence: Licence
    line: OrderLine
    state: LicenceState

    @property
    def number(self) -> str:
        return self.line.order.number

    def masked_key(self) -> str:
        return masked_key(self.licence)

    def key(self) -> str:
        return reveal(self.licence)

    @property
    def devices(self) -> list[Activation]:
        """The devices holding its seats, oldest first (``customer_licences(with_devices=True)``)."""
        return self.licence.activations


def _state(licence: Licence, now: datetime) -> LicenceState:
    if licence.status == LicenceStatus.REVOKED:
        return LicenceState.REVOKED
    if licence.status == LicenceStatus.REFUNDED:
        return LicenceState.REFUNDED
    if licence.status == LicenceStatus.EXPIRED or licence.expires_at <= now:
        return LicenceState.EXPIRED
    if licence.expires_at <= now + EXPIRES_SOON:
        return LicenceState.EXPIRES_SOON
    return LicenceState.ACTIVE


def customer_licences(
    owner: Owner, now: datetime, *, with_devices: bool = False,
) -> list[OwnedLicence]:
    """The current licences of the customer's orders, the latest to expire first.

    A reissued licence shows as its replacement only. Two queries (the licences with
    their lines, then their orders), and one more for every licence's devices when
    ``with_devices``, whatever the number of licences.
    """
    query = (
        select(Licence, OrderLine)
        .join(OrderLine, Licence.order_line_id == OrderLine.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(owner.orders_clause(), Licence.replaced_by_id.is_(None))
        .options(selectinload(OrderLine.order))
        .order_by(Licence.expires_at.desc(), Licence.id.desc())
    )
    if with_devices:
        query = query.options(selectinload(Licence.activations))
    rows = db.session.execute(query).all()
    return [OwnedLicence(licence, line, _state(licence, now)) for licence, line in rows]


def pick_licence(licences: list[OwnedLicence], licence_id: int) -> OwnedLicence:
    """The licence ``licence_id`` among a customer's ``licences``. Raises NotFound for
    anyone else's or an unknown id, saying no more."""
    for owned in licences:
        if owned.licence.id == licence_id:
            return owned
    raise NotFound()


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    page: int
    pages: int


def customer_orders(owner: Owner, *, page: int = 1, per_page: int = 20) -> OrderPage:
    """One page of the customer's orders, newest first (two queries)."""
    total = db.session.scalar(select(func.count()).select_from(Order).where(owner.orders_clause()))
    pages = max(1, -(-(total or 0) // per_page))
    page = min(max(page, 1), pages)
    orders = db.session.scalars(
        select(Order).where(owner.orders_clause())
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return OrderPage(list(orders), page, pages)


def order_id_by_number(number: str) -> int | None:
    """The id of order ``number``, for steps that must not show the order (None when none)."""
    order = _by_number(number)
    return None if order is None else order.id


def find_order_by_link(number: str, token: str | None) -> Order:
    """The order whose emailed link carries ``token``. Raises NotFound, saying no more."""
    order = _by_number(number)
    if order is None or not _token_opens(order, token):
        raise NotFound()
    return order


def find_order_by_checkout_token(token: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.checkout_token == token))


class OrderNotPayable(StoreError):
    status = 409
    title = _l("This order cannot be paid now")


# Unpaid orders the buyer can take up again: pay them, or put their lines back in the cart.
REOPENABLE = (OrderStatus.PENDING_PAYMENT, OrderStatus.FAILED, OrderStatus.EXPIRED)


def _still_sold_as_ordered(line: OrderLine) -> bool:
    plan = line.plan
    return (
        plan.is_active and plan.product.is_active and plan.price_minor == line.unit_price_minor
        and plan.currency == line.currency and plan.seats == line.seats
        and plan.duration_days == line.duration_days and plan.fulfilment == line.fulfilment
    )


def reopen(
    order: Order, *, now: datetime, until: datetime, caps: PoolCaps, held_by_address: int = 0
) -> None:
    """Give an unpaid order (declined, expired, or past its window) a new payment window.

    Its pool keys are reserved again until ``until``, within the same caps on held keys as
    a checkout. A step: the caller holds the order's row lock in a serial transaction.
    Raises OrderNotPayable when the order is not waiting for a payment or a plan changed
    since it was placed (the buyer can start again from the cart), HoldingLimitReached or
    OutOfStock, claiming nothing.
    """
    if order.status not in REOPENABLE:
        raise OrderNotPayable(_l("This order is already paid or closed."))
    if not all(_still_sold_as_ordered(line) for line in order.lines):
        raise OrderNotPayable(_l(
            "A plan of this order changed or is no longer on sale. Put the order back in "
            "your cart to see today's prices."
        ))
    _check_renewals(order, now)
    keyed = [line for line in order.lines if not line.is_renewal]
    if order.status != OrderStatus.PENDING_PAYMENT:  # its keys went back to the pool
        check_pool_caps(keyed, email=order.email, held_by_address=held_by_address,
                        caps=caps, now=now)
    for line in keyed:
        licensing.reserve(line, line.quantity, until=until, now=now)
    order.expires_at = until
    if can_transition(order, OrderStatus.PENDING_PAYMENT):
        transition(order, OrderStatus.PENDING_PAYMENT, "payment tried again")
    else:
        note(order, "window_extended")


def _check_renewals(order: Order, now: datetime) -> None:
    """Paying again is placing again: each renewal is checked as at checkout, and a
    renewal plan on a line of its own (an order from before renewals were tied to a
    licence) is refused. Raises OrderNotPayable with the reason."""
    for line in order.lines:
        if not line.is_renewal:
            if line.plan.kind == PlanKind.RENEWAL:
                raise OrderNotPayable(_l(
                    "A renewal is bought for a licence you have: put the order back in your "
                    "cart, then choose “Renew” in “My licences”."))
            continue
        try:
            licence = current_licence(db.session.get(Licence, line.renews_licence_id))
            check_renewable(line.plan, licence, now=now)
        except NotRenewable as error:
            raise OrderNotPayable(error.detail) from error


@dataclass(frozen=True)
class UnpaidOrder:
    order: Order
    status: OrderStatus  # as the buyer reads it: an overdue pending order reads as expired

    @property
    def waiting(self) -> bool:
        """True while the order waits for a payment within its window."""
        return self.status == OrderStatus.PENDING_PAYMENT


def unpaid_orders(numbers: list[str], now: datetime) -> list[UnpaidOrder]:
    """Those of the orders ``numbers`` that wait for a payment, or that the buyer may take
    up again after a decline or an expiry; newest first. One query (sessions remember at
    most a few orders)."""
    if not numbers:
        return []
    orders = db.session.scalars(
        select(Order)
        .where(Order.number.in_(numbers[-MAX_REMEMBERED:]), Order.status.in_(REOPENABLE))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    return [UnpaidOrder(order, shown_status(order, now)) for order in orders]


def put_back(order_id: int) -> Order:
    """The buyer takes an order back to the cart to change it: cancel it if unpaid.

    An unpaid order (waiting, declined or expired) is cancelled and its pool keys go back
    to the pool, so it can no longer be paid alongside the new order its plans go into. A
    paid order is left as it is (buying the same again). Returns the order. One use case;
    a payment that still arrives for the cancelled order counts, as for any cancelled one.
    """
    with use_case() as uow:
        order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order.status in REOPENABLE:
            transition(order, OrderStatus.CANCELLED, "put back in the cart by the buyer")
            licensing.release(order)
        uow.commit()
    return order


def expire(order: Order, now: datetime) -> bool:
    """Expire one unpaid order past its window and free its keys; False when not due.

    A step: the caller holds the order's row lock, in a serial transaction.
    """
    if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at > now:
        return False  # paid or expired meanwhile
    transition(order, OrderStatus.EXPIRED, "payment window closed")
    licensing.release(order)
    return True


def expire_orders(now: datetime | None = None) -> int:
    """Expire every unpaid order past its window and release its keys; returns the count.

    The scheduled sweep (``flask store expire-orders``): one use case per batch of orders,
    so a long run never holds many locks. Reservations that simply ran out are also freed.
    """
    now = now or utcnow()
    total = 0
    while True:
        with use_case() as uow:
            due = db.session.scalars(
                select(Order)
                .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
                .order_by(Order.id)
                .limit(EXPIRY_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            total += sum(expire(order, now) for order in due)
            if len(due) < EXPIRY_BATCH:
                licensing.release_lapsed(now)
            uow.commit()
        if len(due) < EXPIRY_BATCH:
            return total
