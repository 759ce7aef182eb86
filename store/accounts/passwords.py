"""The password rule, shared by the web forms and ``flask store create-user``.

At least 10 characters, and not weak or common as judged by zxcvbn (a score of 3 or more,
with the person's own email and name counted as guessable words). Stored hashed with
scrypt (werkzeug.security).
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 200  # zxcvbn's time grows with the length; nobody types more
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable", about 10^8 guesses


def password_problem(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` is refused, in the user's language, or None when it is good."""
    if len(password) < MIN_LENGTH:
        return str(_l("Use at least %(num)d characters.", num=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(_l("Use at most %(num)d characters.", num=MAX_LENGTH))
    words = _guessable_words(user_inputs)
    if zxcvbn(password, user_inputs=words)["score"] < MIN_SCORE:
        return str(_l(
            "This password is too easy to guess. Try a few unrelated words, or a longer phrase."
        ))
    return None


def _guessable_words(user_inputs: tuple[str, ...]) -> list[str]:
    """The person's own words as an attacker would try them: each word, accents dropped,
    and all of them run together ("Ana Pérez" gives ana, perez and anaperez)."""
    words = []
    for text in user_inputs:
        folded = "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold())
                         if not unicodedata.combining(ch))
        parts = [part for part in re.split(r"[^a-z0-9]+", folded) if part]
        words.extend(parts + ["".join(parts)])
    return words


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def password_matches(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)
