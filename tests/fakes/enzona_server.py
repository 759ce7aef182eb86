"""A fake EnZona: a local HTTP server speaking the part of EnZona's payment API the store
uses, which checks what the client sends.

It refuses, as EnZona would, a token request without the right HTTP basic credentials, an
API call without a live bearer token (401), and a payment that is not in CUP or whose
items do not add up to its total (400); every refusal of that kind is also kept in
``problems`` so a test can assert there were none. Tests play the payer
(``payer_confirms``, ``payer_cancels``), make the gateway misbehave once (``fail``), or
make it state another charge (``charge``).
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CONSUMER_KEY = "store-consumer-key"
CONSUMER_SECRET = "store-consumer-secret"
API = "/payment/v1.0.0"
CONFIRMED, PENDING, ACCEPTED, FAILED, REFUNDED, CANCELLED = 1111, 1112, 1113, 1114, 1115, 1116
DENOMS = {CONFIRMED: "Confirmada", PENDING: "Pendiente", ACCEPTED: "Aceptada",
          FAILED: "Fallida", REFUNDED: "Devuelta", CANCELLED: "Cancelada"}
# The confirmation page (FakeEnZona(hosted_page=True)).
PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EnZona (prueba)</title></head>
<body><main><h1>EnZona (prueba)</h1>
<p>Importe: <strong class="amount">{amount}</strong></p>
<form method="post" action="{action}"><button type="submit">Pagar</button></form>
</main></body></html>
"""
ROUTES = (
    ("create", "POST", re.compile(rf"{API}/payments")),
    ("complete", "POST", re.compile(rf"{API}/payments/([^/]+)/complete")),
    ("cancel", "POST", re.compile(rf"{API}/payments/([^/]+)/cancel")),
    ("status", "GET", re.compile(rf"{API}/payments/([^/]+)")),
    ("refund", "POST", re.compile(rf"{API}/payments/([^/]+)/refunds")),
)


@dataclass
class FakePayment:
    uuid: str
    merchant_op_id: str
    total: str
    currency: str = "CUP"
    status: int = PENDING
    stated: tuple[Any, str] | None = None  # (total, currency) the gateway states instead
    refunds: list[dict] = field(default_factory=list)
    checkout_base: str = "https://www.enzona.net"  # where the "confirm" link points

    def as_json(self) -> dict[str, Any]:
        total, currency = self.stated or (self.total, self.currency)
        return {
            "transaction_uuid": self.uuid, "merchant_op_id": self.merchant_op_id,
            "currency": currency, "amount": {"total": total},
            "status_code": self.status, "status_denom": DENOMS[self.status],
            "links": [
                {"rel": "confirm", "method": "REDIRECT",
                 "href": f"{self.checkout_base}/checkout/{self.uuid}"},
                {"rel": "self", "method": "GET", "href": f"{API}/payments/{self.uuid}"},
            ],
        }


