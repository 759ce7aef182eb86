"""Licence key format: random keys people can type, with a check group that catches typos.

A generated key is 32 characters from a 31-symbol alphabet, in eight groups of four::

    7KQ2-M9XD-0TRF-4HWB-CC5N-Y8PA-J3GE-XXXX
    |----------- 28 random symbols -------| check group

28 random symbols carry 28 * log2(31) = 138.7 bits from ``secrets``. The alphabet has no
I, L, O, U or Z, so nothing reads as 1, 0, V or 2; when people type those letters anyway,
``normalise`` maps them to the symbol they meant.

The check group is three symbols of SHA-256 of the random part, then one symbol chosen so
that sum(w_i * v_i) over all 32 symbols is 0 modulo 31, with weights w_i = (i mod 30) + 1.
Because 31 is prime, every weight is non-zero and neighbouring weights differ, so:

* changing any one symbol changes the sum by w_i * (a - b) != 0 (mod 31), and
* swapping two different neighbours changes it by (w_i - w_i+1) * (b - a) != 0 (mod 31);

every single substitution and every adjacent transposition is detected, whatever the
position, check group included. The hash symbols also catch most other typos.
"""

from __future__ import annotations

import hashlib
import secrets

from flask_babel import lazy_gettext as _l

from store.errors import InvalidInput
from store.vault import SEPARATORS

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXY"
BASE = len(ALPHABET)  # 31, a prime: the check arithmetic is in a field
VALUES = {symbol: value for value, symbol in enumerate(ALPHABET)}
RANDOM_SYMBOLS = 28
HASH_SYMBOLS = 3
KEY_SYMBOLS = RANDOM_SYMBOLS + HASH_SYMBOLS + 1
GROUP = 4
# Letters people type for the symbols they meant.
LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V", "Z": "2"})


class InvalidKey(InvalidInput):
    """Text given as a licence key is not one of this store's keys."""

    title = _l("The licence key is not valid")
    code = "INVALID_KEY"


def _weight(position: int) -> int:
    return position % (BASE - 1) + 1


def _hash_symbols(random_part: str) -> str:
    digest = hashlib.sha256(random_part.encode("ascii")).digest()
    return "".join(ALPHABET[byte % BASE] for byte in digest[:HASH_SYMBOLS])


def _weighted_sum(symbols: str) -> int:
    return sum(_weight(i) * VALUES[s] for i, s in enumerate(symbols)) % BASE


def _check_symbol(body: str) -> str:
    """The last symbol: makes the weighted sum over the whole key 0 (mod 31)."""
    last_weight = _weight(len(body))
    # Solve last_weight * v == -sum (mod 31); pow(w, -1, 31) is the inverse in the field.
    value = (-_weighted_sum(body) * pow(last_weight, -1, BASE)) % BASE
    return ALPHABET[value]


def group(symbols: str) -> str:
    """Write symbols in dash-separated groups of four."""
    return "-".join(symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP))


def generate() -> str:
    """Return a new random key, grouped, with its check group."""
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    body = random_part + _hash_symbols(random_part)
    return group(body + _check_symbol(body))


def is_valid(symbols: str) -> bool:
    """True when ``symbols`` (ungrouped, canonical) passes both checks."""
    if len(symbols) != KEY_SYMBOLS or any(s not in VALUES for s in symbols):
        return False
    random_part = symbols[:RANDOM_SYMBOLS]
    hashed = symbols[RANDOM_SYMBOLS : RANDOM_SYMBOLS + HASH_SYMBOLS]
    return _weighted_sum(symbols) == 0 and _hash_symbols(random_part) == hashed


def in_store_format(text: str) -> bool:
    """True when ``text`` has the shape of this store's keys (32 symbols of its alphabet,
    case, spaces, dashes and look-alikes aside), whether or not its check group holds."""
    symbols = str(text).strip().upper().translate(SEPARATORS).translate(LOOK_ALIKES)
    return len(symbols) == KEY_SYMBOLS and all(s in VALUES for s in symbols)


def normalise(text: str) -> str:
    """Turn a key as typed by a person into its canonical grouped form.

    Trims, upper-cases, drops spaces and dashes, maps look-alike letters, then checks the
    length, the symbols and the check group. Raises InvalidKey with the reason.
    """
    symbols = str(text).strip().upper().translate(SEPARATORS).translate(LOOK_ALIKES)
    if len(symbols) != KEY_SYMBOLS:
        raise InvalidKey(
            _l(
                "A licence key has %(expected)d letters and digits; this one has %(got)d.",
                expected=KEY_SYMBOLS,
                got=len(symbols),
            )
        )
    if any(s not in VALUES for s in symbols):
        raise InvalidKey(_l("The licence key contains characters that keys never have."))
    if not is_valid(symbols):
        raise InvalidKey(_l("The licence key has a typo. Please check it and try again."))
    return group(symbols)
