"""The wallet login endpoints (:mod:`verifier.oauth.login`, :mod:`verifier.oauth.clients`).

- ``GET /oauth/authorize`` - the authorization request (RFC 6749 §4.1.1 with PKCE, RFC 8707
  ``resource``). Valid: 200, the login page (strict CSP, no external assets, no inline script):
  client name, resource, scopes, the QR code of an OpenID4VP request and
  ``<a id="wallet-link" href="openid4vp://…">``; ``web/login.js`` polls and then navigates to
  the client. An error about the client or its redirect URI: 400 HTML, never a redirect; any
  other error: 302 to the redirect URI with ``error``, ``error_description``, ``state`` and
  ``iss`` (RFC 9207). Each page opens a presentation, so the endpoint shares the per-client
  rate limit of the wallet endpoints (``AGENTVP_WALLET_RATE_LIMIT``, 429 before anything is
  created).
- ``GET /oauth/login/{login_id}`` - what the page polls: ``{"status": "pending"}`` or
  ``{"status": "verified"|"rejected", "redirect": …}`` (``no-store``).
- ``POST /oauth/register`` - RFC 7591 dynamic registration of a public client: JSON body (at
  most :data:`MAX_REGISTRATION_BYTES`), rate limited per client address like the wallet
  endpoints; 201 with ``client_id``. A service client (``grant_types`` ``client_credentials``,
  :mod:`verifier.oauth.pep_clients`) needs an API key as the initial access token.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from verifier.errors import ServiceError
from verifier.oauth.agent_grant import AgentAccess, OAuthError
from verifier.oauth.clients import ClientRegistry
from verifier.oauth.code_grant import CodeGrants, LoginTokenSettings
from verifier.oauth.login import LoginError, LoginPage, WalletLogin, with_query
from verifier.oauth.pep_clients import PEPClients
from verifier.oauth.server import LoginServer
from verifier.ops.fetch import SafeFetcher
from verifier.policy.presets import load_policy_file
from verifier.presentations.qr import qr_svg
from verifier.protocol import AgentVPError
from verifier.protocol.jsonutil import loads
from verifier.routes.deps import rate_limited, require_api_key
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, errors, json_request
from verifier.routes.web import WEB_DIR, SecureRoute
from verifier.settings import Settings

__all__ = ["build_login_server", "router"]

router = APIRouter(tags=["wallet login (OAuth)"])
pages = APIRouter(route_class=SecureRoute, include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_REGISTRATION_BYTES = 8 * 1024
MAX_QUERY_BYTES = 8 * 1024
ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>agentvp · Login error</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body class="landing"><main class="card landing-card"><h1>This login cannot go on</h1>
<p id="error"><code>{error}</code>: {description}</p>
<p class="muted">Go back to the application and try again.</p></main></body></html>
"""


class ClientRegistration(BaseModel):
    """RFC 7591 §2 client metadata of a public client (other members are ignored)."""

    model_config = ConfigDict(extra="allow")
    redirect_uris: list[str] = Field(
        min_length=1, max_length=5, description="https, or http at a loopback address."
    )
    client_name: str | None = Field(None, max_length=100)
    token_endpoint_auth_method: str = Field("none", description="Only `none`.")
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code"])
    response_types: list[str] = Field(default_factory=lambda: ["code"])


class ClientInformation(BaseModel):
    """RFC 7591 §3.2.1 client information response."""

    client_id: str
    client_id_issued_at: int
    redirect_uris: list[str]
    client_name: str
    grant_types: list[str]
    response_types: list[str]
    token_endpoint_auth_method: str


def build_login_server(
    settings: Settings, access: AgentAccess | None, on_close: list[Callable[[], Any]]
) -> LoginServer | None:
    """The wallet login over the agent grant's key and store; None without a signing key."""
    if access is None:
        return None
    resources = load_policy_file(settings.policy_file).resources
    fetcher = SafeFetcher(
        timeout=settings.outbound_timeout,
        max_bytes=16 * 1024,
        allow_hosts=settings.outbound_allow_list,
        ca_file=settings.outbound_ca_file,
    )
    on_close.append(fetcher.close)

    async def fetch(url: str) -> bytes:
        return (await fetcher.get(url, accept="application/json")).body

    now = access.presentations.now
    clients = ClientRegistry(
        access.store,
        clock=now,
        lifetime=settings.oauth_client_lifetime,
        cimd_ttl=settings.oauth_cimd_ttl,
        fetch=fetch,
    )
    login = WalletLogin(
        access.agents,
        resources,
        clients,
        issuer=settings.public_url,
        code_lifetime=settings.oauth_code_lifetime,
    )
    grants = CodeGrants(
        access,
        resources,
        settings=LoginTokenSettings(
            token_lifetime=settings.oauth_token_lifetime,
            refresh_lifetime=settings.oauth_refresh_lifetime,
            watch_every=settings.grant_watch_interval,
        ),
    )
    return LoginServer(
        access=access,
        clients=clients,
        login=login,
        grants=grants,
        confirm_lifetime=settings.oauth_confirm_lifetime,
    )


