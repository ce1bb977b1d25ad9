"""The AuthZEN Authorization API (PEPs authenticate with ``Authorization: Bearer <API key>``, or
with a service client's ``client_credentials`` token holding ``authzen:evaluate``).

``POST /access/v1/evaluation``, ``POST /access/v1/evaluations`` and
``GET /.well-known/authzen-configuration``. ``X-Request-ID`` is echoed on every answer (AuthZEN
§12.1.3); a request that cannot be evaluated at all (a missing subject, action or resource, a
bad batch) is 400 ``invalid_request``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request

from verifier.authzen.pdp import PDP
from verifier.authzen.requests import RequestError, parse_batch, parse_evaluation
from verifier.authzen.wiring import metadata
from verifier.errors import ServiceError
from verifier.oauth.agent_grant import OAuthError
from verifier.oauth.pep_clients import EVALUATE, PEPClients
from verifier.routes.deps import json_body, require_api_key
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, errors, json_request
from verifier.routes.signal_schemas import (
    AuthZENConfiguration,
    EvaluationAnswer,
    EvaluationRequest,
    EvaluationsAnswer,
    EvaluationsRequest,
)

__all__ = ["router"]

router = APIRouter(tags=["AuthZEN"])
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


def _pdp(request: Request) -> PDP:
    pdp: PDP | None = getattr(request.app.state, "pdp", None)
    if pdp is None:
        raise ServiceError(404, "not_found", "the PDP is not configured (no signing key)")
    return pdp


def _headers(request: Request) -> dict[str, str]:
    headers = {"Cache-Control": "no-store"}
    request_id = request.headers.get("x-request-id")
    if request_id is not None and _REQUEST_ID.fullmatch(request_id):
        headers["X-Request-ID"] = request_id
    return headers


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await json_body(request)
    except ServiceError as exc:
        exc.headers.update(_headers(request))
        raise


async def _pep(request: Request) -> None:
    """The PEP: an API key (as :func:`require_api_key`) or a service client's token with the
    ``authzen:evaluate`` scope (:class:`PEPClients`); ``X-Request-ID`` echoed on a 401/403."""
    try:
        try:
            await require_api_key(request)
        except ServiceError:
            token = request.headers.get("authorization", "").partition(" ")[2].strip()
            pep: PEPClients | None = getattr(request.app.state, "pep_clients", None)
            if pep is None or token.count(".") != 2:
                raise
            await _client_token(pep, token)
    except ServiceError as exc:
        exc.headers.update(_headers(request))
        raise


async def _client_token(pep: PEPClients, token: str) -> None:
    try:
        await pep.check(token, scope=EVALUATE)
    except OAuthError as exc:
        challenge = f'Bearer error="{exc.error}"'
        if exc.status == 403:
            challenge += f', scope="{EVALUATE}"'
        raise ServiceError(
            exc.status, exc.error, exc.description, headers={"WWW-Authenticate": challenge}
        ) from None


def _bad(request: Request, exc: RequestError) -> ServiceError:
    return ServiceError(400, "invalid_request", str(exc), headers=_headers(request))


@router.get("/.well-known/authzen-configuration", responses=answers(AuthZENConfiguration))
async def authzen_configuration(request: Request) -> JSONResponse:
    """The PDP's metadata (AuthZEN 1.0 §13)."""
    return JSONResponse(metadata(request.app.state.settings.public_url))


@router.post(
    "/access/v1/evaluation",
    dependencies=[Depends(_pep)],
    responses={**answers(EvaluationAnswer), **errors(400, 401, 403, 413, 415)},
    openapi_extra=json_request(EvaluationRequest),
)
async def evaluation(request: Request) -> JSONResponse:
    """One access evaluation: `{subject, action, resource, context?}` → `{decision, context?}`."""
    pdp = _pdp(request)
    body = await _body(request)
    try:
        parsed = parse_evaluation(body)
    except RequestError as exc:
        raise _bad(request, exc) from None
    answer = await pdp.evaluate(parsed)
    return JSONResponse(answer.body(), headers=_headers(request))


@router.post(
    "/access/v1/evaluations",
    dependencies=[Depends(_pep)],
    responses={**answers(EvaluationsAnswer), **errors(400, 401, 403, 413, 415)},
    openapi_extra=json_request(EvaluationsRequest),
)
async def evaluations(request: Request) -> JSONResponse:
    """A batch: answers in request order, top-level defaults, `options.evaluations_semantic`."""
    pdp = _pdp(request)
    body = await _body(request)
    try:
        parsed, semantic, batch = parse_batch(body)
    except RequestError as exc:
        raise _bad(request, exc) from None
    answers = await pdp.evaluate_all(parsed, semantic)
    if not batch:
        return JSONResponse(answers[0].body(), headers=_headers(request))
    return JSONResponse({"evaluations": [a.body() for a in answers]}, headers=_headers(request))
