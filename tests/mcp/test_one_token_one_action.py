"""One single-use access token authorises one action, whatever the application behind the
guard accepts - over real HTTP (uvicorn), in front of a careless JSON-RPC app that runs
batches, reads JSON leniently, answers every path and method and speaks WebSocket
(:mod:`tests.jsonrpc_app`).

Every refused request is checked three ways: the guard's answer (status, OAuth ``error``, the
precise code), nothing run by the app, and the token still unspent (an honest call with it
then succeeds - once). Tokens are signed by a test authorization-server key served to the
guard's JWKS cache; the full agentvp dance over HTTP is in ``tests/attacks/cases/one_action.py``.
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.jsonrpc_app import JsonRpcApp
from tests.threaded_server import ThreadedServer
from verifier.protocol import SigningKey
from verifier.protocol.oauth.access_token import (
    ToolBinding,
    action_for_call,
    authorization_details_for,
)
from verifier.protocol.oauth.dpop import create_proof
from verifier.resource import JWKSCache, ProtectedResource, ResourceGuard

ISSUER = "https://agentvp.example"
RESOURCE = "https://shop.example/mcp"
AS_KEY = SigningKey.generate(kid="as-1")
AGENT = SigningKey.generate()
CHECKOUT = ToolBinding(
    action="commerce.checkout",
    fixed={"payee.id": "m-1", "payee.domain": "shop.example"},
    arguments={
        "transaction_id": "order_id",
        "payment_amount.amount": "amount",
        "payment_amount.currency": "currency",
    },
)
REFUND = CHECKOUT.model_copy(update={"action": "payment.refund"})
ORDER = {"order_id": "o-1", "amount": 500, "currency": "EUR"}


class Shop:
    def __init__(self) -> None:
        self.app = JsonRpcApp()

        async def fetch(url: str) -> Any:
            return {
                f"{ISSUER}/.well-known/oauth-authorization-server": {
                    "issuer": ISSUER,
                    "jwks_uri": f"{ISSUER}/jwks",
                },
                f"{ISSUER}/jwks": {"keys": [AS_KEY.public_jwk]},
            }[url]

        guard = ResourceGuard(resource=RESOURCE, issuer=ISSUER, jwks=JWKSCache(ISSUER, fetch=fetch))
        protected = ProtectedResource(
            self.app, guard, tools={"checkout": CHECKOUT, "refund": REFUND}
        )
        self.port = free_port()
        self.server = ThreadedServer(protected, self.port)  # type: ignore[arg-type]

    def token(self) -> str:
        now = int(time.time())
        action = action_for_call(CHECKOUT, ORDER, mandate_jti="mandate-1")
        claims = {
            "iss": ISSUER,
            "aud": RESOURCE,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(12),
            "cnf": {"jkt": AGENT.thumbprint},
            "authorization_details": authorization_details_for(action, [RESOURCE]),
            "verification_id": "v-1",
        }
        return AS_KEY.sign_jws({"typ": "at+jwt", "kid": "as-1"}, claims)

    def send(
        self,
        body: Any,
        token: str | None,
        *,
        method: str = "POST",
        path: str = "/mcp",
        raw: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request with the path exactly as given (http.client, unlike httpx, does not
        resolve ``.``/``..`` segments), DPoP-bound to it when ``token`` is given."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            htu = "https://shop.example" + path
            proof = create_proof(
                AGENT, htm=method, htu=htu, now=int(time.time()), access_token=token
            )
            sent |= {"Authorization": f"DPoP {token}", "DPoP": proof}
        content = body if raw else json.dumps(body).encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request(method, path, body=content, headers=sent)
            answer = connection.getresponse()
            return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
        finally:
            connection.close()

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    running = Shop()
    yield running
    running.stop()


def call(tool: str = "checkout", rpc_id: int = 1, **arguments: Any) -> dict[str, Any]:
    args = arguments or ORDER
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": args},
    }


def refused(response: httpx.Response, status: int, error: str, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert response.json()["error_description"].startswith(f"{code}:"), response.text
    assert f'error="{error}"' in response.headers["www-authenticate"]


def still_unspent(shop: Shop, token: str, runs_before: int) -> None:
    """Nothing ran, and the token performs its one action now - and only once."""
    assert shop.app.count() == runs_before, [r.tool for r in shop.app.runs[runs_before:]]
    honest = shop.send(call(), token)
    assert honest.status_code == 200, honest.text
    assert shop.app.count() == runs_before + 1
    refused(shop.send(call(), token), 401, "invalid_token", "token_spent")
    assert shop.app.count() == runs_before + 1


def test_the_reported_batch_of_three_calls_is_refused_and_runs_nothing(shop: Shop) -> None:
    token, before = shop.token(), shop.app.count()
    batch = [call(rpc_id=1), call(rpc_id=2), call(rpc_id=3)]
    response = shop.send(batch, token)
    refused(response, 400, "invalid_request", "batch_refused")
    assert "one token, one action" in response.json()["error_description"]
    still_unspent(shop, token, before)


BATCHES = {
    "one_call": [call()],
    "call_and_list": [{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, call(rpc_id=2)],
    "call_and_refund": [call(), call("refund", rpc_id=2)],
    "no_call_at_all": [{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}],
    "empty": [],
    "nested": [[call()]],
}


@pytest.mark.parametrize("batch", list(BATCHES.values()), ids=list(BATCHES))
def test_every_batch_is_refused(shop: Shop, batch: list[Any]) -> None:
    token, before = shop.token(), shop.app.count()
    refused(shop.send(batch, token), 400, "invalid_request", "batch_refused")
    still_unspent(shop, token, before)


GOOD = json.dumps(call())
UNREADABLE = {
    # the app reads the last "method": a tools/call the guard must not take for a tools/list
    "duplicate_method": GOOD.replace(
        '"method": "tools/call"', '"method": "tools/list", "method": "tools/call"'
    ),
    # the app reads the last "params": a refund behind a checkout
    "duplicate_params": GOOD[:-1] + ', "params": ' + json.dumps(call("refund")["params"]) + "}",
    "nan_amount": GOOD.replace('"amount": 500', '"amount": NaN'),
    "byte_order_mark": "\ufeff" + GOOD,
    "trailing_garbage": GOOD + "]",
}


@pytest.mark.parametrize("body", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_a_body_the_guard_cannot_read_strictly_is_refused(shop: Shop, body: str) -> None:
    """Parser differentials: what a lenient app would run, the strict guard refuses."""
    token, before = shop.token(), shop.app.count()
    refused(shop.send(body.encode(), token, raw=True), 400, "invalid_request", "body_not_json")
    still_unspent(shop, token, before)


@pytest.mark.parametrize("body", ['"tools/call"', "42", "null"])
def test_a_top_level_value_that_is_no_message_is_refused(shop: Shop, body: str) -> None:
    token, before = shop.token(), shop.app.count()
    refused(shop.send(body.encode(), token, raw=True), 400, "invalid_request", "body_not_json_rpc")
    still_unspent(shop, token, before)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "GET"])
def test_a_call_is_checked_whatever_the_http_method(shop: Shop, method: str) -> None:
    token, before = shop.token(), shop.app.count()
    over = call(**{**ORDER, "amount": 501})
    refused(
        shop.send(over, token, method=method), 403, "insufficient_scope", "amount_exceeds_grant"
    )
    refund = call("refund")
    refused(
        shop.send(refund, token, method=method), 403, "insufficient_scope", "action_not_granted"
    )
    still_unspent(shop, token, before)


@pytest.mark.parametrize("path", ["/mcp/", "/mcp/tools", "//mcp", "/x/../mcp", "/mcp/./x"])
def test_paths_below_or_spelling_the_resource_are_guarded(shop: Shop, path: str) -> None:
    before = shop.app.count()
    refused_without_token = shop.send(call(), None, path=path)
    assert refused_without_token.status_code == 401, refused_without_token.text
    assert refused_without_token.json()["error_description"].startswith("token_missing:")
    token = shop.token()
    response = shop.send([call(), call(rpc_id=2)], token, path=path)
    refused(response, 400, "invalid_request", "batch_refused")
    assert shop.app.count() == before


def test_other_paths_pass_through_unguarded(shop: Shop) -> None:
    before = shop.app.count()
    assert (
        shop.send({"jsonrpc": "2.0", "id": 1, "method": "ping"}, None, path="/health").status_code
        == 200
    )
    assert shop.app.count() == before


def test_a_websocket_to_the_resource_is_refused(shop: Shop) -> None:
    """The guard cannot read the calls a socket carries: the handshake is refused."""
    token, before = shop.token(), shop.app.count()
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    response = shop.send(b"", token, method="GET", raw=True, headers=upgrade)
    assert response.status_code == 403, response.text
    assert shop.app.count() == before


def test_one_honest_call_runs_once_with_its_grant(shop: Shop) -> None:
    token, before = shop.token(), shop.app.count()
    response = shop.send(call(**{**ORDER, "amount": 499}), token)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["isError"] is False
    run = shop.app.runs[before]
    assert (run.tool, run.arguments["amount"], run.verification_id) == ("checkout", 499, "v-1")
    refused(shop.send(call(), token), 401, "invalid_token", "token_spent")
    listing = shop.send({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, shop.token())
    assert listing.status_code == 200 and shop.app.count() == before + 1
