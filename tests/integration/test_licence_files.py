"""Signed licence files built from issued licences, and their verification."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from store.extensions import db
from store.licensing import services
from store.licensing.files import (
    InvalidLicenceFile,
    NoLicenceFile,
    licence_file,
    licence_file_name,
    licence_file_text,
    verify_licence_file,
)
from store.licensing.models import LicenceStatus
from store.signing import Signer, b64decode, b64encode, get_signer, new_signing_seed
from store.unit_of_work import require_write
from store.vault import lookup_form, reveal
from tests.factories import make_order, make_plan, make_product

pytestmark = pytest.mark.usefixtures("app_context")
NOW = datetime(2026, 11, 29, 12, 30, 5, 999, tzinfo=UTC)


@pytest.fixture
def licence():
    product = make_product(name="Almiquí Antivirus Hogar", plans=[])
    plan = make_plan(product, name="1 año · 1 PC", sku="GEN-1", seats=3, duration_days=365)
    order = make_order(plan)
    db.session.commit()
    require_write()
    issued = services.issue(order.lines[0])[0]
    db.session.commit()
    require_write()
    return issued


def test_the_file_says_what_the_licence_is_signed_by_the_newest_key_without_its_key(licence):
    document = licence_file(licence, now=NOW)

    assert set(document) == {"licence", "signature"}
    assert document["licence"] == {
        "format": 1, "licence_id": licence.id, "product": "Almiquí Antivirus Hogar",
        "plan": "1 año · 1 PC", "seats": 3,
        "starts_at": licence.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": licence.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "issued_at": "2026-11-29T12:30:05Z", "key_id": get_signer().newest_id,
    }
    text = licence_file_text(document)
    assert lookup_form(reveal(licence)) not in lookup_form(text)
    assert verify_licence_file(json.loads(text), get_signer().public_keys()) == document["licence"]
    assert licence_file_name(licence) == f"licencia-{licence.id}.json"


@pytest.mark.parametrize("status", [LicenceStatus.REVOKED, LicenceStatus.REFUNDED])
def test_a_revoked_or_refunded_licence_gets_no_file(licence, status):
    services.revoke(licence, reason="test", actor="support:ana", status=status)
    db.session.commit()

    with pytest.raises(NoLicenceFile) as raised:
        licence_file(licence, now=NOW)
    assert raised.value.status == 409
    assert "ya no funciona" in str(raised.value.detail)


def test_a_licence_replaced_by_a_reissue_gets_no_file_and_its_replacement_does(licence):
    new = services.reissue(licence, reason="key leaked", actor="support:ana")
    db.session.commit()

    with pytest.raises(NoLicenceFile, match="se sustituyó"):
        licence_file(licence, now=NOW)
    assert licence_file(new, now=NOW)["licence"]["licence_id"] == new.id


def test_changing_any_byte_of_the_signed_licence_or_its_signature_makes_it_invalid(licence):
    """Each byte of the file's canonical licence object and of the signature, changed."""
    document = licence_file(licence, now=NOW)
    keys = get_signer().public_keys()
    body = json.dumps(document["licence"], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()
    tried = 0
    for index in range(len(body)):
        altered = bytearray(body)
        altered[index] ^= 0x01
        try:
            changed = json.loads(altered.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue  # no longer JSON: a reader refuses it before any signature check
        with pytest.raises(InvalidLicenceFile):
            verify_licence_file({"licence": changed, "signature": document["signature"]}, keys)
        tried += 1
    raw = b64decode(document["signature"])
    for index in range(len(raw)):
        altered = bytearray(raw)
        altered[index] ^= 0x80
        with pytest.raises(InvalidLicenceFile, match="fue modificado"):
            verify_licence_file({**document, "signature": b64encode(bytes(altered))}, keys)
    assert tried > len(body) // 2


def test_a_file_from_a_key_no_longer_configured_is_refused_by_name(licence):
    document = licence_file(licence, now=NOW)
    others = Signer([("sk-other", b64decode(new_signing_seed()))]).public_keys()

    with pytest.raises(InvalidLicenceFile, match=document["licence"]["key_id"]):
        verify_licence_file(document, others)


@pytest.mark.parametrize("spoil", [
    lambda d: d.pop("signature"),
    lambda d: d.update(extra=1),
    lambda d: d["licence"].pop("seats"),
    lambda d: d["licence"].update(seats="3"),
    lambda d: d["licence"].update(seats=True),
    lambda d: d["licence"].update(seats=3.0),
    lambda d: d["licence"].update(format=2),
    lambda d: d["licence"].update(expires_at="2027-11-29"),
    lambda d: d["licence"].update(product="x" * 201),
    lambda d: d.update(signature=None),
    lambda d: d.update(licence=[]),
])
def test_a_malformed_file_is_refused_with_a_reason_not_a_crash(licence, spoil):
    document = copy.deepcopy(licence_file(licence, now=NOW))
    spoil(document)

    with pytest.raises(InvalidLicenceFile) as raised:
        verify_licence_file(document, get_signer().public_keys())
    assert raised.value.detail


@pytest.mark.parametrize("document", [None, [], "text", 42])
def test_something_that_is_not_a_licence_file_at_all_is_refused(document):
    with pytest.raises(InvalidLicenceFile):
        verify_licence_file(document, [])
