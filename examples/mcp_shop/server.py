"""mcp_shop: an example MCP server whose tools only agents with a verified mandate may call.

    python examples/mcp_shop/server.py --agentvp http://localhost:8080 --port 8765

The ``mcp`` SDK serves the tools over streamable HTTP (stateless, JSON responses) at
``/mcp``; :class:`verifier.resource.ProtectedResource` wraps that ASGI app and lets a request
through only with an agentvp access token bound to the caller's DPoP key, issued for this
resource (``--resource``, default ``http://127.0.0.1:<port>/mcp`` - list the same URI under
``resources:`` in agentvp's policy file) and covering the tool call:

- ``checkout(order_id, amount, currency)`` is the action ``commerce.checkout`` paid to this shop
  (the payee is fixed by the server, not chosen by the agent); ``amount`` may be at most the
  granted amount;
- ``refund(order_id, amount, currency)`` is ``payment.refund``, which a checkout grant does not
  cover.

It also accepts the tokens of agentvp's **wallet login** - what a stock MCP client gets
through OAuth authorization code + PKCE after the person presented their identity from their
wallet: ``Bearer`` (or DPoP-bound) tokens with a ``scope``. Every tool needs ``--scope``
(default ``mcp``); ``refund`` needs ``--refund-scope`` as well (default ``mcp:refund``), so a
client holding only ``mcp`` gets 403 ``insufficient_scope`` and re-authorizes (step-up).
``--dpop-required`` refuses Bearer tokens; ``--agent-only`` accepts agent tokens only.
``--dpop-nonce`` wants this server's nonce in every DPoP proof (RFC 9449 §9: 401
``use_dpop_nonce`` with a ``DPoP-Nonce`` header first); instances that share
``MCP_SHOP_DPOP_NONCE_SECRET`` accept each other's nonces (without it: a random secret).

With ``--ssf-api-key`` (an agentvp API key) the server subscribes to agentvp's Shared Signals
stream for this resource and refuses (401 ``token_revoked``) tokens whose mandate agentvp has
since seen revoked (:class:`verifier.resource.RevocationSignals`).

With ``--confirm-above N`` (and ``--api-key``, an agentvp API key) a wallet-login ``checkout``
of more than ``N`` (minor units) needs the person's confirmation from their wallet first: the
call answers the MCP error ``URLElicitationRequiredError`` (-32042) holding a URL-mode
elicitation (MCP 2025-11-25) whose ``url`` is agentvp's confirmation page for exactly this call;
once the person presented their identity there, the client retries the call and it goes
through (once). A decline, another person's wallet or an expired confirmation fail the call
(:class:`verifier.resource.CallConfirmations`). Agent tokens are not asked: their mandate
already names the amount the person allowed.

Every call is logged with the token's ``verification_id`` (the same at every server one agentvp
verification granted), ``mandate_jti``, ``client_id`` and ``sub``. Unauthenticated requests get
401 with ``WWW-Authenticate: DPoP ... resource_metadata=...`` (and a ``Bearer`` challenge with
the scope); the metadata (RFC 9728) names agentvp.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
from typing import Any

import uvicorn
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import ElicitRequestURLParams

from verifier.protocol.oauth.access_token import ToolBinding
from verifier.resource import (
    AccessGrant,
    CallConfirmations,
    ConfirmationFailedError,
    ConfirmationRequiredError,
    DPoPNonces,
    JWKSCache,
    ProtectedResource,
    ResourceGuard,
    RevocationSignals,
    grant_of,
)

log = logging.getLogger("mcp_shop")
SHOP: dict[str, str | int] = {
    "payee.id": "merchant-4711",
    "payee.name": "Shop A",
    "payee.domain": "shop-a.example",
}
ORDER = {
    "transaction_id": "order_id",
    "payment_amount.amount": "amount",
    "payment_amount.currency": "currency",
}
BINDINGS = {
    "checkout": ToolBinding(action="commerce.checkout", fixed=SHOP, arguments=ORDER),
    "refund": ToolBinding(action="payment.refund", fixed=SHOP, arguments=ORDER),
}


def _audit(tool: str, ctx: Context[Any, Any, Any], **details: Any) -> dict[str, Any]:
    grant = grant_of(ctx.request_context.request)
    log.info(
        "%s %s verification_id=%s mandate_jti=%s client_id=%s sub=%s",
        tool,
        " ".join(f"{k}={v}" for k, v in details.items()),
        grant.verification_id,
        grant.mandate_jti,
        grant.client_id,
        grant.subject,
    )
    return {"verification_id": grant.verification_id, **details}


async def _confirm(
    confirmations: CallConfirmations, grant: AccessGrant, arguments: dict[str, Any]
) -> None:
    """The person's confirmation of this checkout, or the elicitation / error that says why not."""
    message = (
        f"Confirm paying {arguments['amount']} {arguments['currency']} "
        f"for order {arguments['order_id']} with your wallet."
    )
    try:
        await confirmations.require(grant, "checkout", arguments, message)
    except ConfirmationRequiredError as need:
        elicitation = ElicitRequestURLParams(
            mode="url", message=need.message, url=need.url, elicitationId=need.elicitation_id
        )
        raise UrlElicitationRequiredError([elicitation]) from None
    except ConfirmationFailedError as failed:
        raise ToolError(f"checkout not confirmed: {failed.code}") from None


