"""The licence file routes: the signing keys' public halves, and a licence's signed file.

A program keeps the signed file and checks it offline with the published public keys
(docs/api.md, "Signed licence files"); it asks for a fresh file after a renewal or when
the file is close to its expiry.
"""

from __future__ import annotations

from store.api import bp
from store.api.schemas import FileRequest, LicenceFile, SigningKeys
from store.api.spec import problem
from store.api.views import ADDRESS_SCOPE, INVALID, NOT_FOUND, licence_limits, with_errors
from store.dbtypes import utcnow
from store.licensing.files import licence_file_for_key
from store.ratelimit import limited
from store.signing import get_signer

# Public keys change only when an operator rotates them: clients and proxies may keep them.
SIGNING_KEYS_MAX_AGE = 3600

NO_FILE = (409, problem("The licence was revoked (also when its key was replaced by a "
                        "reissue) or refunded: REVOKED or REFUNDED."))


@bp.get("/signing-keys")
@limited("STORE_LIMIT_API_PER_ADDRESS", scope=ADDRESS_SCOPE)
@bp.response(200, SigningKeys)
@with_errors()
def signing_keys():
    """List the public keys that verify licence files, newest first, by key id.

    A file names the key that signed it (`key_id`); files signed with an older key stay
    verifiable while that key is listed.
    """
    return {"keys": get_signer().public_keys()}, 200, {
        "Cache-Control": f"public, max-age={SIGNING_KEYS_MAX_AGE}"}


@bp.post("/licences/file")
@licence_limits
@bp.arguments(FileRequest)
@bp.response(200, LicenceFile)
@with_errors(INVALID, NOT_FOUND, NO_FILE)
def licence_file(body: dict):
    """Give the licence's signed file, issued now (an expired licence's file says so)."""
    return licence_file_for_key(body["key"], now=utcnow()), 200, {"Cache-Control": "no-store"}