class FakeEnZona:
    def __init__(self, *, slow_seconds: float = 0.6, hosted_page: bool = False) -> None:
        """``hosted_page``: the "confirm" link is a small page on this server where the
        payer confirms (for the browser test), instead of an address on enzona.net."""
        self.server = HTTPServer(threaded=True)
        self.hosted_page = hosted_page
        self.payments: dict[str, FakePayment] = {}
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self.token_lifetime = 3600
        self.received: list[tuple[str, str]] = []  # (route name, HTTP method) in order
        self.bodies: dict[str, list[Any]] = {}  # route name -> JSON bodies received
        self.problems: list[str] = []
        self.slow_seconds = slow_seconds
        self._faults: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._busy = 0  # requests being answered
        self.return_urls: dict[str, str] = {}  # transaction uuid -> return_url (hosted_page)

    def __enter__(self) -> FakeEnZona:
        if self.hosted_page:  # before the API's catch-all, which would answer it first
            self.server.expect_request(re.compile(r"/checkout/")).respond_with_handler(
                self._page)
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.clear()
        self.server.stop()

    @property
    def api_base(self) -> str:
        return self.server.url_for(API)

    # What tests do to the gateway.

    def payer_confirms(self, transaction_uuid: str) -> None:
        self.payments[transaction_uuid].status = ACCEPTED

    def payer_cancels(self, transaction_uuid: str) -> None:
        self.payments[transaction_uuid].status = CANCELLED

    def charge(self, transaction_uuid: str, total: Any, currency: str = "CUP") -> None:
        """State another charge than the one created when the payment is read."""
        self.payments[transaction_uuid].stated = (total, currency)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def fail(self, route: str, *kinds: str) -> None:
        """Answer the next calls to ``route`` badly, one per kind: "timeout" (answer too
        late, after acting), "500", "malformed" (not JSON) or "401"."""
        self._faults.setdefault(route, []).extend(kinds)

    def wait_until_idle(self, seconds: float = 5.0) -> None:
        """Wait for the answers still on their way (a "timeout" answers late)."""
        deadline = time.monotonic() + seconds
        while self._busy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self._busy, "the fake EnZona is still answering"

    def calls(self, route: str) -> int:
        return sum(1 for name, _method in self.received if name == route)

    # The server.

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self._busy += 1
        try:
            return self._answer(request)
        finally:
            with self._lock:
                self._busy -= 1

    def _answer(self, request: Request) -> Response:
        with self._lock:
            route, match = self._route(request)
            self.received.append((route, request.method))
            fault = self._faults.get(route, []).pop(0) if self._faults.get(route) else None
        if fault == "timeout":
            time.sleep(self.slow_seconds)
        elif fault == "500":
            return _json({"message": "Error interno en el servidor."}, 500)
        elif fault == "malformed":
            return Response("<html>Bad gateway</html>", 200, content_type="text/html")
        elif fault == "401":
            return _json({"fault": "invalid token"}, 401)
        with self._lock:
            if route == "token":
                return self._token(request)
            if request.headers.get("Authorization", "") not in {f"Bearer {t}" for t in self.tokens}:
                return _json({"fault": {"message": "Invalid Credentials"}}, 401)
            if route == "create":
                return self._create(request)
            if route == "unknown":
                return self._refuse(f"unknown call {request.method} {request.path}", 404)
            payment = self.payments.get(match.group(1))
            if payment is None:
                return self._refuse(f"unknown payment {match.group(1)}", 404)
            return getattr(self, f"_{route}")(request, payment)

    def _route(self, request: Request) -> tuple[str, re.Match | None]:
        if request.path == "/token" and request.method == "POST":
            return "token", None
        for name, method, pattern in ROUTES:
            match = pattern.fullmatch(request.path)
            if match and request.method == method:
                return name, match
        return "unknown", None

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return self._refuse("token asked without the consumer key and secret", 401)
        if request.form.get("grant_type") != "client_credentials":
            return self._refuse(f"grant_type {request.form.get('grant_type')!r}", 400)
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}-{uuid.uuid4().hex[:8]}"
        self.tokens.add(token)
        return _json({"access_token": token, "token_type": "Bearer",
                      "expires_in": self.token_lifetime, "scope": request.form.get("scope")})

    def _create(self, request: Request) -> Response:
        body = self._body("create", request)
        total = (body.get("amount") or {}).get("total")
        items = body.get("items") or []
        if body.get("currency") != "CUP":
            return self._refuse(f"currency {body.get('currency')!r} is not CUP")
        if not isinstance(total, str) or not re.fullmatch(r"[0-9]+\.[0-9]{2}", total):
            return self._refuse(f"amount {total!r} is not a decimal string with 2 places")
        if sum(Decimal(i["price"]) * i["quantity"] for i in items) != Decimal(total):
            return self._refuse(f"items {items!r} do not add up to {total}")
        for name in ("merchant_op_id", "description", "return_url", "cancel_url"):
            if not body.get(name):
                return self._refuse(f"{name} missing")
        payment = FakePayment(uuid.uuid4().hex, body["merchant_op_id"], total)
        if self.hosted_page:
            payment.checkout_base = self.server.url_for("/").rstrip("/")
            self.return_urls[payment.uuid] = body["return_url"]
        self.payments[payment.uuid] = payment
        return _json(payment.as_json())

    def _complete(self, request: Request, payment: FakePayment) -> Response:
        self._body("complete", request)
        if payment.status != ACCEPTED:
            return _json({"message": f"payment is {DENOMS[payment.status]}"}, 400)
        payment.status = CONFIRMED
        return _json(payment.as_json())

    def _cancel(self, request: Request, payment: FakePayment) -> Response:
        self._body("cancel", request)
        if payment.status not in (PENDING, ACCEPTED):
            return _json({"message": f"payment is {DENOMS[payment.status]}"}, 400)
        payment.status = CANCELLED
        return _json(payment.as_json())

    def _status(self, request: Request, payment: FakePayment) -> Response:
        return _json(payment.as_json())

    def _refund(self, request: Request, payment: FakePayment) -> Response:
        body = self._body("refund", request)
        if payment.status != CONFIRMED:
            return self._refuse(f"refund of a payment that is {DENOMS[payment.status]}")
        if Decimal(body.get("amount", "x")) > Decimal(payment.total):
            return self._refuse(f"refund of {body.get('amount')} exceeds {payment.total}")
        payment.status = REFUNDED
        refund = {"transaction_uuid": uuid.uuid4().hex, "amount": body["amount"],
                  "status_code": CONFIRMED, "parent_payment_uuid": payment.uuid}
        payment.refunds.append(refund)
        return _json(refund)

    def _page(self, request: Request) -> Response:
        """EnZona's confirmation page, in small: GET shows the amount and a "Pagar"
        button; its POST is the payer confirming, and sends them to the return_url."""
        found = re.fullmatch(r"/checkout/([0-9a-f]+)", request.path)
        payment = self.payments.get(found[1]) if found else None
        if payment is None or request.method not in ("GET", "POST"):
            return Response("Not found", 404, content_type="text/plain")
        if request.method == "POST":
            with self._lock:
                if payment.status == PENDING:
                    self.payer_confirms(payment.uuid)
            return Response("", 303, headers={"Location": self.return_urls[payment.uuid]})
        return Response(PAGE.format(amount=f"{payment.total} {payment.currency}",
                                    action=html.escape(request.path)),
                        200, content_type="text/html; charset=utf-8")

    def _body(self, route: str, request: Request) -> dict[str, Any]:
        body = json.loads(request.get_data() or b"null")
        self.bodies.setdefault(route, []).append(body)
        return body if isinstance(body, dict) else {}

    def _refuse(self, problem: str, status: int = 400) -> Response:
        self.problems.append(problem)
        return _json({"message": problem}, status)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status, content_type="application/json")
