"""ASGI middleware that puts an MCP server (or any JSON-RPC over HTTP endpoint) behind agentvp.

``ProtectedResource(app, guard, tools=...)`` wraps any ASGI app - for example the ``mcp`` SDK's
streamable-HTTP app - without depending on a web framework:

- ``GET /.well-known/oauth-protected-resource`` (and the path-suffixed form of RFC 9728 §3.1,
  ``/.well-known/oauth-protected-resource/<resource path>``) serves the RFC 9728 §2 metadata:
  ``resource``, ``authorization_servers`` (agentvp), ``bearer_methods_supported``,
  ``dpop_signing_alg_values_supported``, ``dpop_bound_access_tokens_required``,
  ``authorization_details_types_supported`` and, under ``agentvp_tool_bindings``, how each tool
  call maps to an agent action (:class:`verifier.protocol.oauth.access_token.ToolBinding`);
- every HTTP request to the protected path *or below it* (compared after collapsing ``//``,
  ``.`` and ``..`` segments), whatever its method, must pass :meth:`ResourceGuard.authorize`;
  a refusal is answered with the :class:`AccessError` status, a JSON body and
  ``WWW-Authenticate: DPoP`` naming the metadata URL (RFC 9728 §5.1), so a client that knows
  nothing can start from a 401. A WebSocket handshake to that path is refused (close 1008):
  the guard cannot read the calls a socket would carry;
- **one token, one action**: the body of every such request is read by
  :func:`.messages.tool_calls` - one strict JSON-RPC message; a batch (a JSON array) is refused
  with 400 ``batch_refused`` whatever it holds, as is a body the guard cannot read strictly -
  and a ``tools/call`` must stay within the token's action (:func:`check_tool`, 403
  ``insufficient_scope``). The tool call spends the token (its ``jti`` goes to the replay
  store until ``exp``), a second answers 401 ``invalid_token`` / ``token_spent``; other
  messages (``initialize``, ``tools/list``, notifications) do not spend it;
- the validated :class:`AccessGrant` is put in the ASGI scope under :data:`SCOPE_KEY` (read it
  with :func:`grant_of` from the tool handler's request) for logging and correlation.

The URL a DPoP proof must name is the resource's configured origin plus the request path,
never the ``Host`` header. When the guard has ``dpop_nonces`` (:mod:`.nonces`), every answer of
the protected path - refusal or the application's - carries the current ``DPoP-Nonce``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from verifier.protocol.oauth.access_token import (
    AUTHORIZATION_DETAILS_TYPE,
    TOOL_BINDINGS_METADATA,
    ToolBinding,
)
from verifier.protocol.oauth.dpop import DPOP_ALGS

from .messages import tool_calls
from .tokens import AccessError, AccessGrant, ResourceGuard, check_scope, check_tool

__all__ = ["SCOPE_KEY", "ProtectedResource", "grant_of", "metadata_url"]

log = logging.getLogger("agentvp.resource")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
SCOPE_KEY = "agentvp.access"
WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_url(resource: str) -> str:
    """Where the RFC 9728 metadata of ``resource`` lives (§3.1: well-known + resource path)."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{path}"


def grant_of(request: Any) -> AccessGrant:
    """The grant the middleware validated, from a Starlette request or a raw ASGI scope."""
    scope = getattr(request, "scope", request)
    grant = scope.get(SCOPE_KEY)
    if not isinstance(grant, AccessGrant):
        raise LookupError("this request did not pass the agentvp middleware")
    return grant


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == name]


