"""The agent calling an MCP tool protected by agentvp: the whole dance, client side.

1. **Call** the MCP endpoint without a token; it answers 401 with ``WWW-Authenticate: DPoP ...
   resource_metadata="..."`` (RFC 9728 §5.1).
2. **Discover**: the protected resource metadata (RFC 9728 §3; its ``resource`` must be the URL
   called) names the authorization server and how each tool maps to an action
   (``agentvp_tool_bindings``); the authorization server metadata (RFC 8414 §3; its ``issuer``
   must be the one named) gives the endpoints.
3. **Check** the action the tool call performs against the agent's own mandate - refuse before
   contacting anyone if it is outside (:meth:`AgentHolder.check`).
4. **Authorize**: ``POST agent_authorization_endpoint`` with ``resource`` and
   ``authorization_details`` and a DPoP proof (RFC 9449 §4) made with the mandate's key.
5. **Present** the mandate for the ``openid4vp://`` request the answer holds (the holder again
   refuses anything but this action); on step-up, hand the human's link to ``on_human``.
6. **Poll** the token endpoint (``authorization_pending``/``slow_down`` keep waiting, honouring
   ``interval``) until the DPoP-bound access token arrives.
7. **Retry** the tool call through the ``mcp`` SDK (streamable HTTP), every HTTP request with
   ``Authorization: DPoP <token>`` and a fresh proof carrying ``ath`` (:class:`DPoPAuth`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from verifier.protocol.jose import SigningKey
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.oauth.access_token import (
    GRANT_TYPE,
    TOOL_BINDINGS_METADATA,
    ToolBinding,
    action_for_call,
    authorization_details_for,
)
from verifier.protocol.oauth.dpop import create_proof, normalize_htu

from .agent import AgentHolder, full_mandate
from .wallet import WalletError

__all__ = ["DPoPAuth", "McpAgent", "ProtectedServer"]

PENDING = ("authorization_pending", "slow_down")
_PARAM = re.compile(r'(\w+)="([^"]*)"')
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "wallet-sim agent", "version": "1"},
    },
}


class DPoPAuth(httpx.Auth):
    """``Authorization: DPoP <token>`` plus a fresh DPoP proof (with ``ath``) on every request.

    A server that wants its nonce in proofs (RFC 9449 §9) answers 401 ``use_dpop_nonce`` with a
    ``DPoP-Nonce`` header: the request is sent once more with a new proof carrying it. The
    latest ``DPoP-Nonce`` any answer carried goes into the following proofs."""

    requires_request_body = True  # a retry sends the same body again

    def __init__(
        self, key: SigningKey, token: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.key = key
        self.token = token
        self.clock = clock
        self.nonce: str | None = None
        self.nonce_retries = 0
        self.refusals: list[httpx.Response] = []

    def _sign(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"DPoP {self.token}"
        request.headers["DPoP"] = create_proof(
            self.key,
            htm=request.method,
            htu=str(request.url),
            now=int(self.clock()),
            access_token=self.token,
            nonce=self.nonce,
        )
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield self._sign(request)
        sent_nonce = self.nonce
        self.nonce = response.headers.get("DPoP-Nonce") or self.nonce
        asked = 'error="use_dpop_nonce"' in response.headers.get("WWW-Authenticate", "")
        if response.status_code == 401 and asked and self.nonce != sent_nonce:
            self.nonce_retries += 1
            response = yield self._sign(request)
            self.nonce = response.headers.get("DPoP-Nonce") or self.nonce
        if response.status_code in (401, 403):
            self.refusals.append(response)


@dataclass(frozen=True)
class ProtectedServer:
    """What discovery learned about one MCP server."""

    url: str
    resource: str
    issuer: str
    bindings: Mapping[str, ToolBinding]
    authorize_endpoint: str
    token_endpoint: str


class McpAgent:
    def __init__(
        self,
        holder: AgentHolder,
        *,
        clock: Callable[[], float] = time.time,
        say: Callable[[str], None] = print,
    ) -> None:
        self.holder = holder
        self.http = holder.http
        self.clock = clock
        self.say = say
        self.key = holder.wallet.key(holder.agent)

    # -------------------------------------------------------------- discovery

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            raise WalletError("server_error", f"{what}: answered {response.status_code}")
        return data

    def discover(self, url: str) -> ProtectedServer:
        """Steps 1-2: the 401, the resource metadata, the authorization server metadata."""
        probe = self.http.post(
            url, json=INITIALIZE, headers={"Accept": "application/json, text/event-stream"}
        )
        params = dict(_PARAM.findall(probe.headers.get("www-authenticate", "")))
        if probe.status_code != 401 or "resource_metadata" not in params:
            raise WalletError("invalid_request", f"{url} did not answer 401 with resource_metadata")
        prm = self._json(self.http.get(params["resource_metadata"]), "resource metadata")
        if normalize_htu(str(prm.get("resource", ""))) != normalize_htu(url):
            raise WalletError("invalid_request", "the resource metadata is for another resource")
        servers = prm.get("authorization_servers") or []
        if not servers or not isinstance(servers[0], str):
            raise WalletError("invalid_request", "the resource names no authorization server")
        issuer = servers[0].rstrip("/")
        meta = self._json(
            self.http.get(f"{issuer}/.well-known/oauth-authorization-server"), "AS metadata"
        )
        if meta.get("issuer") != issuer or GRANT_TYPE not in meta.get("grant_types_supported", []):
            raise WalletError("invalid_request", f"{issuer} is not an agentvp authorization server")
        raw = prm.get(TOOL_BINDINGS_METADATA) or {}
        return ProtectedServer(
            url=url,
            resource=str(prm["resource"]),
            issuer=issuer,
            bindings={name: ToolBinding.model_validate(b) for name, b in raw.items()},
            authorize_endpoint=str(meta["agent_authorization_endpoint"]),
            token_endpoint=str(meta["token_endpoint"]),
        )

    def action(
        self, server: ProtectedServer, tool: str, arguments: Mapping[str, Any]
    ) -> AgentAction:
        """Step 3: the action this call performs, refused if outside the mandate."""
        binding = server.bindings.get(tool)
        if binding is None:
            raise WalletError("invalid_request", f"{server.url} publishes no binding for {tool!r}")
        jti = str(full_mandate(self.holder.mandate()).get("jti"))
        try:
            action = action_for_call(binding, arguments, mandate_jti=jti)
        except ValueError as exc:
            raise WalletError("invalid_request", str(exc).splitlines()[0]) from None
        refusals = self.holder.check(action)
        if refusals:
            raise WalletError(
                "access_denied",
                "refusing, the action is outside the mandate: " + "; ".join(refusals),
            )
        return action

    # -------------------------------------------------------------- OAuth

    def _post(self, endpoint: str, form: list[tuple[str, str]]) -> httpx.Response:
        proof = create_proof(self.key, htm="POST", htu=endpoint, now=int(self.clock()))
        headers = {"DPoP": proof, "Content-Type": "application/x-www-form-urlencoded"}
        return self.http.post(endpoint, content=urlencode(form), headers=headers)

    def authorize(
        self, server: ProtectedServer, action: AgentAction, resources: list[str]
    ) -> dict[str, Any]:
        """Steps 4-5: ask, then present the mandate for the agent request."""
        details = json.dumps(authorization_details_for(action, resources))
        form = [("resource", r) for r in resources] + [("authorization_details", details)]
        started = self._json(self._post(server.authorize_endpoint, form), "agent-authorize")
        self.holder.answer(started["agent_request"]["authorization_request_uri"], action)
        return started

    def token(
        self,
        server: ProtectedServer,
        started: Mapping[str, Any],
        *,
        resource: str,
        on_human: Callable[[str], None],
        timeout: float = 300,
    ) -> str:
        """Step 6: poll until the token (or a final error)."""
        deadline = time.monotonic() + timeout
        interval = float(started.get("interval", 2))
        shown = False
        human = started.get("human_request")
        while True:
            if human and not shown:
                on_human(human["authorization_request_uri"])
                shown = True
            form = [
                ("grant_type", GRANT_TYPE),
                ("auth_req_id", str(started["auth_req_id"])),
                ("resource", resource),
            ]
            response = self._post(server.token_endpoint, form)
            body = response.json() if response.content else {}
            if response.status_code == 200:
                return str(body["access_token"])
            if body.get("error") not in PENDING or time.monotonic() > deadline:
                raise WalletError(
                    str(body.get("error", "server_error")), str(body.get("error_description", ""))
                )
            interval = float(body.get("interval", interval))
            human = body.get("human_request") or human
            time.sleep(interval + 0.05)

    # -------------------------------------------------------------- the tool call

    async def call_tool(
        self, url: str, token: str, tool: str, arguments: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Step 7: the MCP session with DPoP on every request."""
        auth = DPoPAuth(self.key, token, clock=self.clock)
        async with (
            httpx.AsyncClient(auth=auth, timeout=30, trust_env=False) as client,
            streamable_http_client(url, http_client=client) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool(tool, dict(arguments))
        return result.model_dump(mode="json", exclude_none=True)

    def run(
        self,
        url: str,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        on_human: Callable[[str], None],
        timeout: float = 300,
    ) -> dict[str, Any]:
        """The whole dance for one tool call; the tool's result."""
        server = self.discover(url)
        action = self.action(server, tool, arguments)
        started = self.authorize(server, action, [server.resource])
        token = self.token(
            server, started, resource=server.resource, on_human=on_human, timeout=timeout
        )
        self.say(f"access token for {server.resource} (DPoP-bound to the mandate key)")
        try:
            return anyio.run(self.call_tool, url, token, tool, arguments)
        except Exception as exc:  # the SDK raises from its task group; report the HTTP refusal
            raise WalletError("server_error", f"the tool call failed: {_root(exc)}") from None


def _root(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, httpx.HTTPStatusError):
        challenge = exc.response.headers.get("www-authenticate", "")
        return f"{exc.response.status_code} {challenge}".strip()
    return f"{type(exc).__name__}: {exc}"
