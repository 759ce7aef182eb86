"""Account use cases against the database: one account per email, even at once."""

from __future__ import annotations

from store.accounts.models import User
from store.accounts.services import EmailTaken, NewAccount, register
from tests.conftest import Shopper


def test_five_simultaneous_registrations_of_one_email_make_one_account(app, run_at_once, count):
    def sign_up(i: int):
        return register(NewAccount(email=f"{'ANA' if i % 2 else 'ana'}@example.com",
                                   name=f"Ana {i}", password=Shopper.PASSWORD)).id

    results = run_at_once(5, sign_up)

    created = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, EmailTaken)]
    assert (len(created), len(refused)) == (1, 4), results
    assert count(User) == 1
