"""Money as integer minor units with an ISO 4217 currency. Never float.

``Money(5000, "CUP")`` is fifty Cuban pesos. Adding, subtracting or ordering amounts in two
currencies raises ``CurrencyMismatch``; ``==`` simply says they differ. Amounts typed by
people are read with ``Money.parse`` and shown with ``format_money`` (Babel), always with
the currency code ("50.00 CUP"), never a bare "$" that could mean several currencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from functools import total_ordering

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies
from flask_babel import lazy_gettext as _l

from store.errors import InvalidInput

# The largest amount the store accepts: a trillion units, far below a BIGINT's limit.
MAX_MAJOR_UNITS = 10**12
_KNOWN_CURRENCIES = frozenset(list_currencies())
# Whole units with thousands separated by spaces ("1 250"), then by a separator given.
# Grouped thousands never start with 0: "0,500" is no amount.
_SPACED = r"[1-9][0-9]{0,2}(?: [0-9]{3})+"
# "1234", "1,234", "1 234", "1,234.5", "1234.50": a point before the decimals.
_POINT_DECIMALS = re.compile(
    rf"(?P<whole>[1-9][0-9]{{0,2}}(?:,[0-9]{{3}})+|{_SPACED}|[0-9]+)(?:\.(?P<fraction>[0-9]+))?"
)
# "50,5", "1 250,50", "1.250,50": a comma before the decimals.
_COMMA_DECIMALS = re.compile(
    rf"(?P<whole>[1-9][0-9]{{0,2}}(?:\.[0-9]{{3}})+|{_SPACED}|[0-9]+),(?P<fraction>[0-9]+)"
)
# Spaces people (and locales) put between thousands: plain, no-break and narrow no-break.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})
_PATTERN = "#,##0.00 ¤¤"  # ¤¤ is the ISO code: "1,234.50 CUP"


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined or ordered: a programming error."""


class InvalidAmount(InvalidInput):
    """Text given as an amount of money is not one."""

    title = _l("The amount is not valid")


def _precision(currency: str) -> int:
    return get_currency_precision(currency)


def _read(amount: str, digits: int) -> tuple[int, str] | None:
    """The whole units and the decimals' digits of ``amount``, or None when it is no amount.

    ``digits`` is the currency's number of decimals: it decides whether "1,234" is a
    thousand and more (CUP, two decimals) or one and a bit (a currency with three).
    """
    match = _COMMA_DECIMALS.fullmatch(amount)
    if match and ("." in match["whole"] or 1 <= len(match["fraction"]) <= digits):
        return _whole(match["whole"]), match["fraction"]
    match = _POINT_DECIMALS.fullmatch(amount)
    if match:
        return _whole(match["whole"]), match["fraction"] or ""
    return None


def _whole(text: str) -> int:
    """The whole units written in ``text`` (digits and thousands separators); too many
    digits read as MAX_MAJOR_UNITS, which parse() refuses, without converting them all."""
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) > len(str(MAX_MAJOR_UNITS)):
        return MAX_MAJOR_UNITS
    return int(digits)


@total_ordering
@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (cents, centavos) of one currency; immutable."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:  # bool and float are refused alike
            raise TypeError(f"Money.minor must be an int, got {type(self.minor).__name__}")
        if self.currency not in _KNOWN_CURRENCIES:
            raise ValueError(f"unknown currency code {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Read an amount typed by a person ("50", "50.00", "1,234.50", "1 250,50", "50 CUP").

        Thousands may be separated by commas, spaces (no-break ones too) or, when a comma
        marks the decimals, points ("1.250,50"). A comma marks the decimals when it is
        followed by one to the currency's number of decimals ("50,5"), or when points
        separate the thousands; otherwise it separates thousands ("1,234").
        Raises InvalidAmount with a message for the user on junk, negatives, more decimals
        than the currency has, a different currency code, or an absurdly large amount.
        """
        digits = _precision(currency)
        cleaned = " ".join(str(text).translate(_SPACES).split())
        amount, _, code = cleaned.rpartition(" ")
        if code.isalpha() and len(code) == 3 and _read(amount.lstrip("-"), digits):
            if code.upper() != currency:
                raise InvalidAmount(
                    _l("The amount must be in %(currency)s.", currency=currency)
                )
            cleaned = amount
        if not cleaned:
            raise InvalidAmount(_l("Enter an amount."))
        if cleaned.startswith("-"):
            raise InvalidAmount(_l("The amount cannot be negative."))
        parts = _read(cleaned, digits)
        if parts is None:
            raise InvalidAmount(
                _l("“%(text)s” is not an amount. Write it like 50 or 1,234.50.", text=cleaned[:40])
            )
        whole, fraction = parts
        if len(fraction) > digits:
            raise InvalidAmount(
                _l("The amount can have at most %(digits)d decimals.", digits=digits)
            )
        if whole >= MAX_MAJOR_UNITS:
            raise InvalidAmount(_l("The amount is too large."))
        return cls(whole * 10**digits + int(fraction.ljust(digits, "0") or 0), currency)

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._check(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._check(other).minor, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if type(quantity) is not int:
            raise TypeError("Money can only be multiplied by a whole number")
        return Money(self.minor * quantity, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._check(other).minor

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def to_decimal(self) -> Decimal:
        """Return the amount in major units as an exact Decimal."""
        return Decimal(self.minor).scaleb(-_precision(self.currency))

    def __str__(self) -> str:
        return f"{self.to_decimal():.{_precision(self.currency)}f} {self.currency}"

    def convert(self, currency: str, rate: Decimal) -> Money:
        """This amount in ``currency``, at ``rate`` units of this currency per unit of that one.

        Rounded up to ``currency``'s smallest unit, so what is received is never less than
        this amount at that rate ("5000.00 CUP" at 120 CUP per USD is 41.67 USD).
        """
        if not isinstance(rate, Decimal) or rate <= 0:
            raise ValueError(f"an exchange rate must be a positive Decimal, got {rate!r}")
        digits = _precision(currency)
        major = (self.to_decimal() / rate).quantize(Decimal(1).scaleb(-digits), ROUND_UP)
        return Money(int(major.scaleb(digits)), currency)


def format_money(money: Money, locale: str | Locale = "es_CU") -> str:
    """Format ``money`` for people: "1,234.50 CUP" in es_CU and en_US alike."""
    try:
        locale = Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("es_CU")
    return format_currency(
        money.to_decimal(), money.currency, format=_PATTERN, locale=locale, currency_digits=True
    )
