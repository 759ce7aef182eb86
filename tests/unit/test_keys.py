"""Licence key format: random, typeable, and every single typo or neighbour swap is caught."""

from __future__ import annotations

import math
import re

import pytest

from store.licensing import keys
from store.licensing.keys import ALPHABET, InvalidKey, generate, is_valid, normalise

KEY_SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Y]{4}(?:-[0-9A-HJKMNP-TV-Y]{4}){7}")


def test_a_generated_key_is_eight_groups_of_four_from_the_alphabet():
    key = generate()
    assert KEY_SHAPE.fullmatch(key), key
    assert not set("ILOUZ") & set(key)


def test_generated_keys_carry_at_least_128_random_bits():
    assert keys.RANDOM_SYMBOLS * math.log2(len(ALPHABET)) >= 128
    assert len(ALPHABET) == len(set(ALPHABET)) == 31


def test_ten_thousand_generated_keys_are_all_different_and_valid():
    batch = [generate() for _ in range(10_000)]
    assert len(set(batch)) == 10_000
    assert all(is_valid(key.replace("-", "")) for key in batch)


def test_every_single_substitution_and_adjacent_swap_is_detected_on_300_keys():
    undetected = []
    for _ in range(300):
        symbols = generate().replace("-", "")
        for i, original in enumerate(symbols):
            for other in ALPHABET:
                if other != original and is_valid(symbols[:i] + other + symbols[i + 1 :]):
                    undetected.append(("substitution", symbols, i, other))
        for i in range(len(symbols) - 1):
            a, b = symbols[i], symbols[i + 1]
            if a != b and is_valid(symbols[:i] + b + a + symbols[i + 2 :]):
                undetected.append(("swap", symbols, i))
    assert undetected == []


def test_normalise_accepts_keys_as_people_type_them():
    key = generate()
    typed = "  " + key.lower().replace("-", " ") + "\n"
    assert normalise(typed) == key
    assert normalise(key.replace("-", "")) == key
    assert normalise(key.replace("-", "\u2013")) == key  # an en dash from a word processor


def test_normalise_maps_look_alike_letters_to_the_symbols_they_resemble():
    key = next(k for k in iter(generate, None) if set("012V") & set(k))
    typed = key.translate(str.maketrans({"0": "O", "1": "l", "2": "Z", "V": "U"}))
    assert normalise(typed) == key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "has 32 letters and digits; this one has 0"),
        ("ABCD-EFGH", "has 32 letters and digits; this one has 8"),
        ("ÁBCD" + "A" * 28, "characters that keys never have"),
        ("#" * 32, "characters that keys never have"),
    ],
)
def test_normalise_refuses_malformed_keys_with_the_reason(text, message):
    with pytest.raises(InvalidKey) as caught:
        normalise(text)
    assert message in str(caught.value.detail)


def test_normalise_reports_a_typo_without_echoing_the_key():
    key = generate()
    wrong = ("1" if key[0] != "1" else "2") + key[1:]
    with pytest.raises(InvalidKey) as caught:
        normalise(wrong)
    assert "typo" in str(caught.value.detail)
    assert wrong not in str(caught.value.detail) and wrong[:9] not in str(caught.value)
