"""Shared route helpers: the service, API-key auth, strict JSON bodies."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Request

from verifier.presentations import ServiceError
from verifier.protocol import AgentVPError
from verifier.protocol.jsonutil import loads
from verifier.service import PresentationService
from verifier.settings import Settings

__all__ = ["json_body", "require_api_key", "service_of"]


def service_of(request: Request) -> PresentationService:
    service: PresentationService = request.app.state.service
    return service


async def require_api_key(request: Request) -> None:
    """``Authorization: Bearer <key>`` with a key from ``AGENTVP_API_KEYS`` (constant time).

    ``async`` although it never awaits: FastAPI runs a plain ``def`` dependency on a worker
    thread, a thread hop per RP request for a microsecond of work."""
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ServiceError(401, "invalid_token", "missing Authorization: Bearer <api key>")
    presented = token.strip().encode()
    if not any(hmac.compare_digest(presented, key.encode()) for key in settings.api_key_list):
        raise ServiceError(401, "invalid_token", "unknown API key")


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
