"""The demo page's "agent checkout": ``/agent``, ``/demo/api/agent-checkouts`` and the AP2
checkout ``/demo/api/ap2-checkouts`` (the page, as the shop, issues an AP2 challenge and shows
the ``wallet-sim ap2 pay`` command that answers it, then the decision of the verification that
used it, with its AP2 receipt).

The page plays the shop: an agent offers to pay (amount, payee, its mandate's ``jti``); the page
asks agentvp for an agent verification under a policy of the policy file, hands the agent its
request (a link, and the ``wallet-sim agent answer`` command that answers it - with ``--dir``
of the wallet ``agentvp demo`` prepared, when there is one), shows the
human's step-up QR code when the policy wants the person, and then the decision with its
reasons and the signed receipt.

Like the rest of the demo API it exists only in demo mode, needs no API key, refuses cross-site
writes, is rate-limited per client, takes a small strict JSON body validated by the same
:class:`~verifier.protocol.mandates.authority.AgentAction` model as the RP API, and only ever shows
verifications it created itself (``origin="demo"``). No caller-chosen URLs are accepted.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from verifier.errors import ServiceError
from verifier.presentations.qr import qr_svg
from verifier.protocol.mandates.authority import AgentAction
from verifier.routes.agent_api import agents_of, decision_view
from verifier.routes.deps import parse_body, service_of
from verifier.routes.json_response import JSONResponse
from verifier.routes.web import (
    NO_STORE,
    WEB_DIR,
    SecureRoute,
    _limiter,
    _small_json,
    require_demo_mode,
    require_same_origin,
)
from verifier.settings import Settings
from verifier.store.base import Transaction

__all__ = ["router"]

ORIGIN = "demo"


class DemoCheckout(BaseModel):
    """What the page may ask for: an action (as the RP API takes it) under a named policy."""

    model_config = ConfigDict(extra="forbid")

    policy: str | None = Field(None, min_length=1, max_length=128)
    action: AgentAction


router = APIRouter(route_class=SecureRoute, include_in_schema=False)
api = APIRouter(
    prefix="/demo/api/agent-checkouts",
    route_class=SecureRoute,
    include_in_schema=False,
    dependencies=[Depends(require_demo_mode), Depends(require_same_origin)],
)


@router.get("/agent", dependencies=[Depends(require_demo_mode)])
async def page() -> Response:
    """The agent checkout page (demo mode only)."""
    return FileResponse(WEB_DIR / "agent.html", headers={"Cache-Control": "no-cache"})


async def _demo_checkout(request: Request, av_id: str) -> Transaction:
    """An agent verification this page created; anything else does not exist here."""
    av = await agents_of(request).get(av_id)
    if av.meta.get("origin") != ORIGIN:
        raise ServiceError(404, "not_found", "no such agent checkout")
    return av


def _demo_wallet(request: Request) -> Path | None:
    """The wallet ``agentvp demo`` prepared in this data dir (absolute, so the copied command
    works from any directory), if there is one."""
    settings: Settings = request.app.state.settings
    wallet = (settings.data_dir / "demo" / "wallet").resolve()
    return wallet if (wallet / "keys").is_dir() else None


async def _view(request: Request, av: Transaction) -> dict[str, Any]:
    """The RP API's decision view, with the requests as the page needs them (links, the command)."""
    service = service_of(request)
    view = decision_view(av)
    agent = await service.get(av.meta["agent_tx"])
    uri = service.authorization_request_uri(agent)
    action = json.dumps(av.meta["action"], separators=(",", ":"))
    command = f"wallet-sim agent answer {shlex.quote(uri)} --action {shlex.quote(action)}"
    wallet = _demo_wallet(request)
    view["agent_request"] = {
        "authorization_request_uri": uri,
        "status": agent.status,
        "command": command + (f" --dir {shlex.quote(str(wallet))}" if wallet else ""),
    }
    if av.meta.get("human_tx"):
        human = await service.get(av.meta["human_tx"])
        view["human_request"] = {
            "authorization_request_uri": service.authorization_request_uri(human),
            "qr_svg_uri": f"/demo/api/agent-checkouts/{av.id}/human-qr.svg",
            "status": human.status,
            "expires_at": human.expires_at,
            "flow": human.flow,
        }
        if human.flow == "dc_api":  # asked through the browser: no QR code, no link
            view["human_request"].update(authorization_request_uri=None, qr_svg_uri=None)
    view["server_time"] = service.now()
    return view


