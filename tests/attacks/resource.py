"""The attack world's protected resource: a careless JSON-RPC app (:mod:`tests.jsonrpc_app`,
which runs batches and reads JSON leniently) behind :class:`verifier.resource.ProtectedResource`
for the resource ``RESOURCE`` that the world's policy file lists, on a loopback port, trusting
the main verifier's JWKS (fetched over HTTP). Started on first use, stopped with the world.

:func:`access_token` runs the real dance - ``/oauth/agent-authorize`` with the agent's DPoP key,
the agent presents a fresh mandate allowing :data:`ORDER`, ``/oauth/token`` - and returns the
single-use token; :func:`request` sends one DPoP-bound request with it. A second guard for the
same resource and application (another port, started on first use) wants the resource's DPoP
nonces (RFC 9449 §9, :data:`NONCE_SECRET`): :func:`nonced_request` sends to it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.attacks.harness import PAYEE_DOMAIN, RESOURCE, Attack, World
from tests.conftest import free_port
from tests.jsonrpc_app import JsonRpcApp
from tests.threaded_server import ThreadedServer
from verifier.protocol.oauth.access_token import ToolBinding
from verifier.protocol.oauth.dpop import create_proof
from verifier.resource import DPoPNonces, JWKSCache, ProtectedResource, ResourceGuard

ORIGIN = "https://shop-a.example"
PAY = ToolBinding(
    action="payment.initiate",
    fixed={"payee.id": "merchant-4711", "payee.domain": PAYEE_DOMAIN},
    arguments={
        "transaction_id": "order_id",
        "payment_amount.amount": "amount",
        "payment_amount.currency": "currency",
    },
)
REFUND = PAY.model_copy(update={"action": "payment.refund"})
ORDER = {"order_id": "ord-1", "amount": 8990, "currency": "EUR"}
NONCE_SECRET = b"attack world resource nonce secret"


class ResourceServer:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.app = JsonRpcApp()
        guard = ResourceGuard(resource=RESOURCE, issuer=issuer, jwks=JWKSCache(issuer))
        protected = ProtectedResource(self.app, guard, tools={"pay": PAY, "refund": REFUND})
        self.port = free_port()
        self.server = ThreadedServer(protected, self.port)  # type: ignore[arg-type]
        self.nonced: ThreadedServer | None = None
        self.nonced_port = 0

    def url(self, path: str = "/mcp") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def nonced_url(self, path: str = "/mcp") -> str:
        """The same application behind a guard that wants DPoP nonces (started on first use)."""
        if self.nonced is None:
            guard = ResourceGuard(
                resource=RESOURCE,
                issuer=self.issuer,
                jwks=JWKSCache(self.issuer),
                dpop_nonces=DPoPNonces(NONCE_SECRET),
            )
            protected = ProtectedResource(self.app, guard, tools={"pay": PAY, "refund": REFUND})
            self.nonced_port = free_port()
            self.nonced = ThreadedServer(protected, self.nonced_port)  # type: ignore[arg-type]
        return f"http://127.0.0.1:{self.nonced_port}{path}"

    def stop(self) -> None:
        self.server.stop()
        if self.nonced is not None:
            self.nonced.stop()


def server(world: World) -> ResourceServer:
    if world.resource_server is None:
        world.resource_server = ResourceServer(world.verifier.url)
    started: ResourceServer = world.resource_server
    return started


def access_token(world: World) -> str:
    """A fresh single-use token for :data:`ORDER` at ``RESOURCE``, from the real verifier."""
    from tests.attacks.cases.oauth import allowed_then  # noqa: PLC0415 - a case module's helper

    attack = allowed_then("agent")(world)
    response = world.send(attack)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def call(tool: str = "pay", rpc_id: int = 1, **arguments: Any) -> dict[str, Any]:
    params = {"name": tool, "arguments": arguments or ORDER}
    return {"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": params}


def request(
    world: World,
    token: str | None,
    body: Any,
    *,
    method: str = "POST",
    path: str = "/mcp",
) -> Attack:
    """One request to the resource (``body``: JSON, or bytes sent as they are)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        proof = create_proof(
            world.key("agent"),
            htm=method,
            htu=ORIGIN + path,
            now=int(time.time()),
            access_token=token,
        )
        headers |= {"Authorization": f"DPoP {token}", "DPoP": proof}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Attack(method, server(world).url(path), headers, content)


def unspent(world: World, token: str) -> Callable[[httpx.Response], None]:
    """After a refusal: the token still performs its one action - exactly once."""

    def check(_: httpx.Response) -> None:
        runs = server(world).app.count()
        honest = world.send(request(world, token, call()))
        assert honest.status_code == 200, honest.text
        again = world.send(request(world, token, call()))
        assert again.status_code == 401 and "token_spent" in again.text, again.text
        assert server(world).app.count() == runs + 1

    return check


def nonced_request(world: World, token: str, body: Any, nonce: str | None) -> Attack:
    """One request with a proof carrying ``nonce`` to the guard that wants nonces."""
    proof = create_proof(
        world.key("agent"),
        htm="POST",
        htu=ORIGIN + "/mcp",
        now=int(time.time()),
        access_token=token,
        nonce=nonce,
    )
    headers = {"Content-Type": "application/json", "Authorization": f"DPoP {token}", "DPoP": proof}
    return Attack("POST", server(world).nonced_url(), headers, json.dumps(body).encode())


def unspent_with_nonce(world: World, token: str) -> Callable[[httpx.Response], None]:
    """After a nonce refusal: it named the current nonce in ``DPoP-Nonce``, and with it the
    token performs its one action - exactly once."""

    def check(refused: httpx.Response) -> None:
        assert 'error="use_dpop_nonce"' in refused.headers["www-authenticate"]
        nonce = refused.headers["dpop-nonce"]
        assert DPoPNonces(NONCE_SECRET).accepts(nonce, RESOURCE)
        runs = server(world).app.count()
        honest = world.send(nonced_request(world, token, call(), nonce))
        assert honest.status_code == 200, honest.text
        assert honest.headers["dpop-nonce"]
        again = world.send(nonced_request(world, token, call(), nonce))
        assert again.status_code == 401 and "token_spent" in again.text, again.text
        assert server(world).app.count() == runs + 1

    return check
