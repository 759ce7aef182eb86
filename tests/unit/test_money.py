"""Money: integer minor units, one currency, parsing and formatting for people."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.money import MAX_MAJOR_UNITS, CurrencyMismatch, InvalidAmount, Money, format_money

amounts = st.integers(min_value=0, max_value=MAX_MAJOR_UNITS * 100 - 1)
signed = st.integers(min_value=-(10**15), max_value=10**15)
currencies = st.sampled_from(["CUP", "USD", "EUR"])


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("50", 5000),
        ("50.00", 5000),
        ("50.5", 5050),
        ("0.05", 5),
        ("1,234.50", 123450),
        ("1,234,567", 123456700),
        ("  50.00  ", 5000),
        ("50 CUP", 5000),
        ("50.00 cup", 5000),
        ("50.00\u00a0CUP", 5000),
        ("0", 0),
        # Spaces (no-break and narrow no-break too) between thousands, a decimal comma.
        ("1 250,50", 125050),
        ("1\u00a0250,50", 125050),
        ("1\u202f250,50", 125050),
        ("1 250 000", 125000000),
        ("1 250.50", 125050),
        ("1.250,50", 125050),
        ("1.250.000,5", 125000050),
        ("1,250.50", 125050),
        ("50,5", 5050),
        ("50,00", 5000),
        ("1 250,50 CUP", 125050),
    ],
)
def test_parse_reads_amounts_as_people_write_them(text, minor):
    assert Money.parse(text, "CUP") == Money(minor, "CUP")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an amount."),
        ("   ", "Enter an amount."),
        ("-5", "The amount cannot be negative."),
        ("-0.01", "The amount cannot be negative."),
        ("5.123", "The amount can have at most 2 decimals."),
        ("abc", "is not an amount"),
        ("1.250", "The amount can have at most 2 decimals."),
        ("1.250,505", "The amount can have at most 2 decimals."),
        ("1,2345", "is not an amount"),
        ("12 50", "is not an amount"),
        ("1 25,50", "is not an amount"),
        ("1.25,50", "is not an amount"),
        ("1,250,5", "is not an amount"),
        ("1 250,50 USD", "The amount must be in CUP."),
        ("-1 250,50", "The amount cannot be negative."),
        ("1,23.00", "is not an amount"),
        ("5.", "is not an amount"),
        (".5", "is not an amount"),
        ("1e5", "is not an amount"),
        ("NaN", "is not an amount"),
        ("inf", "is not an amount"),
        ("٣", "is not an amount"),
        ("5 USD", "The amount must be in CUP."),
        ("abc def", "is not an amount"),
        ("5 5 CUP", "is not an amount"),
        ("1" + "0" * 12, "The amount is too large."),
        ("9" * 5000, "The amount is too large."),  # refused before int() reads it all
        ("0,500", "is not an amount"),
        ("0.250,50", "is not an amount"),
        ("0 250", "is not an amount"),
        ("'; DROP TABLE plan; --", "is not an amount"),
    ],
)
def test_parse_refuses_junk_with_a_clear_message(text, message):
    with pytest.raises(InvalidAmount) as caught:
        Money.parse(text, "CUP")
    assert message in str(caught.value.detail)


def test_a_comma_followed_by_as_many_digits_as_the_currency_has_decimals_marks_them():
    assert Money.parse("1,234", "CUP") == Money(123400, "CUP")  # two decimals: thousands
    assert Money.parse("1,234", "KWD") == Money(1234, "KWD")  # three: decimals
    assert Money.parse("1,234", "JPY") == Money(1234, "JPY")  # none: thousands


def test_a_price_reads_with_its_currency_code_in_spanish_and_english():
    assert format_money(Money(5000, "CUP"), "es_CU") == "50.00 CUP"
    assert format_money(Money(5000, "CUP"), "en_US") == "50.00 CUP"
    assert format_money(Money(123450, "CUP"), "es_CU") == "1,234.50 CUP"
    assert format_money(Money(5, "USD"), "en_US") == "0.05 USD"


def test_format_never_shows_a_bare_dollar_sign():
    assert "$" not in format_money(Money(5000, "CUP"), "es_CU")
    assert "$" not in format_money(Money(5000, "USD"), "en_US")


def test_money_refuses_float_and_bool_amounts_and_unknown_currencies():
    with pytest.raises(TypeError):
        Money(50.0, "CUP")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "CUP")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(5000, "XXQ")


def test_money_is_immutable():
    price = Money(5000, "CUP")
    with pytest.raises(AttributeError):
        price.minor = 1  # type: ignore[misc]


def test_multiplying_by_a_quantity_keeps_the_currency_and_refuses_fractions():
    assert Money(5000, "CUP") * 3 == Money(15000, "CUP")
    assert 3 * Money(5000, "CUP") == Money(15000, "CUP")
    with pytest.raises(TypeError):
        Money(5000, "CUP") * 1.5  # type: ignore[operator]


def test_str_is_plain_and_exact():
    assert str(Money(123456789, "CUP")) == "1234567.89 CUP"
    assert str(Money(-5, "CUP")) == "-0.05 CUP"


@given(amounts, currencies, st.sampled_from(["es_CU", "en_US"]))
def test_parse_reads_back_what_format_wrote(minor, currency, locale):
    money = Money(minor, currency)
    assert Money.parse(format_money(money, locale), currency) == money


@given(signed, signed, signed, currencies)
def test_addition_is_associative(a, b, c, currency):
    x, y, z = (Money(n, currency) for n in (a, b, c))
    assert (x + y) + z == x + (y + z)


@given(signed, signed)
def test_adding_subtracting_or_ordering_two_currencies_raises(a, b):
    cup, usd = Money(a, "CUP"), Money(b, "USD")
    for combine in (
        lambda: cup + usd,
        lambda: cup - usd,
        lambda: cup < usd,
        lambda: cup <= usd,
        lambda: cup > usd,
        lambda: cup >= usd,
    ):
        with pytest.raises(CurrencyMismatch):
            combine()


@given(signed, signed)
def test_same_currency_amounts_order_by_their_minor_units(a, b):
    assert (Money(a, "CUP") < Money(b, "CUP")) == (a < b)
    assert (Money(a, "CUP") == Money(b, "CUP")) == (a == b)


def test_equal_minor_units_in_two_currencies_are_not_equal():
    assert Money(100, "CUP") != Money(100, "USD")


@pytest.mark.parametrize(
    ("cup", "rate", "charged"),
    [
        (5000, "120", Money(42, "USD")),  # 0.41666... rounded up to the cent
        (12000, "120.00", Money(100, "USD")),  # exact: nothing added
        (1, "130.5", Money(1, "EUR")),  # a centavo still costs a cent
        (150000, "24", Money(6250, "USD")),
    ],
)
def test_converting_rounds_up_so_the_store_never_receives_less(cup, rate, charged):
    assert Money(cup, "CUP").convert(charged.currency, Decimal(rate)) == charged


@pytest.mark.parametrize("rate", [Decimal(0), Decimal(-120), 120.0, "120"])
def test_converting_needs_a_positive_decimal_rate(rate):
    with pytest.raises(ValueError, match="positive Decimal"):
        Money(5000, "CUP").convert("USD", rate)
