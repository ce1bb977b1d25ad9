"""Wallet-facing endpoints (public): the request URI (GET and ``request_uri_method=post``) and
the response URI (``direct_post`` / ``direct_post.jwt``), plus the verifier's JWKS.

The request and response URIs are rate limited per client (``AGENTVP_WALLET_RATE_LIMIT``,
:func:`~verifier.routes.deps.rate_limited`); the JWKS is not (it is cacheable and static)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from verifier.errors import ServiceError
from verifier.protocol import AgentVPError
from verifier.protocol.oid4vp.response import FORM_CONTENT_TYPE, parse_form
from verifier.routes.deps import rate_limited, service_of
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, content, errors, form_request
from verifier.routes.schemas import JWKS, WalletResponseAnswer

__all__ = ["router"]

router = APIRouter(tags=["wallet"])
REQUEST_MEDIA_TYPE = "application/oauth-authz-req+jwt"
NO_STORE = {"Cache-Control": "no-store"}
LIMITED = [Depends(rate_limited)]
REQUEST_OBJECT: dict[int | str, dict[str, Any]] = {
    200: content(REQUEST_MEDIA_TYPE, description="The signed Request Object.")
}
RESPONSE_FIELDS = {
    "response": "`direct_post.jwt`: the JWE (ECDH-ES) of the response parameters.",
    "vp_token": "`direct_post`: the vp_token, a JSON object serialised as a string.",
    "state": "`direct_post`: the request's state.",
    "id_token": "`direct_post`: a SIOPv2 self-issued ID token.",
    "error": "An OAuth error code instead of a vp_token (e.g. `access_denied`).",
    "error_description": "Text for the error.",
}


@router.get(
    "/wallet/request/{request_id}",
    dependencies=LIMITED,
    response_class=Response,
    responses={**REQUEST_OBJECT, **errors(400, 404, 429, 503)},
)
async def get_request_object(request: Request, request_id: str) -> Response:
    """The signed Request Object (JAR), once."""
    token = await service_of(request).request_object(request_id, wallet_nonce=None)
    return Response(token, media_type=REQUEST_MEDIA_TYPE, headers=NO_STORE)


@router.post(
    "/wallet/request/{request_id}",
    dependencies=LIMITED,
    response_class=Response,
    responses={**REQUEST_OBJECT, **errors(400, 404, 413, 415, 429, 503)},
    openapi_extra=form_request(
        {
            "wallet_metadata": "The wallet's metadata (JSON); not used.",
            "wallet_nonce": "Echoed as `wallet_nonce` in the signed Request Object.",
        }
    ),
)
async def post_request_object(request: Request, request_id: str) -> Response:
    """``request_uri_method=post``: ``wallet_metadata`` and ``wallet_nonce`` (echoed in the
    signed object); unknown parameters are ignored (VP §5.10)."""
    service = service_of(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    wallet_nonce = None
    body = await request.body()
    if body:
        if content_type != FORM_CONTENT_TYPE:
            raise ServiceError(415, "invalid_request", f"content type must be {FORM_CONTENT_TYPE}")
        try:
            form = parse_form(body, max_bytes=service.config.max_body_bytes)
        except AgentVPError as exc:
            raise ServiceError(400, "invalid_request", exc.reason) from None
        wallet_nonce = form.get("wallet_nonce")
    token = await service.request_object(request_id, wallet_nonce=wallet_nonce)
    return Response(token, media_type=REQUEST_MEDIA_TYPE, headers=NO_STORE)


@router.post(
    "/wallet/response/{request_id}",
    dependencies=LIMITED,
    responses={**answers(WalletResponseAnswer), **errors(400, 404, 413, 415, 429, 503)},
    openapi_extra=form_request(RESPONSE_FIELDS),
)
async def post_response(request: Request, request_id: str) -> JSONResponse:
    """The Response URI: 200 once the response is processed (+ ``redirect_uri`` same-device)."""
    body = await service_of(request).receive_response(
        request_id,
        content_type=request.headers.get("content-type", ""),
        body=await request.body(),
    )
    return JSONResponse(body, headers=NO_STORE)


@router.get("/.well-known/jwks.json", responses=answers(JWKS))
async def jwks(request: Request) -> JSONResponse:
    """The verifier's public signing key (request objects; receipts)."""
    key = service_of(request).config.signing_key
    keys = [] if key is None else [{**key.public_jwk, "use": "sig", "alg": key.alg}]
    return JSONResponse({"keys": keys}, headers={"Cache-Control": "max-age=300"})