def login_server_of(request: Request) -> LoginServer:
    server: LoginServer | None = getattr(request.app.state, "login_server", None)
    if server is None:
        raise ServiceError(404, "not_found", "the authorization server is not configured")
    return server


def _page(page: LoginPage) -> str:
    template = (WEB_DIR / "login.html").read_text(encoding="utf-8")
    scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in page.scopes)
    values = {
        "login_id": html.escape(page.login_id),
        "expires_at": str(page.expires_at),
        "client_name": html.escape(page.client_name),
        "client_id": html.escape(page.client_id),
        "resource": html.escape(page.resource),
        "scope_items": scopes,
        "qr_svg": qr_svg(page.wallet_link),
        "wallet_link": html.escape(page.wallet_link),
    }
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _error_page(error: str, description: str) -> HTMLResponse:
    body = ERROR_PAGE.replace("{error}", html.escape(error)).replace(
        "{description}", html.escape(description)
    )
    return HTMLResponse(body, 400, headers=NO_STORE)


@pages.get("/oauth/authorize", dependencies=[Depends(rate_limited)])
async def authorize(request: Request) -> Response:
    """The authorization request: the wallet login page, or an error."""
    server = login_server_of(request)
    query = request.url.query
    if len(query) > MAX_QUERY_BYTES:
        return _error_page("invalid_request", "the request is too large")
    params = parse_qs(query, keep_blank_values=False, max_num_fields=32)
    try:
        page = await server.login.start(params)
    except LoginError as exc:
        if exc.redirect is None:
            return _error_page(exc.error, exc.description)
        answer = {"error": exc.error, "error_description": exc.description}
        if exc.state is not None:
            answer["state"] = exc.state
        answer["iss"] = server.access.settings.issuer
        return RedirectResponse(with_query(exc.redirect, answer), 302, headers=NO_STORE)
    except ValueError:  # max_num_fields
        return _error_page("invalid_request", "too many parameters")
    return HTMLResponse(_page(page), headers=NO_STORE)


@pages.get("/oauth/login/{login_id}")
async def login_status(request: Request, login_id: str) -> JSONResponse:
    """Whether the wallet answered; then where the page goes."""
    server = login_server_of(request)
    if len(login_id) > 64:
        raise ServiceError(404, "not_found", "no such login")
    return JSONResponse(await server.login.poll(login_id), headers=NO_STORE)


@router.post(
    "/oauth/register",
    status_code=201,
    dependencies=[Depends(rate_limited)],
    responses={
        **answers(ClientInformation, 201, "The registered client (RFC 7591 §3.2.1)."),
        **errors(400, 404, 413, 429),
    },
    openapi_extra=json_request(ClientRegistration),
)
async def register(request: Request) -> JSONResponse:
    """RFC 7591 dynamic client registration (public clients, loopback or https redirects)."""
    server = login_server_of(request)
    body = await request.body()
    try:
        if len(body) > MAX_REGISTRATION_BYTES:
            raise OAuthError(413, "invalid_client_metadata", "the registration is too large")
        try:
            document = loads(body, what="registration", max_depth=8, max_bytes=len(body) or 1)
        except AgentVPError as exc:
            raise OAuthError(400, "invalid_client_metadata", exc.reason) from None
        pep: PEPClients | None = getattr(request.app.state, "pep_clients", None)
        if pep is not None and PEPClients.wants(document):
            await require_api_key(request)  # RFC 7591 §3: the initial access token
            answer = await pep.register(document)
        else:
            answer = await server.clients.register(document)
    except OAuthError as exc:
        return JSONResponse(exc.body(), exc.status, headers=NO_STORE)
    return JSONResponse(answer, 201, headers=NO_STORE)


router.include_router(pages)
