"""A fake Stripe API on pytest-httpserver: the real SDK talks to it over HTTP.

It answers the calls the store makes (create, retrieve, list and expire Checkout
Sessions; create refunds) the way Stripe does, and checks what the client sent: the path, the
secret key in the Authorization header, an idempotency key on every POST that creates
something, amounts and currencies. A request that breaks a rule is answered 400 and kept in
``problems``, which the test fixture asserts empty. ``fail_next`` makes the next call time
out, fail with a 5xx, or answer something that is not JSON. Webhooks are signed with the
SDK's own public helper, ``stripe.WebhookSignature.generate_signature_header``.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import time
from typing import Any

import stripe
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SECRET_KEY = "sk_test_fake_4242"
WEBHOOK_SECRET = "whsec_fake_secret"
SESSION = re.compile(r"/v1/checkout/sessions/(cs_test_\w+)(/expire)?")
# The hosted payment page (FakeStripe(..., hosted_page=True)).
PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>{title}</h1>
<p>Importe: <strong class="amount">{amount}</strong></p>
<form method="post" action="{action}"><button type="submit">Pagar</button></form>
</main></body></html>
"""


def nested(form) -> dict[str, Any]:
    """Stripe's form encoding (``line_items[0][price_data][currency]=usd``) as nested
    dicts, and lists where the keys are indexes."""
    root: dict[str, Any] = {}
    for key, value in form.items():
        *parents, last = re.findall(r"[^\[\]]+", key)
        node = root
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


