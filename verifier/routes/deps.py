"""Shared route helpers: the service, API-key auth, strict JSON bodies, per-client rate limit."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from verifier.errors import ServiceError
from verifier.ops.metrics import Metrics
from verifier.ops.rate_limit import RateLimit, client_key
from verifier.ops.rate_limit_shared import SharedRateLimit
from verifier.presentations.service import PresentationService
from verifier.protocol import AgentVPError
from verifier.protocol.errors import first_error
from verifier.protocol.jsonutil import loads
from verifier.settings import Settings

__all__ = [
    "API_KEY_CHECK",
    "json_body",
    "parse_body",
    "rate_limited",
    "require_api_key",
    "service_of",
]

Model = TypeVar("Model", bound=BaseModel)

log = logging.getLogger("agentvp.ratelimit")


def service_of(request: Request) -> PresentationService:
    service: PresentationService = request.app.state.service
    return service


# Declares the scheme in the OpenAPI document; the check itself is require_api_key's.
API_KEY = HTTPBearer(
    auto_error=False, scheme_name="apiKey", description="An API key from `AGENTVP_API_KEYS`."
)


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY)] = None,
) -> None:
    """``Authorization: Bearer <key>`` with a key from ``AGENTVP_API_KEYS`` (constant time).

    ``async`` although it never awaits: FastAPI runs a plain ``def`` dependency on a worker
    thread, a thread hop per RP request for a microsecond of work."""
    del credentials  # parsed leniently by HTTPBearer; checked strictly here
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ServiceError(401, "invalid_token", "missing Authorization: Bearer <api key>")
    presented = token.strip().encode()
    if not any(hmac.compare_digest(presented, key.encode()) for key in settings.api_key_list):
        raise ServiceError(401, "invalid_token", "unknown API key")


class APIKeyBearer(HTTPBearer):
    """:data:`API_KEY`'s scheme whose call *is* :func:`require_api_key`: one dependency for
    FastAPI to solve per request instead of two (and no credentials model built only to be
    ignored) on the relying party's hot routes; the same security scheme in the OpenAPI
    document."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        await require_api_key(request)


API_KEY_CHECK = APIKeyBearer(
    auto_error=False, scheme_name="apiKey", description="An API key from `AGENTVP_API_KEYS`."
)


async def json_body(request: Request) -> dict[str, Any]:
    """A strict JSON object body (duplicate keys, depth and size refused)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ServiceError(415, "invalid_request", "content type must be application/json")
    settings: Settings = request.app.state.settings
    try:
        value = loads(
            await request.body(),
            what="request body",
            max_depth=settings.max_json_depth,
            max_bytes=settings.max_body_bytes,
        )
    except AgentVPError as exc:
        raise ServiceError(400, "invalid_request", exc.reason) from None
    if not isinstance(value, dict):
        raise ServiceError(400, "invalid_request", "request body is not a JSON object")
    return value


def parse_body(model: type[Model], value: dict[str, Any]) -> Model:
    """``model`` from a parsed body; 400 ``invalid_request`` naming the first bad field."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ServiceError(400, "invalid_request", first_error(exc)) from None


async def rate_limited(request: Request) -> None:
    """``AGENTVP_WALLET_RATE_LIMIT`` per client: over it, ``429 temporarily_unavailable`` with
    ``Retry-After``. Runs before the body is read or anything is looked up, so a refused request
    changes nothing. Counted in ``agentvp_rate_limited_total``; logged once per burst."""
    limiter: RateLimit | SharedRateLimit | None = request.app.state.wallet_rate_limit
    if limiter is None:
        return
    client = client_key(request.client.host if request.client else None)
    if isinstance(limiter, SharedRateLimit):  # counted in Redis, with every other instance
        decision = await limiter.check(client)
    else:
        decision = limiter.check(client)
    if decision.allowed:
        return
    route = getattr(request.scope.get("route"), "path", "unmatched")
    metrics: Metrics = request.app.state.metrics
    metrics.rate_limited.labels(route).inc()
    if decision.first_refusal:
        log.warning(
            "client %s over the rate limit (%d requests/min) at %s", client, limiter.limit, route
        )
    raise ServiceError(
        429,
        "temporarily_unavailable",
        f"too many requests from this client; retry in {decision.retry_after} s",
        headers={"Retry-After": str(decision.retry_after)},
    )
