"""Accept agentvp access tokens at a resource server (an MCP server, an API).

agentvp issues an agent a short-lived JWT access token (RFC 9068) once it has verified the
agent's mandate - and the human, when its policy says so - for one action at one resource. The
token is bound to the mandate's key (DPoP, RFC 9449: ``cnf.jkt``), restricted to the resource
(RFC 8707: ``aud``), carries the action as ``authorization_details`` (RFC 9396), the agent as
``act`` (RFC 8693 §4.1), the mandate ``jti`` as ``mandate_jti`` and the agentvp verification id
as ``verification_id`` (the same for every resource one verification grants - use it to
correlate one agent action across servers).

This package validates such tokens locally against agentvp's JWKS. It imports no web framework
and nothing of the verifier but :mod:`verifier.protocol`::

    from verifier.resource import JWKSCache, ProtectedResource, ResourceGuard, grant_of
    from verifier.protocol.oauth.access_token import ToolBinding

    guard = ResourceGuard(
        resource="https://shop-a.example/mcp",       # what agentvp's policy file lists
        issuer="https://agentvp.example",             # agentvp's public URL
        jwks=JWKSCache("https://agentvp.example"),    # RFC 8414 discovery, cached
    )
    checkout = ToolBinding(
        action="commerce.checkout",
        fixed={"payee.id": "merchant-4711", "payee.domain": "shop-a.example"},
        arguments={"transaction_id": "order_id", "payment_amount.amount": "amount",
                   "payment_amount.currency": "currency"},
    )
    app = ProtectedResource(mcp_asgi_app, guard, tools={"checkout": checkout})
    # in a tool handler: grant_of(request).verification_id

**One token, one action.** An access token is single-use and grants one action, so the
middleware lets one request carry at most one tool call, whatever the application behind it
accepts: a JSON-RPC batch (a JSON array) is refused with 400 ``invalid_request`` /
``batch_refused`` - even one holding a single call, or none - rather than checked call by call
(which would need one grant per call). So is a body the guard cannot read as strictly as any
application might (``body_not_json``: duplicate members, ``NaN``, a byte-order mark, invalid
UTF-8; ``body_not_json_rpc``: not an object). The guard covers every method and every path at
or below the resource path (after resolving ``//``, ``.`` and ``..``), and refuses WebSocket
handshakes there. A refused request runs nothing and leaves the token unspent.

Modules: :mod:`.access_token` (the token check, the grant, errors), :mod:`.tokens` (the request
check: DPoP proof, scope and tool call), :mod:`.messages` (the one JSON-RPC message a request
may carry), :mod:`.keys` (JWKS cache, replay cache), :mod:`.nonces` (server DPoP nonces, RFC
9449 §9), :mod:`.asgi` (the middleware and RFC 9728 metadata), :mod:`.signals` (agentvp's Shared
Signals stream: tokens of revoked mandates refused before they expire), :mod:`.confirm` (the
person confirms one tool call from their wallet: a URL-mode elicitation).
"""

from __future__ import annotations

from .asgi import SCOPE_KEY, ProtectedResource, grant_of, metadata_url
from .confirm import CallConfirmations, ConfirmationFailedError, ConfirmationRequiredError
from .keys import JWKSCache, JWKSUnavailableError, MemoryReplayCache, ReplayStore
from .nonces import DPoPNonces
from .signals import RevocationSignals
from .tokens import AccessError, AccessGrant, ResourceGuard, check_tool, verify_access_token

__all__ = [
    "SCOPE_KEY",
    "AccessError",
    "AccessGrant",
    "CallConfirmations",
    "ConfirmationFailedError",
    "ConfirmationRequiredError",
    "DPoPNonces",
    "JWKSCache",
    "JWKSUnavailableError",
    "MemoryReplayCache",
    "ProtectedResource",
    "ReplayStore",
    "ResourceGuard",
    "RevocationSignals",
    "check_tool",
    "grant_of",
    "metadata_url",
    "verify_access_token",
]
