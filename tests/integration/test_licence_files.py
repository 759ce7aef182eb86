"""Signed licence files built from issued licences, and their verification."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from store.dbtypes import utcnow
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
from store.signing import (
    Signer,
    b64decode,
    b64encode,
    get_signer,
    new_signing_seed,
    signer_from_config,
)
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


def test_any_other_spelling_of_the_signature_is_refused(licence):
    """Every character of the signature's text changed, and padding added: lenient base64
    would ignore the last character's unused bits or the padding."""
    document = licence_file(licence, now=NOW)
    keys = get_signer().public_keys()
    text = document["signature"]
    spellings = [text + "==", text + "=", " " + text]
    for index, character in enumerate(text):
        spellings += [text[:index] + other + text[index + 1:]
                      for other in "AQgw_-" if other != character]
    for spelling in spellings:
        with pytest.raises(InvalidLicenceFile):
            verify_licence_file({**document, "signature": spelling}, keys)


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
    lambda d: d["licence"].update(seats=2**53),  # beyond what every JSON reader reads exactly
    lambda d: d["licence"].update(licence_id=-1),
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


# The command line: `flask store new-signing-key` and `flask store verify-licence FILE`.

def saved(tmp_path, document, name="licencia.json"):
    path = tmp_path / name
    path.write_text(licence_file_text(document), encoding="utf-8")
    return path


def run(app, *args):
    return app.test_cli_runner().invoke(args=["store", *args])


def run_in(app, *args):
    """Run a command in ``app`` (a command uses the app whose context is current)."""
    with app.app_context():
        return run(app, *args)


def test_a_new_signing_key_entry_is_accepted_by_the_configuration_with_its_public_key(
    app, tmp_path
):
    result = run(app, "new-signing-key", "--id", "sk-2027")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    entry, public = lines[1], lines[3]
    assert "STORE_SIGNING_KEYS" in lines[0] and "clave pública" in lines[2]
    signer = signer_from_config({"STORE_SIGNING_KEYS": entry}, tmp_path)
    assert signer.public_keys() == [
        {"key_id": "sk-2027", "algorithm": "Ed25519", "public_key": public}]
    assert run(app, "new-signing-key").output.splitlines()[1].startswith("sk-2")


def test_a_new_signing_key_refuses_a_bad_id(app):
    result = run(app, "new-signing-key", "--id", "bad id!")

    assert result.exit_code == 2
    assert "no es un id de clave" in result.output


def test_verify_licence_says_a_genuine_file_is_valid(app, licence, tmp_path):
    path = saved(tmp_path, licence_file(licence, now=NOW))

    result = run(app, "verify-licence", str(path))

    assert result.exit_code == 0, result.output
    assert f"Válido: licencia {licence.id}, Almiquí Antivirus Hogar (1 año · 1 PC)" in result.output
    assert "dispositivos: 3" in result.output and "caducó" not in result.output


def test_verify_licence_says_an_expired_licence_is_genuine_but_expired(app, licence, tmp_path):
    licence.expires_at = datetime(2021, 1, 1, tzinfo=UTC)
    db.session.commit()
    path = saved(tmp_path, licence_file(licence, now=NOW))

    result = run(app, "verify-licence", str(path))

    assert result.exit_code == 0 and "Atención: esta licencia ya caducó." in result.output


def test_verify_licence_refuses_an_edited_file_with_exit_status_1(app, licence, tmp_path):
    path = saved(tmp_path, licence_file(licence, now=NOW))
    path.write_text(path.read_text(encoding="utf-8").replace('"seats": 3', '"seats": 30'),
                    encoding="utf-8")

    result = run(app, "verify-licence", str(path))

    assert result.exit_code == 1
    assert "No es válido: La firma no coincide: el archivo fue modificado." in result.output


