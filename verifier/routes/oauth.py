"""OAuth endpoints for agents and resource servers (:mod:`verifier.oauth.agent_grant`).

- ``GET /.well-known/oauth-authorization-server`` - RFC 8414 metadata;
- ``GET /oauth/jwks.json`` - the key access tokens are signed with (``kid``);
- ``POST /oauth/agent-authorize`` - form: ``resource`` (repeatable, RFC 8707 §2),
  ``authorization_details`` (RFC 9396 §2, JSON); header ``DPoP`` (RFC 9449 §5). Public: the
  agent authenticates with its mandate presentation; rate limited per client like the wallet
  endpoints (``AGENTVP_WALLET_RATE_LIMIT``);
- ``POST /oauth/token`` - form: ``grant_type``, ``auth_req_id``, optional ``resource``; header
  ``DPoP``. Errors as RFC 6749 §5.2 JSON (400), the pending ones with ``interval``. The
  ``authorization_code`` and ``refresh_token`` grants of the wallet login go to
  :class:`verifier.oauth.code_grant.CodeGrants` (routes in :mod:`.oauth_login`), the
  ``client_credentials`` grant of service clients to :class:`verifier.oauth.pep_clients.
  PEPClients`;
- ``POST /oauth/introspect`` - RFC 7662, form ``token``; for relying parties (API key).
- ``POST /oauth/revoke`` - RFC 7009, form ``token``, ``token_type_hint``; an API key, or a public
  client's ``client_id`` for its own tokens (never a service client's: it has a secret;
  :mod:`verifier.oauth.revocation`). What it revokes is announced on the Shared Signals streams
  as one CAEP ``session-revoked``.

Forms are ``application/x-www-form-urlencoded``, UTF-8, bounded; only ``resource`` may repeat.
Every answer carries ``Cache-Control: no-store`` (RFC 6749 §5.1) except the metadata and JWKS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from verifier.agents.verifications import AgentVerifications
from verifier.errors import ServiceError
from verifier.oauth.agent_grant import AccessSettings, AgentAccess, OAuthError
from verifier.oauth.pep_clients import PEPClients
from verifier.oauth.revocation import TokenRevocation
from verifier.oauth.server import LoginServer, authorization_server_metadata
from verifier.policy.presets import load_policy_file
from verifier.protocol.oauth.access_token import GRANT_TYPE
from verifier.protocol.oid4vp.response import FORM_CONTENT_TYPE
from verifier.routes.deps import rate_limited, require_api_key
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, errors, form_request
from verifier.routes.schemas import (
    JWKS,
    AgentAuthorization,
    AuthorizationServerMetadata,
    Introspection,
    TokenAnswer,
)
from verifier.settings import Settings
from verifier.ssf.events import SESSION_REVOKED
from verifier.ssf.transmitter import Transmitter

__all__ = ["build_agent_access", "router"]

router = APIRouter(tags=["agent access (OAuth)"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FIELDS = 16
REPEATABLE = frozenset({"resource"})


def build_agent_access(settings: Settings, agents: AgentVerifications) -> AgentAccess | None:
    """The authorization server over ``agents``; None without a signing key."""
    key = agents.presentations.config.receipt_key
    if key is None:
        return None
    return AgentAccess(
        agents,
        load_policy_file(settings.policy_file).resources,
        key=key,
        settings=AccessSettings(
            issuer=settings.public_url,
            token_lifetime=settings.agent_token_lifetime,
            poll_interval=settings.agent_poll_interval,
            dpop_max_age=settings.dpop_max_age,
            leeway=settings.clock_leeway,
            max_json_depth=settings.max_json_depth,
        ),
    )


def access_of(request: Request) -> AgentAccess:
    access: AgentAccess | None = getattr(request.app.state, "agent_access", None)
    if access is None:
        raise ServiceError(404, "not_found", "agent access is not configured (no signing key)")
    return access


async def form_of(request: Request) -> dict[str, list[str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise OAuthError(400, "invalid_request", f"content type must be {FORM_CONTENT_TYPE}")
    try:
        text = (await request.body()).decode("utf-8")
        pairs = parse_qsl(text, strict_parsing=bool(text), max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "the form body is malformed") from None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in form and name not in REPEATABLE:
            raise OAuthError(400, "invalid_request", f"parameter {name!r} repeated")
        form.setdefault(name, []).append(value)
    return form


def dpop_of(request: Request) -> list[str]:
    return request.headers.getlist("dpop")


async def _answer(call: Callable[[], Awaitable[dict[str, Any]]]) -> JSONResponse:
    try:
        body = await call()
    except OAuthError as exc:
        return JSONResponse(exc.body(), exc.status, headers={**NO_STORE, **exc.headers})
    return JSONResponse(body, headers=NO_STORE)


DPOP = {"DPoP": "A DPoP proof (RFC 9449) for this request."}


@router.get(
    "/.well-known/oauth-authorization-server",
    responses={**answers(AuthorizationServerMetadata), **errors(404)},
)
async def metadata(request: Request) -> JSONResponse:
    """RFC 8414 authorization server metadata."""
    access = access_of(request)
    login = getattr(request.app.state, "login_server", None)
    resources = login.login.resources if login is not None else {}
    document = authorization_server_metadata(access, resources, login=login is not None)
    return JSONResponse(document, headers={"Cache-Control": "max-age=300"})


@router.get("/oauth/jwks.json", responses={**answers(JWKS), **errors(404)})
async def jwks(request: Request) -> JSONResponse:
    """The access-token signing key."""
    return JSONResponse(access_of(request).jwks(), headers={"Cache-Control": "max-age=300"})


@router.post(
    "/oauth/agent-authorize",
    dependencies=[Depends(rate_limited)],
    responses={**answers(AgentAuthorization), **errors(400, 404, 413, 429, 503)},
    openapi_extra=form_request(
        {
            "resource": "A protected resource (RFC 8707); repeatable.",
            "authorization_details": "RFC 9396 authorization details (JSON): the action.",
        },
        arrays=["resource"],
        headers=DPOP,
    ),
)
async def agent_authorize(request: Request) -> JSONResponse:
    """Start verifying the agent for one action at one or more resources."""
    access = access_of(request)

    async def call() -> dict[str, Any]:
        form = await form_of(request)
        details = form.get("authorization_details", [])
        return await access.authorize(
            dpop=dpop_of(request),
            resources=form.get("resource", []),
            authorization_details=details[0] if details else None,
        )

    return await _answer(call)


@router.post(
    "/oauth/token",
    responses={**answers(TokenAnswer), **errors(400, 404, 413, 503)},
    openapi_extra=form_request(
        {
            "grant_type": f"`{GRANT_TYPE}`, `authorization_code`, `refresh_token` or "
            "`client_credentials` (a service client, e.g. a PEP: HTTP Basic).",
            "auth_req_id": "Agent grant: from /oauth/agent-authorize.",
            "resource": "The resource the token is for (RFC 8707).",
            "code": "authorization_code: the code from the wallet login.",
            "redirect_uri": "authorization_code: the redirect URI of the authorization request.",
            "code_verifier": "authorization_code: the PKCE verifier (RFC 7636).",
            "client_id": "authorization_code, refresh_token: the public client.",
            "refresh_token": "refresh_token: the current refresh token (rotated).",
            "scope": "refresh_token, client_credentials: a narrower scope (optional).",
            "client_secret": "client_credentials: the client secret (client_secret_post).",
        },
        headers=DPOP,
    ),
)
async def token(request: Request) -> JSONResponse:
    """The token endpoint: the agent grant (CIBA-style polling), or the wallet login's
    authorization code and refresh token grants."""
    access = access_of(request)

    async def call() -> dict[str, Any]:
        form = await form_of(request)
        grant_type = form.get("grant_type", [])
        login: LoginServer | None = getattr(request.app.state, "login_server", None)
        if login is not None and grant_type == ["authorization_code"]:
            return await login.grants.authorization_code(dpop=dpop_of(request), form=form)
        if login is not None and grant_type == ["refresh_token"]:
            return await login.grants.refresh_token(dpop=dpop_of(request), form=form)
        pep: PEPClients | None = getattr(request.app.state, "pep_clients", None)
        if pep is not None and grant_type == ["client_credentials"]:
            authorization = request.headers.get("authorization")
            return await pep.token(authorization=authorization, form=form)
        return await access.token(dpop=dpop_of(request), form=form)

    return await _answer(call)


@router.post(
    "/oauth/introspect",
    dependencies=[Depends(require_api_key)],
    responses={**answers(Introspection), **errors(400, 401, 404, 413, 503)},
    openapi_extra=form_request({"token": "An access token."}, required=["token"]),
)
async def introspect(request: Request) -> JSONResponse:
    """RFC 7662 token introspection (API key)."""
    access = access_of(request)

    async def call() -> dict[str, Any]:
        form = await form_of(request)
        tokens = form.get("token", [])
        if len(tokens) != 1:
            raise OAuthError(400, "invalid_request", "token is required")
        login: LoginServer | None = getattr(request.app.state, "login_server", None)
        answer = await login.grants.introspect(tokens[0]) if login is not None else None
        return answer if answer is not None else await access.introspect(tokens[0])

    return await _answer(call)


@router.post(
    "/oauth/revoke",
    response_class=Response,
    responses={
        200: {"description": "Revoked, or nothing to revoke (RFC 7009 §2.2)."},
        **errors(400, 401, 404, 413),
    },
    openapi_extra=form_request(
        {
            "token": "An access token or a refresh token.",
            "token_type_hint": "`access_token` or `refresh_token` (optional).",
            "client_id": "A client revoking its own token (without an API key): a public "
            "client, or a service client with its `client_secret`.",
            "client_secret": "A service client's secret (`client_secret_post`; or HTTP Basic).",
        },
        required=["token"],
    ),
)
async def revoke(request: Request) -> Response:
    """RFC 7009 token revocation: an API key (any token), or a client's own token - a public
    client by its ``client_id``, a service client authenticated with its secret."""
    access = access_of(request)

    async def call() -> dict[str, Any]:
        form = await form_of(request)
        authorization = request.headers.get("authorization")
        ids = form.get("client_id", [])
        authenticated = False
        if authorization is not None and authorization.partition(" ")[0].lower() != "basic":
            await require_api_key(request)
            client_id = None
        elif authorization is not None or "client_secret" in form:
            client_id = await _service_client(request, authorization, form)
            authenticated = True
        else:
            if len(ids) != 1 or not ids[0]:
                raise OAuthError(
                    401, "invalid_client", "send an API key or the client_id of a public client"
                )
            client_id = ids[0]
        tokens = form.get("token", [])
        hints = form.get("token_type_hint", [])
        if len(tokens) != 1 or not tokens[0] or len(hints) > 1:
            raise OAuthError(400, "invalid_request", "token is required (once)")
        login: LoginServer | None = getattr(request.app.state, "login_server", None)
        revocation = TokenRevocation(access, login.grants if login is not None else None)
        revoked = await revocation.revoke(
            tokens[0],
            hint=hints[0] if hints else None,
            client_id=client_id,
            authenticated=authenticated,
        )
        transmitter: Transmitter | None = getattr(request.app.state, "ssf", None)
        if revoked is not None and transmitter is not None:
            now = access.presentations.now()
            event = {
                "event_timestamp": now,
                "initiating_entity": "admin"
                if client_id is None
                else ("system" if authenticated else "user"),
                "reason_admin": {"en": "the token was revoked (RFC 7009)"},
            }
            await transmitter.emit(SESSION_REVOKED, revoked.subject, event, dedupe=revoked.dedupe)
        return {}

    answer = await _answer(call)
    if answer.status_code != 200:
        return answer
    return Response(status_code=200, headers=NO_STORE)  # RFC 7009 §2.2: no body


async def _service_client(
    request: Request, authorization: str | None, form: Mapping[str, Sequence[str]]
) -> str:
    """The id of the service client that authenticated this revocation (HTTP Basic or
    ``client_secret_post``, as at the token endpoint); 401 ``invalid_client`` otherwise."""
    pep: PEPClients | None = getattr(request.app.state, "pep_clients", None)
    if pep is None:
        raise OAuthError(401, "invalid_client", "this verifier has no service clients")
    client = await pep.authenticate(authorization, form)  # form_of refused repeated fields
    named = form.get("client_id", [])
    if named and named[0] != client.id:  # Basic for one client, the form naming another
        raise OAuthError(400, "invalid_request", "client_id is not the authenticated client")
    return client.id
