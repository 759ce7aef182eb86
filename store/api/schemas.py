"""What the licence API accepts and answers: marshmallow schemas, also its OpenAPI document.

Requests refuse unknown fields (``additionalProperties: false`` in the document) and text
with control characters. Answers leave out what they do not know (a key that matches no
licence has no product).
"""

from __future__ import annotations

import unicodedata

import marshmallow as ma
from marshmallow import fields, validate

from store.licensing.activations import FINGERPRINT_LENGTH, LABEL_LENGTH, Code

# Vendor keys are at most 200 characters (store/licensing/importing.py).
KEY_LENGTH = 200


class Printable(validate.Regexp):
    """No control characters (NUL included) and no lone surrogates ("\\ud800" in JSON).

    A Regexp, so the OpenAPI document gives the pattern; the check itself looks at each
    character (Python's ``$`` would let a final newline through).
    """

    def __init__(self) -> None:
        super().__init__(r"^[^\x00-\x1f\x7f-\x9f]*$", error="Control characters are not allowed.")

    def __call__(self, value: str) -> str:
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
            raise ma.ValidationError(self._format_error(value))
        return value


PRINTABLE = Printable()


def _text(length: int, *, required: bool = True, minimum: int = 1, description: str = ""):
    return fields.String(
        required=required, validate=[validate.Length(minimum, length), PRINTABLE],
        metadata={"description": description},
    )


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


KEY = "The licence key as the customer typed it (case, spaces and dashes do not matter)."
TIME = "UTC, to the second: 2027-11-29T00:00:00Z."
FINGERPRINT = ("A stable identifier of this device, made by the client (kept only as a "
               "keyed hash).")


class ValidateRequest(Strict):
    key = _text(KEY_LENGTH, description=KEY)
    fingerprint = _text(FINGERPRINT_LENGTH, required=False,
                        description=FINGERPRINT + " With it, the answer says whether this "
                        "device holds a seat.")


class ActivateRequest(Strict):
    key = _text(KEY_LENGTH, description=KEY)
    fingerprint = _text(FINGERPRINT_LENGTH, description=FINGERPRINT)
    label = _text(LABEL_LENGTH, required=False, minimum=0,
                  description="A name for the device that its owner recognises.")


class DeactivateRequest(Strict):
    key = _text(KEY_LENGTH, description=KEY)
    fingerprint = _text(FINGERPRINT_LENGTH, description=FINGERPRINT)


class FileRequest(Strict):
    key = _text(KEY_LENGTH, description=KEY)


class LicenceAnswer(ma.Schema):
    valid = fields.Boolean(required=True, metadata={"description": "True only for VALID."})
    code = fields.String(required=True, validate=validate.OneOf([c.value for c in Code]))
    product = fields.String()
    plan = fields.String()
    seats = fields.Integer(metadata={"description": "Devices the licence may be active on."})
    activations = fields.Integer(metadata={"description": "Devices it is active on now."})
    expires_at = fields.AwareDateTime(format="iso")

    @ma.post_dump
    def _drop_unknown(self, data: dict, **_kwargs) -> dict:
        return {name: value for name, value in data.items() if value is not None}


class DeactivateAnswer(LicenceAnswer):
    released = fields.Boolean(required=True, metadata={
        "description": "True when this device's seat was freed; false when it held none."})


class SignedLicence(ma.Schema):
    """The signed object of a licence file: its fields are exactly what was signed."""

    format = fields.Integer(required=True, metadata={"description": "1 (this layout)."})
    licence_id = fields.Integer(required=True)
    product = fields.String(required=True)
    plan = fields.String(required=True)
    seats = fields.Integer(required=True)
    starts_at = fields.String(required=True, metadata={"description": TIME})
    expires_at = fields.String(required=True, metadata={"description": TIME})
    issued_at = fields.String(required=True, metadata={"description": TIME})
    key_id = fields.String(required=True, metadata={
        "description": "The signing key's id (see /api/v1/signing-keys)."})


class LicenceFile(ma.Schema):
    licence = fields.Nested(SignedLicence, required=True)
    signature = fields.String(required=True, metadata={
        "description": "Ed25519 over the licence's canonical encoding, URL-safe base64."})


class SigningKey(ma.Schema):
    key_id = fields.String(required=True)
    algorithm = fields.String(required=True, validate=validate.OneOf(["Ed25519"]))
    public_key = fields.String(required=True, metadata={
        "description": "The raw 32-byte public key, URL-safe base64."})


class SigningKeys(ma.Schema):
    keys = fields.List(fields.Nested(SigningKey), required=True)


class Problem(ma.Schema):
    """An error (RFC 9457 problem details) with a machine-readable ``code``."""

    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "For INVALID_REQUEST: each field with what is wrong with it."})
