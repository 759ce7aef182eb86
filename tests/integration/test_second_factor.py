"""The second factor's use cases against the database, under concurrency too."""

from __future__ import annotations

import pyotp

from store.accounts.models import Role
from store.staff.services import CodeAlreadyUsed, Verified, verify


def test_one_code_sent_by_five_requests_at_once_is_accepted_once(desk, run_at_once):
    user_id = desk.hire("admin@example.com", Role.ADMIN)
    secret, _codes = desk.enrol(user_id)
    code = pyotp.TOTP(secret).now()

    results = run_at_once(5, lambda i: verify(user_id, code))

    assert sum(isinstance(result, Verified) for result in results) == 1
    assert sum(isinstance(result, CodeAlreadyUsed) for result in results) == 4, results


def test_one_recovery_code_sent_by_five_requests_at_once_is_accepted_once(desk, run_at_once):
    user_id = desk.hire("admin@example.com", Role.ADMIN)
    _secret, codes = desk.enrol(user_id)

    results = run_at_once(5, lambda i: verify(user_id, codes[0]))

    assert sum(isinstance(result, Verified) for result in results) == 1, results
