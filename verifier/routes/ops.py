"""Operations endpoints (no API key): liveness, readiness, Prometheus metrics.

- ``GET /healthz`` - the process answers (200 whatever the store says);
- ``GET /readyz``  - the store answers too: 200, or 503 ``temporarily_unavailable``;
- ``GET /metrics`` - Prometheus text format (restrict it at your reverse proxy if needed).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from verifier.ops.metrics import Metrics
from verifier.routes.deps import service_of
from verifier.routes.errors import store_unavailable
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, content, errors
from verifier.routes.schemas import Health

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses=answers(Health))
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz", responses={**answers(Health), **errors(503)})
async def readyz(request: Request) -> JSONResponse:
    if await service_of(request).store.ping():
        return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})
    return store_unavailable()


@router.get("/metrics", response_class=Response, responses={200: content("text/plain")})
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    body, content_type = registry.render()
    return Response(body, media_type=content_type)
