"""The agent verification API (``/v1/agent-verifications``, Bearer API key)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from verifier.agents.verifications import AgentVerifications
from verifier.errors import ServiceError
from verifier.protocol.mandates.authority import AgentAction
from verifier.routes.deps import json_body, parse_body, require_api_key, service_of
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, errors, json_request
from verifier.routes.rp_api import presentation_view
from verifier.routes.schemas import AgentVerificationView, AuditLog
from verifier.store.base import Transaction, TxStatus

__all__ = ["agent_view", "decision_view", "router"]

router = APIRouter(
    prefix="/v1",
    tags=["agent verifications"],
    dependencies=[Depends(require_api_key)],
    responses=errors(401, 503),
)
NO_STORE = {"Cache-Control": "no-store"}
DECISIONS: dict[str, str] = {TxStatus.VERIFIED: "allow", TxStatus.REJECTED: "deny"}


class CreateAgentVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str = Field(
        min_length=1, max_length=128, description="A policy name from the policy file."
    )
    action: AgentAction
    callback_url: str | None = Field(None, description="Webhook URL for the decision.")
    human_flow: Literal["cross_device", "dc_api"] = Field(
        "cross_device",
        description="How the person is asked on step-up: a QR code (`human_request` with "
        "`authorization_request_uri`), or the Digital Credentials API (`human_request` with "
        "`dc_api_request`; answer at `/v1/presentations/{id}/dc-response`).",
    )
    expected_origins: list[str] | None = Field(
        None,
        max_length=16,
        description="`human_flow: dc_api` only: the origins of the pages that may ask the person "
        "(default `AGENTVP_DC_API_ORIGINS`).",
    )


def agents_of(request: Request) -> AgentVerifications:
    agents: AgentVerifications = request.app.state.agents
    return agents


def decision_view(av: Transaction) -> dict[str, Any]:
    """The verification without its requests: decision, reasons, action and what was proven."""
    result = av.result or {}
    view: dict[str, Any] = {
        "id": av.id,
        "policy": av.meta["policy"],
        "decision": DECISIONS.get(av.status, "pending"),
        "reasons": result.get("reasons", []),
        "details": result.get("details", []),
        "action": av.meta["action"],
        "created_at": av.created_at,
        "expires_at": av.expires_at,
    }
    for name in ("mandate", "agent", "principal", "identity", "receipt"):
        if name in result:
            view[name] = result[name]
    return view


async def agent_view(request: Request, av: Transaction) -> dict[str, Any]:
    service = service_of(request)
    view = decision_view(av)
    view["events_uri"] = f"{service.config.public_url}/v1/agent-verifications/{av.id}/events"
    for role, key in (("agent_request", "agent_tx"), ("human_request", "human_tx")):
        if av.meta.get(key):
            child = await service.get(av.meta[key])
            view[role] = presentation_view(service, child, with_result=False)
    return view


@router.post(
    "/agent-verifications",
    status_code=201,
    responses={**answers(AgentVerificationView, 201, "Created."), **errors(400, 413, 415)},
    openapi_extra=json_request(CreateAgentVerification),
)
async def create_agent_verification(request: Request) -> JSONResponse:
    """Ask an agent to prove it may do `action` under `policy` (and the human, on step-up)."""
    body = parse_body(CreateAgentVerification, await json_body(request))
    if body.callback_url is not None:
        service_of(request).check_callback(body.callback_url)
    human_flow = None
    if body.human_flow == "dc_api":
        human_flow = {"expected_origins": body.expected_origins}
    elif body.expected_origins is not None:
        raise ServiceError(400, "invalid_request", "expected_origins needs human_flow dc_api")
    av = await agents_of(request).create(
        body.policy, body.action, callback_url=body.callback_url, human_flow=human_flow
    )
    return JSONResponse(await agent_view(request, av), 201, headers=NO_STORE)


@router.get(
    "/agent-verifications/{av_id}",
    responses={**answers(AgentVerificationView), **errors(404)},
)
async def get_agent_verification(request: Request, av_id: str) -> JSONResponse:
    """The decision (`pending`, `allow`, `deny`), its reasons and, once final, the receipt."""
    av = await agents_of(request).get(av_id)
    return JSONResponse(await agent_view(request, av), headers=NO_STORE)


@router.get("/agent-verifications/{av_id}/events", responses={**answers(AuditLog), **errors(404)})
async def get_agent_verification_events(request: Request, av_id: str) -> JSONResponse:
    """The hash-chained audit log (ids, codes and hashes; never claim values)."""
    events = await agents_of(request).audit(av_id)
    return JSONResponse({"events": events}, headers=NO_STORE)
