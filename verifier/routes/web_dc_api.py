"""The demo pages' Digital Credentials API endpoints (demo mode only, like the rest of
``/demo/api``): what the browser returned from ``navigator.credentials.get`` goes here.

- ``POST /demo/api/presentations/{id}/dc-response`` - the relying-party page's DC API request
  (created with the page's QR and link requests when its browser offers the API);
- ``POST /demo/api/agent-checkouts/{id}/human-dc-api`` - the agent page switches the person's
  open step-up from the QR code to the DC API (:func:`~verifier.agents.step_up_dc_api.
  switch_to_dc_api`) and gets the request to hand to the browser;
- ``POST /demo/api/agent-checkouts/{id}/human-dc-response`` - the person's answer to it.

The page's origin is the browser's ``Origin`` header - which page script cannot set - never a
value from the body, and each request is created for exactly that origin. Bodies are small,
strict JSON (``{protocol, data}``); the checks are those of ``POST
/v1/presentations/{id}/dc-response`` (:mod:`verifier.presentations.dc_api`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from verifier.agents.step_up_dc_api import switch_to_dc_api
from verifier.errors import ServiceError
from verifier.presentations.dc_api import DCAPIAnswer, dc_api_request, receive_dc_api_answer
from verifier.routes.agent_api import agents_of
from verifier.routes.deps import parse_body, service_of
from verifier.routes.json_response import JSONResponse
from verifier.routes.web import (
    NO_STORE,
    SecureRoute,
    _demo_tx,
    _small_json,
    _view,
    require_demo_mode,
    require_same_origin,
)
from verifier.routes.web_agent import _demo_checkout
from verifier.routes.web_agent import _view as checkout_view

__all__ = ["router"]

router = APIRouter(
    prefix="/demo/api",
    route_class=SecureRoute,
    include_in_schema=False,
    dependencies=[Depends(require_demo_mode), Depends(require_same_origin)],
)


class _Credential(BaseModel):
    """``DigitalCredential.protocol`` and ``.data`` as the page received them."""

    model_config = ConfigDict(extra="forbid", strict=True)
    protocol: str = Field(max_length=64)
    data: dict[str, Any]


def _origin(request: Request) -> str:
    """The calling page's origin, as the browser states it (same-origin checked already)."""
    origin = request.headers.get("origin")
    if not origin:
        raise ServiceError(400, "invalid_request", "the browser sent no Origin header")
    return origin


async def _answer(request: Request) -> DCAPIAnswer:
    credential = parse_body(_Credential, await _small_json(request))
    return DCAPIAnswer(protocol=credential.protocol, data=credential.data, origin=_origin(request))


@router.post("/presentations/{tx_id}/dc-response")
async def presentation_answer(request: Request, tx_id: str) -> JSONResponse:
    """The relying-party page's DC API answer: the final view, with the result."""
    service = service_of(request)
    answer = await _answer(request)
    tx = await _demo_tx(service, tx_id)
    done = await receive_dc_api_answer(service, tx.id, answer)
    return JSONResponse(_view(service, done, with_result=True), headers=NO_STORE)


@router.post("/agent-checkouts/{av_id}/human-dc-api")
async def human_request(request: Request, av_id: str) -> JSONResponse:
    """Ask the person over the DC API instead of the QR code (while no wallet opened it)."""
    origin = _origin(request)
    av = await _demo_checkout(request, av_id)
    av = await switch_to_dc_api(agents_of(request), av, expected_origins=[origin])
    service = service_of(request)
    human = await service.get(av.meta["human_tx"])
    if human.final:
        raise ServiceError(400, "invalid_request", "the person already answered")
    return JSONResponse({"id": human.id, "dc_api_request": dc_api_request(human)}, headers=NO_STORE)


@router.post("/agent-checkouts/{av_id}/human-dc-response")
async def human_answer(request: Request, av_id: str) -> JSONResponse:
    """The person's DC API answer; the checkout as it stands afterwards."""
    answer = await _answer(request)
    av = await _demo_checkout(request, av_id)
    human_tx = av.meta.get("human_tx")
    if not human_tx:
        raise ServiceError(400, "invalid_request", "this checkout asks nobody")
    await receive_dc_api_answer(service_of(request), human_tx, answer)
    return JSONResponse(
        await checkout_view(request, await _demo_checkout(request, av_id)), headers=NO_STORE
    )