class FakeStripe:
    def __init__(self, server: HTTPServer, currency: str = "usd", *,
                 hosted_page: bool = False) -> None:
        """``hosted_page``: the sessions' ``url`` is a small payment page on this server
        (for the browser test) instead of an address on Stripe's domain."""
        self.server = server
        self.currency = currency
        self.hosted_page = hosted_page
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}  # by idempotency key
        self.received: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
        self.problems: list[str] = []
        self._failures: list[str] = []
        self._ids = itertools.count(1)
        server.expect_request(re.compile(r"/v1/.*")).respond_with_handler(self._handle)
        if hosted_page:
            server.expect_request(re.compile(r"/c/pay/")).respond_with_handler(self._page)

    @property
    def api_base(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def fail_next(self, how: str, times: int = 1) -> None:
        """``how``: "timeout" (answers after 2 s), "500", "503" or "garbage"."""
        self._failures.extend([how] * times)

    def calls(self, method: str, path_start: str) -> list[tuple[dict, dict]]:
        """(params, headers) of each call received with that method and path prefix."""
        return [(params, headers) for m, path, params, headers in self.received
                if m == method and path.startswith(path_start)]

    # -- what the API answers ---------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        params = nested(request.form) if request.method == "POST" else dict(request.args)
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.received.append((request.method, request.path, params, headers))
        if self._failures:
            return self._fail(self._failures.pop(0))
        if headers.get("authorization") != f"Bearer {SECRET_KEY}":
            return self._refuse("authorization", f"bad key {headers.get('authorization')!r}", 401)
        if request.method == "POST" and not request.path.endswith("/expire") and not (
            headers.get("idempotency-key")
        ):
            return self._refuse("idempotency", f"{request.path} without an idempotency key")
        if request.method == "POST" and request.path == "/v1/checkout/sessions":
            return self._create_session(params, headers["idempotency-key"])
        if request.method == "POST" and request.path == "/v1/refunds":
            return self._refund(params, headers["idempotency-key"])
        if request.method == "GET" and request.path == "/v1/checkout/sessions":
            return self._list_sessions(params)
        found = SESSION.fullmatch(request.path)
        if found and found[1] in self.sessions:
            session = self.sessions[found[1]]
            if found[2] and request.method == "POST":
                if session["status"] != "open":
                    return self._refuse("expire", f"{found[1]} is {session['status']}")
                session["status"] = "expired"
            return _json(session)
        return self._refuse("path", f"no such call: {request.method} {request.path}", 404)

    def _create_session(self, params: dict, key: str) -> Response:
        for session in self.sessions.values():
            if session["_idempotency_key"] == key:
                return _json(session)  # Stripe answers a retried key with the same object
        items = params.get("line_items", [])
        currencies = {item["price_data"]["currency"] for item in items}
        if params.get("mode") != "payment" or not items or currencies != {self.currency}:
            return self._refuse("session", f"bad session: {params}")
        number = next(self._ids)
        session = {
            "id": f"cs_test_{number:04d}", "object": "checkout.session",
            "url": self._session_url(f"cs_test_{number:04d}"),
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "amount_total": sum(int(item["price_data"]["unit_amount"]) * int(item["quantity"])
                                for item in items),
            "currency": self.currency, "mode": "payment",
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
            "_idempotency_key": key,
        }
        self.sessions[session["id"]] = session
        return _json(session)

    def _session_url(self, session_id: str) -> str:
        if self.hosted_page:
            return self.server.url_for(f"/c/pay/{session_id}")
        return f"https://checkout.stripe.test/c/pay/{session_id}"

    def _page(self, request: Request) -> Response:
        """Stripe's hosted payment page, in small: GET shows the amount and a "Pagar"
        button; its POST pays the session and sends the buyer to the success_url."""
        found = re.fullmatch(r"/c/pay/(cs_test_\w+)", request.path)
        session = self.sessions.get(found[1]) if found else None
        if session is None or request.method not in ("GET", "POST"):
            return Response("Not found", 404, content_type="text/plain")
        if request.method == "POST":
            if session["status"] == "open":
                self.pay(session["id"])
            return Response("", 303, headers={"Location": session["success_url"]})
        units, cents = divmod(int(session["amount_total"]), 100)
        amount = f"{units}.{cents:02d} {session['currency'].upper()}"
        return Response(PAGE.format(title="Stripe Checkout (prueba)", amount=amount,
                                    action=html.escape(request.path)),
                        200, content_type="text/html; charset=utf-8")

    def _list_sessions(self, params: dict) -> Response:
        found = [s for s in self.sessions.values()
                 if params.get("payment_intent") and s["payment_intent"] == params["payment_intent"]]
        return _json({"object": "list", "data": [_visible(s) for s in found],
                      "has_more": False, "url": "/v1/checkout/sessions"})

    def _refund(self, params: dict, key: str) -> Response:
        if key in self.refunds:
            return _json(self.refunds[key])
        paid = [s for s in self.sessions.values()
                if s["payment_intent"] and s["payment_intent"] == params.get("payment_intent")]
        if not paid or int(params.get("amount", 0)) > paid[0]["amount_total"]:
            return self._refuse("refund", f"bad refund: {params}")
        if paid[0].get("_refunded", 0) + int(params["amount"]) > paid[0]["amount_total"]:
            # Stripe's answer to refunding a refunded charge (not a rule the client broke).
            return _json({"error": {"type": "invalid_request_error",
                                    "code": "charge_already_refunded",
                                    "message": "Charge has already been refunded."}}, 400)
        refund = {"id": f"re_test_{next(self._ids):04d}", "object": "refund",
                  "amount": int(params["amount"]), "currency": paid[0]["currency"],
                  "payment_intent": params["payment_intent"], "status": "succeeded"}
        paid[0]["_refunded"] = paid[0].get("_refunded", 0) + refund["amount"]
        self.refunds[key] = refund
        return _json(refund)

    def _refuse(self, rule: str, message: str, status: int = 400) -> Response:
        self.problems.append(f"{rule}: {message}")
        return _json({"error": {"type": "invalid_request_error", "message": message}}, status)

    @staticmethod
    def _fail(how: str) -> Response:
        if how == "timeout":
            time.sleep(2)
            return _json({})
        if how == "garbage":
            return Response("<html>Bad gateway</html>", 200, content_type="application/json")
        return _json({"error": {"type": "api_error", "message": "down"}}, int(how))

    # -- what happens at Stripe's end, and the webhooks it sends ------------------------

    def pay(self, session_id: str) -> dict[str, Any]:
        """The customer paid on Stripe's page: the session is complete and paid."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid",
                       payment_intent=f"pi_test_{session_id[-4:]}")
        return session

    def refund_in_dashboard(self, session_id: str, amount: int | None = None) -> None:
        """Someone refunds (part of) the session's charge in Stripe's Dashboard."""
        session = self.sessions[session_id]
        session["_refunded"] = min(session["amount_total"], session.get("_refunded", 0) + (
            session["amount_total"] if amount is None else amount))

    def charge_refunded(self, session: dict[str, Any], *, metadata: bool = True,
                        event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
        """The signed charge.refunded webhook of the session's charge, as refunded so far.
        The charge carries its PaymentIntent's metadata unless ``metadata`` is False."""
        session = self.sessions[session["id"]]
        refunded = session.get("_refunded", 0)
        charge = {
            "id": f"ch_test_{session['id'][-4:]}", "object": "charge",
            "amount": session["amount_total"], "amount_refunded": refunded,
            "currency": session["currency"], "payment_intent": session["payment_intent"],
            "refunded": refunded == session["amount_total"],
            "metadata": session["metadata"] if metadata else {},
        }
        return self.signed({
            "id": event_id or f"evt_test_{next(self._ids):04d}", "object": "event",
            "type": "charge.refunded", "created": int(time.time()), "livemode": False,
            "api_version": "2025-01-27.acacia", "data": {"object": charge},
        })

    def event(self, event_type: str, session: dict[str, Any], *, event_id: str | None = None,
              timestamp: int | None = None, **changes: Any) -> tuple[bytes, dict[str, str]]:
        """A webhook of ``event_type`` about ``session`` (with ``changes``), signed."""
        data = {k: v for k, v in {**session, **changes}.items() if not k.startswith("_")}
        return self.signed({
            "id": event_id or f"evt_test_{next(self._ids):04d}", "object": "event",
            "type": event_type, "created": int(time.time()), "livemode": False,
            "api_version": "2025-01-27.acacia", "data": {"object": data},
        }, timestamp=timestamp)

    @staticmethod
    def signed(payload: Any, *, timestamp: int | None = None,
               secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
        return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def _visible(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _json(data: Any, status: int = 200) -> Response:
    visible = _visible(data)
    return Response(json.dumps(visible), status, content_type="application/json")
