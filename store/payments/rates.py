"""Exchange rates from CUP to the currencies card providers settle in (USD, EUR).

Admins add rates from the back office; each is a new row of a history that is never
edited. A provider that charges another currency than CUP converts an order's total at
the newest rate of that currency (``current_rate``); STORE_EXCHANGE_RATES is the
fallback for a currency no admin ever set a rate for. A payment keeps the rate it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from store.audit.models import Actor, record_change, values_of
from store.errors import InvalidInput, StoreError
from store.extensions import db
from store.payments.models import ExchangeRate
from store.unit_of_work import use_case

SETTLEMENT_CURRENCIES = ("USD", "EUR")
MAX_RATE = Decimal(1_000_000)  # CUP per unit: far above any real rate, and a typo's bound
RATE_DECIMALS = 6
HISTORY_SHOWN = 50
# A new rate this far from the one in use (a missing decimal point, a slipped digit) is
# only saved once the admin confirms it: charging a hundredth of the price loses money.
CONFIRM_BELOW, CONFIRM_ABOVE = Decimal("0.8"), Decimal("1.25")


class RateNeedsConfirmation(StoreError):
    """The new rate differs much from the one in use; nothing was saved."""

    status = 400
    title = _l("This rate is far from the one in use. Check it, then confirm it.")

    def __init__(self, in_use: Decimal, rate: Decimal) -> None:
        super().__init__(_l("New payments use %(old)s CUP per unit now; %(new)s is a change "
                            "of more than 20%%. Confirm it if it is right.",
                            old=format(in_use, "f"), new=format(rate, "f")))
        self.in_use, self.rate = in_use, rate


def newest_rate(currency: str) -> ExchangeRate | None:
    """The rate admins set last for ``currency``, or None if they never set one."""
    return db.session.scalar(
        select(ExchangeRate).where(ExchangeRate.currency == currency)
        .order_by(ExchangeRate.effective_at.desc(), ExchangeRate.id.desc()).limit(1)
    )


def current_rate(currency: str, fallback: Mapping[str, Decimal]) -> Decimal | None:
    """CUP per unit of ``currency`` for a new payment: the newest rate set by an admin,
    else ``fallback`` (STORE_EXCHANGE_RATES), else None."""
    newest = newest_rate(currency)
    return newest.rate if newest is not None else fallback.get(currency)


def rate_history(limit: int = HISTORY_SHOWN) -> list[ExchangeRate]:
    """The latest rates set, newest first, every currency."""
    return list(db.session.scalars(
        select(ExchangeRate).order_by(ExchangeRate.effective_at.desc(), ExchangeRate.id.desc())
        .limit(limit)
    ))


def check_rate(rate: Decimal) -> None:
    """Raise InvalidInput unless ``rate`` is a positive amount of CUP a payment can use."""
    if not rate.is_finite() or rate <= 0:
        raise InvalidInput(_l("Enter a number greater than zero."))
    if rate > MAX_RATE or -rate.as_tuple().exponent > RATE_DECIMALS:
        raise InvalidInput(_l("Enter at most 1,000,000 CUP, with at most 6 decimals."))


def set_exchange_rate(
    currency: str, rate: Decimal, *, actor: Actor, now: datetime,
    fallback: Mapping[str, Decimal], confirmed: bool = False,
) -> ExchangeRate:
    """Add the rate new payments in ``currency`` use from ``now`` on, and audit it.

    A use case. Raises InvalidInput for a currency that is not a settlement currency or
    a rate out of range (the form checks both first), and RateNeedsConfirmation, saving
    nothing, when the rate is more than 20% off the one in use and not ``confirmed``.
    """
    if currency not in SETTLEMENT_CURRENCIES:
        raise InvalidInput(_l("Choose USD or EUR."))
    check_rate(rate)
    with use_case() as uow:
        previous = newest_rate(currency)
        in_use = previous.rate if previous is not None else fallback.get(currency)
        if in_use and not confirmed and not CONFIRM_BELOW <= rate / in_use <= CONFIRM_ABOVE:
            raise RateNeedsConfirmation(in_use, rate)
        row = ExchangeRate(currency=currency, cup_per_unit=format(rate, "f"), effective_at=now,
                           set_by=actor.label, set_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        fields = ("currency", "cup_per_unit", "effective_at")
        record_change(
            actor=actor, action="exchange_rate.set", subject=row,
            before=values_of(previous, *fields) if previous else {}, after=values_of(row, *fields),
        )
        uow.commit()
    return row


RateInUse = tuple[str, ExchangeRate | None, Decimal | None]


def rates_in_use(fallback: Mapping[str, Decimal]) -> list[RateInUse]:
    """For each settlement currency: the newest rate set (or None), and the rate new
    payments use (that one's, else ``fallback``'s, else None)."""
    rows = []
    for currency in SETTLEMENT_CURRENCIES:
        newest = newest_rate(currency)
        rows.append((currency, newest, newest.rate if newest else fallback.get(currency)))
    return rows
