"""Price per year and the saving of a longer plan: integer minor units, rounded half up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.catalogue.pricing import price_per_year, saving
from store.money import CurrencyMismatch, Money


def cup(minor: int) -> Money:
    return Money(minor, "CUP")


def half_up(numerator: int, denominator: int) -> int:
    """The same rounding done with Decimal, to check the integer arithmetic against."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("price", "days", "per_year"),
    [
        (9000, 730, 4500),  # 2 años a 90.00 CUP: 45.00 CUP al año
        (1800, 180, 3650),  # 6 meses a 18.00 CUP: 36.50 CUP al año
        (5000, 365, 5000),
        (12000, 1095, 4000),
        (0, 730, 0),
    ],
)
def test_the_price_per_year_scales_the_price_to_365_days(price, days, per_year):
    assert price_per_year(cup(price), days) == cup(per_year)


@pytest.mark.parametrize(
    ("price", "days", "per_year"),
    [
        (1, 730, 1),  # half a centavo rounds up
        (3, 730, 2),  # 1.5 rounds up
        (4999, 730, 2500),  # 2499.5 rounds up
        (1, 1095, 0),  # a third rounds down
        (2, 1095, 1),  # two thirds round up
        (1000, 366, 997),  # 997.27 rounds down
    ],
)
def test_the_price_per_year_is_rounded_half_up_to_the_centavo(price, days, per_year):
    assert price_per_year(cup(price), days) == cup(per_year)


@given(price=st.integers(0, 10**14), days=st.integers(1, 10 * 365))
def test_the_price_per_year_rounds_exactly_as_decimal_half_up_does(price, days):
    assert price_per_year(cup(price), days).minor == half_up(price * 365, days)


def test_a_two_year_plan_saves_against_two_one_year_plans():
    # "2 años: 90.00 CUP, ahorras 10.00 CUP" against 1 año at 50.00 CUP.
    assert saving(cup(9000), 730, one_year_price=cup(5000)) == cup(1000)


@pytest.mark.parametrize("days", [365, 180, 30])
def test_a_plan_of_a_year_or_less_saves_nothing(days):
    assert saving(cup(100), days, one_year_price=cup(5000)) is None


@pytest.mark.parametrize("price", [10000, 10001, 20000])
def test_a_longer_plan_that_costs_as_much_or_more_saves_nothing(price):
    assert saving(cup(price), 730, one_year_price=cup(5000)) is None


@pytest.mark.parametrize(
    ("one_year", "days", "price", "saved"),
    [
        (1001, 400, 1000, 97),  # 1001 * 400 / 365 = 1096.99 rounds up to 1097
        (50, 367, 49, 1),  # 50 * 367 / 365 = 50.27 rounds down to 50
        (1000, 366, 1000, 3),  # 1002.74 rounds up to 1003
    ],
)
def test_the_saving_rounds_the_one_year_equivalent_half_up_to_the_centavo(
    one_year, days, price, saved
):
    assert saving(cup(price), days, one_year_price=cup(one_year)) == cup(saved)


@given(one_year=st.integers(0, 10**12), days=st.integers(366, 10 * 365),
       price=st.integers(0, 10**13))
def test_the_saving_is_the_rounded_equivalent_less_the_price_or_nothing(one_year, days, price):
    expected = half_up(one_year * days, 365) - price
    result = saving(cup(price), days, one_year_price=cup(one_year))
    assert result == (cup(expected) if expected > 0 else None)


def test_prices_in_two_currencies_cannot_be_compared():
    with pytest.raises(CurrencyMismatch):
        saving(cup(9000), 730, one_year_price=Money(5000, "USD"))


@pytest.mark.parametrize(("price", "days"), [(cup(100), 0), (cup(100), -365), (cup(-1), 730)])
def test_a_duration_that_is_not_positive_or_a_negative_price_is_refused(price, days):
    with pytest.raises(ValueError):
        price_per_year(price, days)