def test_verify_licence_accepts_an_old_key_while_configured_and_refuses_it_once_removed(
    make_app, tmp_path
):
    old, new = (f"{name}:{new_signing_seed()}" for name in ("sk-old", "sk-new"))
    before = make_app(STORE_SIGNING_KEYS=old)
    with before.app_context():
        product = make_product(plans=[])
        order = make_order(make_plan(product, sku="GEN-2"))
        db.session.commit()
        require_write()
        path = saved(tmp_path, licence_file(services.issue(order.lines[0])[0], now=NOW))
        db.session.commit()

    rotated = run_in(make_app(STORE_SIGNING_KEYS=f"{new},{old}"), "verify-licence", str(path))
    removed = run_in(make_app(STORE_SIGNING_KEYS=new), "verify-licence", str(path))

    assert rotated.exit_code == 0, rotated.output
    assert removed.exit_code == 1 and "una clave que esta tienda no conoce (sk-old)" in (
        removed.output)


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe not text", "no es JSON en UTF-8"),
    (b"{", "no es JSON en UTF-8"),
    (b"[]", "exactamente"),
    (b" " * (64 * 1024 + 1), "demasiado grande"),
])
def test_verify_licence_refuses_what_is_no_licence_file_with_exit_status_1(
    app, tmp_path, content, message
):
    path = tmp_path / "x.json"
    path.write_bytes(content)

    result = run(app, "verify-licence", str(path))

    assert result.exit_code == 1 and message in result.output


def test_verify_licence_cannot_read_a_missing_file_or_a_folder_exit_status_2(app, tmp_path):
    missing = run(app, "verify-licence", str(tmp_path / "none.json"))
    folder = run(app, "verify-licence", str(tmp_path))
    no_argument = run(app, "verify-licence")

    assert missing.exit_code == 2 and "No se puede leer" in missing.output
    assert folder.exit_code == 2
    assert no_argument.exit_code == 2


# The standalone verifier published in the docs, run as a client would run it.

DOCS = Path(__file__).resolve().parents[2] / "docs"
VERIFIER = re.compile(r"#+ A verifier in a few lines\n.*?```python\n(.*?)```", re.DOTALL)


def published_verifier(tmp_path) -> Path:
    """The documented verifier, from whichever doc holds it (docs/api.md)."""
    blocks = [VERIFIER.search(path.read_text(encoding="utf-8")) for path in DOCS.glob("*.md")]
    found = [block[1] for block in blocks if block]
    assert len(found) == 1, "exactly one doc publishes the verifier"
    path = tmp_path / "verify_licence.py"
    path.write_text(found[0], encoding="utf-8")
    return path


def run_verifier(script, tmp_path, document, keys) -> subprocess.CompletedProcess:
    licence_path = saved(tmp_path, document)
    keys_path = tmp_path / "signing-keys.json"
    keys_path.write_text(json.dumps({"keys": keys}), encoding="utf-8")
    return subprocess.run([sys.executable, str(script), str(licence_path), str(keys_path)],
                          capture_output=True, text=True, timeout=60)


def test_the_documented_verifier_accepts_a_genuine_file(licence, tmp_path):
    script = published_verifier(tmp_path)

    result = run_verifier(script, tmp_path, licence_file(licence, now=utcnow()),
                          get_signer().public_keys())

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"valid: licence {licence.id}, Almiquí Antivirus Hogar")


def test_the_documented_verifier_refuses_tampered_unknown_key_and_expired_files(
    licence, tmp_path
):
    script = published_verifier(tmp_path)
    keys = get_signer().public_keys()
    genuine = licence_file(licence, now=utcnow())
    tampered = copy.deepcopy(genuine)
    tampered["licence"]["seats"] = 30
    licence.expires_at = datetime(2021, 1, 1, tzinfo=UTC)
    expired = licence_file(licence, now=utcnow())
    other_keys = Signer([("sk-other", b64decode(new_signing_seed()))]).public_keys()

    results = {
        "tampered": run_verifier(script, tmp_path, tampered, keys),
        "unknown key": run_verifier(script, tmp_path, genuine, other_keys),
        "expired": run_verifier(script, tmp_path, expired, keys),
        "not a licence": run_verifier(script, tmp_path, {"licence": []}, keys),
    }

    assert {name: r.returncode for name, r in results.items()} == dict.fromkeys(results, 1)
    assert "the file was altered" in results["tampered"].stderr
    assert "unknown key" in results["unknown key"].stderr
    assert "expired on 2021-01-01T00:00:00Z" in results["expired"].stderr