def build(
    agentvp: str,
    resource: str,
    *,
    name: str = "mcp_shop",
    leeway: int = 5,
    scope: str | None = "mcp",
    refund_scope: str = "mcp:refund",
    dpop_required: bool = False,
    signals: RevocationSignals | None = None,
    dpop_nonces: DPoPNonces | None = None,
    confirm_above: int | None = None,
    confirmations: CallConfirmations | None = None,
) -> Any:
    """The protected ASGI app (``signals``: agentvp's SSF stream, to refuse revoked grants;
    ``confirmations``: wallet-login checkouts above ``confirm_above`` need the person's
    confirmation)."""
    path = "/" + resource.split("://", 1)[1].partition("/")[2]
    mcp = FastMCP(name, stateless_http=True, json_response=True, streamable_http_path=path)

    @mcp.tool()
    async def checkout(
        order_id: str, amount: int, currency: str, ctx: Context[Any, Any, Any]
    ) -> dict[str, Any]:
        """Pay for an order at Shop A (amount in minor units, e.g. cents)."""
        grant = grant_of(ctx.request_context.request)
        asked = confirm_above is not None and amount > confirm_above
        if confirmations is not None and asked and grant.action is None:
            order = {"order_id": order_id, "amount": amount, "currency": currency}
            await _confirm(confirmations, grant, order)
        return {
            "status": "paid",
            **_audit("checkout", ctx, order_id=order_id, amount=amount, currency=currency),
        }

    @mcp.tool()
    async def refund(
        order_id: str, amount: int, currency: str, ctx: Context[Any, Any, Any]
    ) -> dict[str, Any]:
        """Refund (part of) an order."""
        return {
            "status": "refunded",
            **_audit("refund", ctx, order_id=order_id, amount=amount, currency=currency),
        }

    guard = ResourceGuard(
        resource=resource,
        issuer=agentvp.rstrip("/"),
        jwks=signals.jwks if signals is not None else JWKSCache(agentvp),
        leeway=leeway,
        base_scope=scope,
        dpop_required=dpop_required,
        signals=signals,
        dpop_nonces=dpop_nonces,
    )
    return ProtectedResource(
        mcp.streamable_http_app(),
        guard,
        tools=BINDINGS,
        tool_scopes={"refund": refund_scope} if scope else {},
        resource_name=name,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agentvp", required=True, help="agentvp's public URL (the issuer).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--resource", help="This server's resource URI (default: .../mcp).")
    parser.add_argument("--name", default="mcp_shop", help="Name in logs and metadata.")
    parser.add_argument("--leeway", type=int, default=5, help="Clock skew tolerated (s).")
    parser.add_argument("--scope", default="mcp", help="Scope every wallet-login call needs.")
    parser.add_argument("--refund-scope", default="mcp:refund", help="Scope refund needs too.")
    parser.add_argument("--dpop-required", action="store_true", help="Refuse Bearer tokens.")
    parser.add_argument("--agent-only", action="store_true", help="Accept agent tokens only.")
    parser.add_argument(
        "--dpop-nonce",
        action="store_true",
        help="Require this server's DPoP nonce in proofs (RFC 9449 §9); the secret is "
        "MCP_SHOP_DPOP_NONCE_SECRET (shared by instances) or random.",
    )
    parser.add_argument(
        "--ssf-api-key",
        default=os.environ.get("MCP_SHOP_SSF_API_KEY"),
        help="An agentvp API key: subscribe to agentvp's Shared Signals (a poll stream for this "
        "resource) and refuse tokens of mandates revoked since they were issued.",
    )
    parser.add_argument(
        "--confirm-above",
        type=int,
        help="Wallet-login checkouts above this amount need the person's wallet confirmation "
        "(a URL-mode elicitation); needs --api-key.",
    )
    parser.add_argument(
        "--confirm-lifetime", type=int, help="Seconds a confirmation may take (agentvp's default)."
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("MCP_SHOP_API_KEY"),
        help="An agentvp API key for confirmations (POST /oauth/confirmations).",
    )
    parser.add_argument(
        "--signals-interval", type=float, default=5.0, help="Poll at most every N s."
    )
    args = parser.parse_args()
    resource = args.resource or f"http://{args.host}:{args.port}/mcp"
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.name} %(message)s")
    log.info("serving %s for agentvp %s", resource, args.agentvp)
    signals = None
    if args.ssf_api_key:
        signals = RevocationSignals(
            args.agentvp,
            api_key=args.ssf_api_key,
            audience=resource,
            jwks=JWKSCache(args.agentvp),
            interval=args.signals_interval,
        )
        asyncio.run(signals.refresh())  # subscribe now: events from here on are kept for us
    confirmations = None
    if args.confirm_above is not None:
        if not args.api_key:
            parser.error("--confirm-above needs --api-key (or MCP_SHOP_API_KEY)")
        confirmations = CallConfirmations(
            args.agentvp, api_key=args.api_key, lifetime=args.confirm_lifetime
        )
    app = build(
        args.agentvp,
        resource,
        name=args.name,
        leeway=args.leeway,
        scope=None if args.agent_only else args.scope,
        refund_scope=args.refund_scope,
        dpop_required=args.dpop_required,
        signals=signals,
        dpop_nonces=_nonces() if args.dpop_nonce else None,
        confirm_above=args.confirm_above,
        confirmations=confirmations,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def _nonces() -> DPoPNonces:
    secret = os.environ.get("MCP_SHOP_DPOP_NONCE_SECRET", "")
    return DPoPNonces(secret.encode() if secret else secrets.token_bytes(32))


if __name__ == "__main__":
    main()
