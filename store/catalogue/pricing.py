"""How a plan's price compares: its price per year, and what a longer plan saves.

Integer arithmetic on minor units only, rounded half up to the minor unit (never float).
A year is 365 days, as the catalogue counts it ("1 año" is 365 days).
"""

from __future__ import annotations

from store.money import Money

DAYS_PER_YEAR = 365


def _divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest whole number, halves up."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("only a non-negative amount over a positive number of days")
    return (2 * numerator + denominator) // (2 * denominator)


def price_per_year(price: Money, duration_days: int) -> Money:
    """What one year of a plan costs: ``price * 365 / duration_days``, rounded half up.

    Raises ValueError for a negative price or a duration that is not positive.
    """
    return Money(_divide_half_up(price.minor * DAYS_PER_YEAR, duration_days), price.currency)


def saving(price: Money, duration_days: int, *, one_year_price: Money) -> Money | None:
    """What a plan longer than a year saves against one-year plans for as long.

    ``one_year_price * duration_days / 365 - price``, the first term rounded half up. None when
    the plan lasts a year or less, or saves nothing. Raises CurrencyMismatch when the two
    prices are in different currencies.
    """
    if duration_days <= DAYS_PER_YEAR:
        return None
    as_yearly_plans = Money(
        _divide_half_up(one_year_price.minor * duration_days, DAYS_PER_YEAR),
        one_year_price.currency,
    )
    saved = as_yearly_plans - price
    return saved if saved.minor > 0 else None
