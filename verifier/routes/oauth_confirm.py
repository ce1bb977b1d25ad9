"""Mid-session confirmations (:mod:`verifier.oauth.confirm`): for resource servers (API key) and
the page the person opens (the URL of an MCP URL-mode elicitation).

- ``POST /oauth/confirmations`` (API key) - JSON ``{token, tool, arguments, message?,
  lifetime?}`` (at most :data:`MAX_BODY_BYTES`): 201 ``{confirmation_id, url, expires_at}``.
- ``POST /oauth/confirmations/{id}/redeem`` (API key) - JSON ``{token, tool, arguments}``: 200
  ``{status: confirmed, …}`` once, or 409 ``confirmation_pending`` / ``confirmation_rejected``
  / ``confirmation_wrong_person`` / ``confirmation_expired`` / ``confirmation_used``, 403
  ``confirmation_mismatch``, 404 ``confirmation_unknown``, 400 ``invalid_token``.
- ``GET /oauth/confirm/{id}`` - the page: the call to confirm, the QR code and
  ``<a id="wallet-link" href="openid4vp://…">`` (strict CSP; ``web/confirm.js`` polls).
- ``GET /oauth/confirm/{id}/status`` - what the page polls: ``{status, reason?}``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from verifier.errors import ServiceError
from verifier.oauth.agent_grant import OAuthError
from verifier.oauth.confirm import Confirmations, ConfirmPage
from verifier.presentations.qr import qr_svg
from verifier.protocol import AgentVPError
from verifier.protocol.jsonutil import loads
from verifier.routes.deps import rate_limited, require_api_key
from verifier.routes.json_response import JSONResponse
from verifier.routes.oauth_login import NO_STORE, login_server_of
from verifier.routes.openapi import answers, errors, json_request
from verifier.routes.web import WEB_DIR, SecureRoute

__all__ = ["router"]

router = APIRouter(tags=["wallet login (OAuth)"])
pages = APIRouter(route_class=SecureRoute, include_in_schema=False)
MAX_BODY_BYTES = 8 * 1024
MAX_ID = 64


class ConfirmationRequest(BaseModel):
    """What the resource server asks the person to confirm."""

    token: str = Field(description="The person's wallet-login access token (as presented).")
    tool: str = Field(max_length=128, description="The tool (operation) to confirm.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Its arguments.")
    message: str = Field("", max_length=300, description="Shown on the page.")
    lifetime: int | None = Field(
        None, ge=1, le=600, description="Seconds (default `AGENTVP_OAUTH_CONFIRM_LIFETIME`)."
    )


class ConfirmationStarted(BaseModel):
    """A started confirmation: hand `url` to the client (URL-mode elicitation)."""

    confirmation_id: str = Field(description="Also the elicitation id.")
    url: str = Field(description="The page the person opens.")
    expires_at: int = Field(description="Unix time; redeem before it.")


class RedeemRequest(BaseModel):
    """The same person's token and the same call."""

    token: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ConfirmationRedeemed(BaseModel):
    """A spent confirmation."""

    status: str = Field(description="`confirmed`.")
    confirmed_at: int
    tool: str
    sub: str = Field(description="The person (the token's pairwise `sub`).")


def _confirmations(request: Request) -> Confirmations:
    return login_server_of(request).confirmations


async def _body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise OAuthError(413, "invalid_request", "the request is too large")
    try:
        document = loads(body, what="request", max_depth=8, max_bytes=len(body) or 1)
    except AgentVPError as exc:
        raise OAuthError(400, "invalid_request", exc.reason) from None
    if not isinstance(document, dict):
        raise OAuthError(400, "invalid_request", "the body must be a JSON object")
    return document


async def _answer(call: Callable[[], Awaitable[dict[str, Any]]], status: int = 200) -> JSONResponse:
    try:
        body = await call()
    except OAuthError as exc:
        return JSONResponse(exc.body(), exc.status, headers=NO_STORE)
    return JSONResponse(body, status, headers=NO_STORE)


@router.post(
    "/oauth/confirmations",
    status_code=201,
    dependencies=[Depends(require_api_key)],
    responses={
        **answers(ConfirmationStarted, 201, "The confirmation and its page."),
        **errors(400, 401, 404, 413, 503),
    },
    openapi_extra=json_request(ConfirmationRequest),
)
async def start_confirmation(request: Request) -> JSONResponse:
    """Start a person's confirmation of one tool call (bound to the token's person and the
    call); answers the URL to hand to the MCP client (URL-mode elicitation)."""
    confirmations = _confirmations(request)

    async def call() -> dict[str, Any]:
        return await confirmations.start(await _body(request))

    return await _answer(call, 201)


@router.post(
    "/oauth/confirmations/{confirmation_id}/redeem",
    dependencies=[Depends(require_api_key)],
    responses={
        **answers(ConfirmationRedeemed),
        **errors(400, 401, 403, 404, 409, 413),
    },
    openapi_extra=json_request(RedeemRequest),
)
async def redeem_confirmation(request: Request, confirmation_id: str) -> JSONResponse:
    """Spend a confirmation (once) for the same person's token and the same call."""
    confirmations = _confirmations(request)

    async def call() -> dict[str, Any]:
        if len(confirmation_id) > MAX_ID:
            raise OAuthError(404, "confirmation_unknown", "no such confirmation")
        return await confirmations.redeem(confirmation_id, await _body(request))

    return await _answer(call)


def _page(page: ConfirmPage) -> str:
    template = (WEB_DIR / "confirm.html").read_text(encoding="utf-8")
    items = "".join(
        f"<li><code>{html.escape(name)}</code>: "
        f"<strong>{html.escape(json.dumps(value, ensure_ascii=False))}</strong></li>"
        for name, value in page.arguments.items()
    )
    values = {
        "confirmation_id": html.escape(page.confirmation_id),
        "expires_at": str(page.expires_at),
        "client_name": html.escape(page.client_name),
        "resource": html.escape(page.resource),
        "tool": html.escape(page.tool),
        "argument_items": items,
        "message": html.escape(page.message),
        "qr_svg": qr_svg(page.wallet_link),
        "wallet_link": html.escape(page.wallet_link),
    }
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


@pages.get("/oauth/confirm/{confirmation_id}", dependencies=[Depends(rate_limited)])
async def confirm_page(request: Request, confirmation_id: str) -> HTMLResponse:
    """The page the person opens: the call, the QR code and the wallet link."""
    confirmations = _confirmations(request)
    if len(confirmation_id) > MAX_ID:
        raise ServiceError(404, "not_found", "no such confirmation")
    page = await confirmations.page(confirmation_id)
    return HTMLResponse(_page(page), headers=NO_STORE)


@pages.get("/oauth/confirm/{confirmation_id}/status")
async def confirm_status(request: Request, confirmation_id: str) -> JSONResponse:
    """Whether the wallet answered and the confirmation is decided."""
    confirmations = _confirmations(request)
    if len(confirmation_id) > MAX_ID:
        raise ServiceError(404, "not_found", "no such confirmation")
    return JSONResponse(await confirmations.status(confirmation_id), headers=NO_STORE)


router.include_router(pages)
