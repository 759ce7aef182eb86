"""Activations against the database: every answer of a check, seats taken and freed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from store.audit.models import AuditEvent
from store.dbtypes import utcnow
from store.errors import InvalidInput, NotFound
from store.extensions import db
from store.licensing import activations, keys
from store.licensing.activations import Code, LicenceNotFound, LicenceUnusable, TooManyActivations
from store.licensing.models import Activation, Licence, LicenceStatus
from store.licensing.services import reissue, revoke
from store.unit_of_work import use_case
from tests.factories import issue_licence

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def licence() -> tuple[str, int]:
    """A three-seat licence: (key, id)."""
    return issue_licence(seats=3)


def seats_of(licence_id: int) -> list[Activation]:
    return list(db.session.scalars(
        sa.select(Activation).where(Activation.licence_id == licence_id).order_by(Activation.id)))


def set_licence(licence_id: int, **values) -> None:
    db.session.execute(sa.update(Licence).where(Licence.id == licence_id).values(**values))
    db.session.commit()


def typo(key: str) -> str:
    """The key with its first symbol changed: the check group catches it."""
    first = keys.ALPHABET[(keys.ALPHABET.index(key[0]) + 1) % keys.BASE]
    return first + key[1:]


def test_a_usable_key_checks_valid_with_its_licence(licence):
    key, licence_id = licence

    answer = activations.check(key)

    line = db.session.get(Licence, licence_id).order_line
    assert answer.valid and answer.code == Code.VALID
    assert (answer.product, answer.plan) == (line.product_name, line.plan_name)
    assert (answer.seats, answer.activations) == (3, 0)
    assert answer.expires_at == db.session.get(Licence, licence_id).expires_at.replace(microsecond=0)


def test_a_key_is_found_however_it_is_typed(licence):
    key, _ = licence
    typed = " " + key.lower().replace("-", " ").replace("0", "o").replace("1", "l") + " "

    assert activations.check(typed).code == Code.VALID


def test_an_unknown_key_checks_not_found(licence):
    assert activations.check("VENDOR-NOBODY-0001").code == Code.NOT_FOUND
    assert activations.check(keys.generate()).code == Code.NOT_FOUND


def test_a_mistyped_store_key_is_refused_before_any_query(licence, count_queries):
    key, _ = licence

    with count_queries() as counter, pytest.raises(keys.InvalidKey) as refused:
        activations.check(typo(key))

    assert refused.value.code == "INVALID_KEY"
    assert counter.count == 0


@pytest.mark.parametrize(("change", "code"), [
    ({"expires_at": utcnow() - timedelta(seconds=1)}, Code.EXPIRED),
    ({"status": LicenceStatus.EXPIRED}, Code.EXPIRED),
    ({"status": LicenceStatus.REVOKED}, Code.REVOKED),
    ({"status": LicenceStatus.REFUNDED}, Code.REFUNDED),
])
def test_a_licence_that_cannot_be_used_checks_with_its_reason_and_takes_no_device(
    licence, change, code
):
    key, licence_id = licence
    set_licence(licence_id, **change)

    assert activations.check(key).code == code
    with pytest.raises(LicenceUnusable) as refused:
        activations.activate(key, "laptop")

    assert (refused.value.status, refused.value.code) == (409, code.value)
    assert seats_of(licence_id) == []


def test_the_old_key_of_a_reissued_licence_checks_revoked_and_the_new_one_valid(licence):
    key, licence_id = licence
    with use_case() as uow:
        replacement = reissue(db.session.get(Licence, licence_id), reason="lost", actor="test")
        new_id = replacement.id
        uow.commit()
    from store.vault import reveal

    assert activations.check(key).code == Code.REVOKED
    assert activations.check(reveal(db.session.get(Licence, new_id))).code == Code.VALID


def test_a_refunded_licence_refuses_activation_with_refunded(licence):
    key, licence_id = licence
    with use_case() as uow:
        revoke(db.session.get(Licence, licence_id), reason="refund", actor="test",
               status=LicenceStatus.REFUNDED)
        uow.commit()

    with pytest.raises(LicenceUnusable) as refused:
        activations.activate(key, "laptop")
    assert refused.value.code == "REFUNDED"


def test_activating_takes_a_seat_and_the_check_on_that_device_is_valid(licence):
    key, licence_id = licence

    answer = activations.activate(key, "laptop-1", "Portátil de Ana")

    assert answer.code == Code.VALID and answer.activations == 1
    (seat,) = seats_of(licence_id)
    assert seat.label == "Portátil de Ana"
    assert activations.check(key, "laptop-1").code == Code.VALID
    assert activations.check(key, "phone-2").code == Code.NOT_ACTIVATED


def test_the_same_device_twice_keeps_one_seat_and_only_moves_last_seen(licence):
    key, licence_id = licence
    first = utcnow() - timedelta(days=2)
    activations.activate(key, "laptop-1", "Portátil", now=first)

    answer = activations.activate(key, "laptop-1", "Otro nombre")

    (seat,) = seats_of(licence_id)
    assert answer.code == Code.VALID and answer.activations == 1
    assert seat.created_at == first and seat.last_seen_at > first
    assert seat.label == "Portátil"


def test_a_fourth_device_on_three_seats_is_refused_and_nothing_is_written(licence):
    key, licence_id = licence
    for device in ("a", "b", "c"):
        activations.activate(key, device)

    with pytest.raises(TooManyActivations) as refused:
        activations.activate(key, "d")

    assert (refused.value.status, refused.value.code) == (409, "TOO_MANY_ACTIVATIONS")
    assert len(seats_of(licence_id)) == 3
    assert activations.check(key, "d").code == Code.TOO_MANY_ACTIVATIONS
    assert activations.check(key, "a").code == Code.VALID
    assert activations.check(key).code == Code.VALID  # the licence itself is fine


def test_activating_an_unknown_key_is_not_found(licence):
    with pytest.raises(LicenceNotFound) as refused:
        activations.activate("VENDOR-NOBODY-0001", "laptop")
    assert (refused.value.status, refused.value.code) == (404, "NOT_FOUND")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activation)) == 0


@pytest.mark.parametrize("label", ["a\x00b", "tab\there", "x" * 81, "\x7f"])
def test_a_label_with_control_characters_or_too_long_is_refused(licence, label):
    key, licence_id = licence

    with pytest.raises(InvalidInput):
        activations.activate(key, "laptop", label)

    assert seats_of(licence_id) == []


def test_deactivating_frees_the_seat_for_another_device(licence):
    key, licence_id = licence
    for device in ("a", "b", "c"):
        activations.activate(key, device)

    answer = activations.deactivate(key, "b")

    assert answer.released is True and answer.code == Code.NOT_ACTIVATED
    assert answer.activations == 2
    assert activations.activate(key, "d").activations == 3
    assert activations.check(key, "b").code == Code.TOO_MANY_ACTIVATIONS


def test_deactivating_a_device_without_a_seat_answers_released_false_and_changes_nothing(licence):
    key, licence_id = licence
    activations.activate(key, "a")

    answer = activations.deactivate(key, "never-activated")

    assert answer.released is False and answer.activations == 1
    assert len(seats_of(licence_id)) == 1


def test_an_expired_licence_still_lets_a_device_free_its_seat(licence):
    key, licence_id = licence
    activations.activate(key, "a")
    set_licence(licence_id, status=LicenceStatus.EXPIRED)

    answer = activations.deactivate(key, "a")

    assert answer.released is True and answer.code == Code.EXPIRED
    assert seats_of(licence_id) == []


def test_deactivating_an_unknown_key_is_not_found():
    with pytest.raises(LicenceNotFound):
        activations.deactivate("VENDOR-NOBODY-0001", "a")


def test_free_seat_frees_that_seat_only(licence):
    key, licence_id = licence
    activations.activate(key, "a")
    activations.activate(key, "b")
    first, second = seats_of(licence_id)

    activations.free_seat(licence_id, first.id)

    assert [seat.id for seat in seats_of(licence_id)] == [second.id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_free_seat_refuses_a_seat_of_another_licence_and_frees_nothing(licence):
    key, licence_id = licence
    other_key, other_id = issue_licence(seats=1)
    activations.activate(other_key, "a")
    (other_seat,) = seats_of(other_id)

    with pytest.raises(NotFound):
        activations.free_seat(licence_id, other_seat.id)
    with pytest.raises(NotFound):
        activations.free_seat(licence_id + 1000, other_seat.id)

    assert len(seats_of(other_id)) == 1


def test_free_all_seats_by_staff_frees_every_seat_and_is_audited(licence):
    key, licence_id = licence
    for device in ("a", "b", "c"):
        activations.activate(key, device)

    freed = activations.free_all_seats(licence_id, actor="support@example.com",
                                       reason="new computer")

    assert freed == 3 and seats_of(licence_id) == []
    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.subject_id, event.reason) == (
        "licence.seats_freed", licence_id, "new computer")
    assert event.details["count"] == 3
    assert activations.free_all_seats(licence_id) == 0


def test_free_all_seats_of_an_unknown_licence_is_not_found():
    with pytest.raises(NotFound):
        activations.free_all_seats(999)


def test_fingerprints_are_stored_only_as_keyed_hashes(licence):
    key, licence_id = licence
    fingerprint = "c0ffee-device-fingerprint-42"

    activations.activate(key, fingerprint, "Mi PC")

    row = db.session.execute(sa.select(Activation.__table__)).one()._asdict()
    assert fingerprint not in " ".join(str(value) for value in row.values())
    assert fingerprint.upper() not in " ".join(str(value) for value in row.values()).upper()
    assert row["fingerprint_hash"] == activations.fingerprint_hash(fingerprint)
    assert len(row["fingerprint_hash"]) == 64


def test_fingerprints_that_differ_only_in_case_are_different_devices(licence):
    key, licence_id = licence

    activations.activate(key, "device-abc")
    activations.activate(key, "DEVICE-ABC")

    assert len(seats_of(licence_id)) == 2


def last_seen(licence_id: int) -> datetime:
    return db.session.scalar(
        sa.select(Activation.last_seen_at).where(Activation.licence_id == licence_id))


def updates(counter) -> list[str]:
    return [s for s in counter.statements if s.lstrip().upper().startswith("UPDATE")]


def test_a_check_on_a_device_unseen_for_an_hour_marks_it_seen_and_answers_as_before(
    licence, count_queries
):
    key, licence_id = licence
    activations.activate(key, "laptop-1", now=utcnow() - timedelta(hours=2))
    before = utcnow()

    with count_queries() as counter:
        answer = activations.check(key, "laptop-1")

    assert answer == activations.check(key, "laptop-1")
    assert (answer.code, answer.activations, answer.released) == (Code.VALID, 1, None)
    assert last_seen(licence_id) >= before
    assert len(updates(counter)) == 1


def test_a_second_check_within_the_hour_writes_nothing(licence, count_queries):
    key, licence_id = licence
    activations.activate(key, "laptop-1", now=utcnow() - timedelta(hours=2))
    activations.check(key, "laptop-1")
    seen = last_seen(licence_id)

    with count_queries() as counter:
        answer = activations.check(key, "laptop-1", now=utcnow() + timedelta(minutes=59))

    assert answer.code == Code.VALID
    assert updates(counter) == [] and last_seen(licence_id) == seen
    assert not any("IMMEDIATE" in s.upper() for s in counter.statements)


def test_a_check_without_a_seat_or_on_an_expired_licence_marks_nothing_seen(licence):
    key, licence_id = licence
    long_ago = utcnow() - timedelta(days=3)
    activations.activate(key, "laptop-1", now=long_ago)

    other_device = activations.check(key, "phone-2")
    set_licence(licence_id, expires_at=utcnow() - timedelta(days=1))
    expired = activations.check(key, "laptop-1")

    assert (other_device.code, expired.code) == (Code.NOT_ACTIVATED, Code.EXPIRED)
    assert last_seen(licence_id) == long_ago