@api.get("/policies")
async def policies(request: Request) -> JSONResponse:
    """The policy file's agent policies (names, and the payee domain each one expects)."""
    items = [
        {"name": name, "payee_domain": policy.transaction.payee_domain}
        for name, policy in agents_of(request).policies.items()
    ]
    return JSONResponse({"policies": items}, headers={"Cache-Control": "no-cache"})


@api.post("", status_code=201)
async def create(request: Request) -> JSONResponse:
    """Start an agent checkout: the agent's request now, the human's when the policy says so."""
    body = parse_body(DemoCheckout, await _small_json(request))
    agents = agents_of(request)
    policy = body.policy or next(iter(agents.policies), None)
    if policy is None:
        raise ServiceError(400, "invalid_request", "the policy file defines no agent policy")
    client = request.client.host if request.client else "unknown"
    if not _limiter(request).allow(client):
        raise ServiceError(429, "slow_down", "too many demo requests; try again in a minute")
    av = await agents.create(policy, body.action, origin=ORIGIN)
    return JSONResponse(await _view(request, av), 201, headers=NO_STORE)


@api.get("/{av_id}")
async def status(request: Request, av_id: str) -> JSONResponse:
    """The checkout as it stands (the page polls this)."""
    av = await _demo_checkout(request, av_id)
    return JSONResponse(await _view(request, av), headers=NO_STORE)


@api.get("/{av_id}/human-qr.svg")
async def human_qr(request: Request, av_id: str) -> Response:
    """The human's step-up request as a QR code (SVG), once the policy asked for the person."""
    av = await _demo_checkout(request, av_id)
    if not av.meta.get("human_tx"):
        raise ServiceError(404, "not_found", "no step-up for this checkout (yet)")
    service = service_of(request)
    human = await service.get(av.meta["human_tx"])
    if human.flow == "dc_api":
        raise ServiceError(404, "not_found", "the person is asked through the browser")
    return Response(
        qr_svg(service.authorization_request_uri(human)),
        media_type="image/svg+xml",
        headers=NO_STORE,
    )


ap2_api = APIRouter(
    prefix="/demo/api/ap2-checkouts",
    route_class=SecureRoute,
    include_in_schema=False,
    dependencies=[Depends(require_demo_mode), Depends(require_same_origin)],
)


@ap2_api.post("", status_code=201)
async def ap2_create(request: Request) -> JSONResponse:
    """An AP2 challenge for the agent, and the command that pays against it."""
    if await _small_json(request):
        raise ServiceError(400, "invalid_request", "the body must be {}")
    client = request.client.host if request.client else "unknown"
    if not _limiter(request).allow(client):
        raise ServiceError(429, "slow_down", "too many demo requests; try again in a minute")
    challenge = await request.app.state.ap2.challenges.create(origin=ORIGIN)
    given = {"id": challenge.id, "nonce": challenge.nonce, "aud": challenge.client_id}
    base = service_of(request).config.public_url
    command = (
        f"wallet-sim ap2 pay --rp {shlex.quote(base)} --api-key <API key> "
        f"--challenge {shlex.quote(json.dumps(given, separators=(',', ':')))} "
        "--checkout-jwt <checkout JWT> --payee <id:name:website> --amount <minor units>"
    )
    body = {"id": challenge.id, "expires_at": challenge.expires_at, "command": command}
    return JSONResponse(body, 201, headers=NO_STORE)


@ap2_api.get("/{challenge_id}")
async def ap2_status(request: Request, challenge_id: str) -> JSONResponse:
    """``pending`` until a verification used the challenge; then its decision and receipt."""
    challenge = await request.app.state.ap2.challenges.get(challenge_id)
    if challenge is None or challenge.meta.get("origin") != ORIGIN:
        raise ServiceError(404, "not_found", "no such AP2 checkout")
    view = {"id": challenge.id, "status": "decided" if challenge.result else "pending"}
    return JSONResponse({**view, **(challenge.result or {})}, headers=NO_STORE)


router.include_router(api)
router.include_router(ap2_api)
