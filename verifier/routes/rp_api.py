"""The relying-party API (``/v1/...``, ``Authorization: Bearer <api key>``): create a
presentation, read its status and result, follow it live (SSE), get its QR code, hand in what
the browser returned for a Digital Credentials API presentation (``…/dc-response``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from verifier.errors import ServiceError
from verifier.presentations.create import CreatePresentation
from verifier.presentations.dc_api import DCAPIAnswer, dc_api_request, receive_dc_api_answer
from verifier.presentations.qr import qr_png, qr_svg
from verifier.presentations.service import PresentationService
from verifier.routes.deps import API_KEY_CHECK, json_body, parse_body, service_of
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, content, errors, json_request
from verifier.routes.schemas import PresentationView
from verifier.settings import Settings
from verifier.store.base import Transaction

__all__ = ["presentation_view", "router"]

router = APIRouter(
    prefix="/v1",
    tags=["relying party"],
    dependencies=[Depends(API_KEY_CHECK)],
    responses=errors(401, 503),
)
NO_STORE = {"Cache-Control": "no-store"}
HEARTBEAT_SECONDS = 15.0


def presentation_view(
    service: PresentationService, tx: Transaction, *, with_result: bool
) -> dict[str, Any]:
    base = f"{service.config.public_url}/v1/presentations/{tx.id}"
    view: dict[str, Any] = {
        "id": tx.id,
        "status": tx.status,
        "flow": tx.flow,
        "response_mode": tx.response_mode,
        "created_at": tx.created_at,
        "expires_at": tx.expires_at,
        "authorization_request_uri": service.authorization_request_uri(tx),
        "request_uri": service.request_uri(tx),
        "qr_png_uri": f"{base}/qr.png",
        "qr_svg_uri": f"{base}/qr.svg",
        "status_uri": base,
        "events_uri": f"{base}/events",
    }
    if tx.flow == "dc_api":  # no QR code and no wallet URIs: the page asks the browser
        view.update(authorization_request_uri=None, request_uri=None, qr_png_uri=None)
        view.update(qr_svg_uri=None)
        if not tx.final:
            view["dc_api_request"] = dc_api_request(tx)
    if with_result and tx.result is not None:
        view["result"] = tx.result
    if with_result and tx.error is not None:
        view["error"] = tx.error
    return view


@router.post(
    "/presentations",
    status_code=201,
    responses={**answers(PresentationView, 201, "Created."), **errors(400, 413, 415)},
    openapi_extra=json_request(CreatePresentation),
)
async def create_presentation(request: Request) -> JSONResponse:
    """Start a presentation: DCQL query (or a preset `profile`), transaction data, flow."""
    service = service_of(request)
    spec = parse_body(CreatePresentation, await json_body(request))
    tx = await service.create(spec)
    return JSONResponse(presentation_view(service, tx, with_result=False), 201, headers=NO_STORE)


@router.post(
    "/presentations/{tx_id}/dc-response",
    responses={**answers(PresentationView), **errors(400, 404, 413, 415)},
    openapi_extra=json_request(DCAPIAnswer),
)
async def dc_api_response(request: Request, tx_id: str) -> JSONResponse:
    """What the browser returned for a `flow: dc_api` presentation, with the page's origin:
    once, then 200 with the final view (`verified`, `rejected` with the failing check, or
    `error`). A second answer, or one for another flow, is refused and changes nothing."""
    service = service_of(request)
    answer = parse_body(DCAPIAnswer, await json_body(request))
    tx = await receive_dc_api_answer(service, tx_id, answer)
    return JSONResponse(presentation_view(service, tx, with_result=True), headers=NO_STORE)


@router.get("/presentations/{tx_id}", responses={**answers(PresentationView), **errors(400, 404)})
async def get_presentation(
    request: Request, tx_id: str, response_code: str | None = None
) -> JSONResponse:
    """Status, and once final the result or error. Same-device: the status alone without
    `response_code`; the result (or error) only with it, once."""
    service = service_of(request)
    tx = await service.get(tx_id)
    if tx.flow == "same_device" and response_code is None:
        return JSONResponse(presentation_view(service, tx, with_result=False), headers=NO_STORE)
    tx = await service.redeem_response_code(tx, response_code)
    return JSONResponse(presentation_view(service, tx, with_result=True), headers=NO_STORE)


async def _events(
    request: Request, service: PresentationService, tx: Transaction
) -> AsyncIterator[str]:
    settings: Settings = request.app.state.settings
    version, idle = -1, 0.0
    while True:
        if tx.version != version:
            version = tx.version
            payload = {"status": tx.status, "version": tx.version}
            yield f"event: status\ndata: {json.dumps(payload)}\n\n"
            idle = 0.0
        if tx.final or await request.is_disconnected():
            return
        await asyncio.sleep(settings.sse_poll_interval)
        idle += settings.sse_poll_interval
        if idle >= HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"
            idle = 0.0
        tx = await service.get(tx.id)


@router.get(
    "/presentations/{tx_id}/events",
    response_class=StreamingResponse,
    responses={200: content("text/event-stream"), **errors(404)},
)
async def presentation_events(request: Request, tx_id: str) -> StreamingResponse:
    """Server-sent events: one `status` event per change, until the status is final."""
    service = service_of(request)
    tx = await service.get(tx_id)
    return StreamingResponse(
        _events(request, service, tx),
        media_type="text/event-stream",
        headers={**NO_STORE, "X-Accel-Buffering": "no"},
    )


def _with_qr(tx: Transaction) -> Transaction:
    if tx.flow == "dc_api":
        raise ServiceError(400, "invalid_request", "a dc_api presentation has no QR code")
    return tx


@router.get(
    "/presentations/{tx_id}/qr.png",
    response_class=Response,
    responses={200: content("image/png", binary=True), **errors(400, 404)},
)
async def presentation_qr_png(request: Request, tx_id: str) -> Response:
    service = service_of(request)
    tx = _with_qr(await service.get(tx_id))
    return Response(
        qr_png(service.authorization_request_uri(tx)), media_type="image/png", headers=NO_STORE
    )


@router.get(
    "/presentations/{tx_id}/qr.svg",
    response_class=Response,
    responses={200: content("image/svg+xml"), **errors(400, 404)},
)
async def presentation_qr_svg(request: Request, tx_id: str) -> Response:
    service = service_of(request)
    tx = _with_qr(await service.get(tx_id))
    return Response(
        qr_svg(service.authorization_request_uri(tx)), media_type="image/svg+xml", headers=NO_STORE
    )