async def _send_json(
    send: Send, status: int, body: Mapping[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    base = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": payload})


def _normal(path: str) -> str:
    """``path`` with empty and ``.`` segments dropped and ``..`` resolved (never above ``/``)."""
    segments: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if segments:
                segments.pop()
        elif part not in ("", "."):
            segments.append(part)
    return "/" + "/".join(segments)


class ProtectedResource:
    def __init__(
        self,
        app: ASGIApp,
        guard: ResourceGuard,
        *,
        tools: Mapping[str, ToolBinding],
        tool_scopes: Mapping[str, str] | None = None,
        resource_name: str = "",
        max_body_bytes: int = 1024 * 1024,
        max_json_depth: int = 64,
    ) -> None:
        self.app = app
        self.guard = guard
        self.tools = dict(tools)
        self.tool_scopes = dict(tool_scopes or {})
        self.resource_name = resource_name
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        parts = urlsplit(guard.resource)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.path = _normal(parts.path)
        self.metadata_url = metadata_url(guard.resource)

    def protects(self, path: str) -> bool:
        """Whether a request to ``path`` must pass the guard: the resource path or below."""
        normal = _normal(path)
        return self.path in ("/", normal) or normal.startswith(self.path + "/")

    def metadata(self) -> dict[str, Any]:
        """RFC 9728 §2 protected resource metadata."""
        login = self.guard.base_scope is not None
        scopes = [self.guard.base_scope, *self.tool_scopes.values()] if login else []
        return {
            "resource": self.guard.resource,
            "authorization_servers": [self.guard.issuer],
            "bearer_methods_supported": ["header"],
            **({"scopes_supported": list(dict.fromkeys(scopes))} if login else {}),
            "dpop_signing_alg_values_supported": sorted(DPOP_ALGS),
            "dpop_bound_access_tokens_required": not login or self.guard.dpop_required,
            "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
            "resource_name": self.resource_name or self.guard.resource,
            TOOL_BINDINGS_METADATA: {
                name: binding.model_dump(exclude_defaults=True)
                for name, binding in self.tools.items()
            },
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "websocket" and self.protects(path):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and path in (WELL_KNOWN, urlsplit(self.metadata_url).path):
            await _send_json(send, 200, self.metadata(), [])
            return
        if not self.protects(path):
            await self.app(scope, receive, send)
            return
        try:
            grant, replay = await self._check(scope, receive)
        except AccessError as exc:
            log.info("refused %s %s: %s", scope["method"], path, exc.code)
            fields = self._challenges(exc) + self._nonce_fields(exc.headers)
            await _send_json(send, exc.status, exc.body(), fields)
            return
        scope[SCOPE_KEY] = grant
        await self.app(scope, replay, self._with_nonce(send))

    def _nonce_fields(self, given: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
        """The refusal's own fields, and the current DPoP nonce when the guard wants nonces
        (RFC 9449 §9: a client learns it from any answer, not only ``use_dpop_nonce``)."""
        fields = {k.lower(): v for k, v in given.items()}
        nonces = self.guard.dpop_nonces
        if nonces is not None:
            fields.setdefault("dpop-nonce", nonces.current(self.guard.resource))
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fields.items()]

    def _with_nonce(self, send: Send) -> Send:
        """``send`` adding the current ``DPoP-Nonce`` to the application's answer (rotation)."""
        if self.guard.dpop_nonces is None:
            return send

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers") or [] if h[0].lower() != b"dpop-nonce"]
                message = {**message, "headers": headers + self._nonce_fields({})}
            await send(message)

        return sending

    def _challenges(self, exc: AccessError) -> list[tuple[bytes, bytes]]:
        """``WWW-Authenticate`` fields: the refusal's; without credentials, when wallet-login
        Bearer tokens are accepted, also a ``Bearer`` challenge with the ``scope`` to ask for
        (two header fields, RFC 9110 §11.6.1; the DPoP one first)."""
        fields = [exc.challenge(self.metadata_url)]
        guard = self.guard
        if exc.code == "token_missing" and guard.base_scope is not None:
            bearer = AccessError(exc.status, exc.error, exc.code, exc.description, scheme="Bearer")
            bearer.scope = guard.base_scope
            if not guard.dpop_required:
                fields.append(bearer.challenge(self.metadata_url))
        return [(b"www-authenticate", f.encode("latin-1")) for f in fields]

    async def _check(self, scope: Scope, receive: Receive) -> tuple[AccessGrant, Receive]:
        grant = await self.guard.authorize(
            method=scope["method"],
            url=self.origin + scope.get("path", ""),
            authorization=_header_values(scope, b"authorization"),
            dpop=_header_values(scope, b"dpop"),
        )
        body = await self._body(receive)
        calls = tool_calls(body, max_depth=self.max_json_depth)
        if grant.action is None:  # a wallet-login token: scopes, reusable until it expires
            for name, _ in calls:
                needed = self.tool_scopes.get(name) if isinstance(name, str) else None
                check_scope(grant, needed or str(self.guard.base_scope))
            return grant, self._replay(body, receive)
        for name, arguments in calls:
            check_tool(grant, self.tools.get(name) if isinstance(name, str) else None, arguments)
        if calls:
            ttl = max(grant.expires_at - int(self.guard.clock()), 0) + self.guard.leeway + 1
            if not await self.guard.replay.claim(f"token:{grant.token_id}", ttl=ttl):
                raise AccessError(
                    401, "invalid_token", "token_spent", "the token's action was already used"
                )
        return grant, self._replay(body, receive)

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise AccessError(413, "invalid_request", "body_too_large", "request too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)
