"""The Shared Signals transmitter's HTTP API (SSF 1.0 §7-8, RFC 8936 poll).

``GET /.well-known/ssf-configuration`` is public; every other endpoint needs
``Authorization: Bearer <API key>`` (``AGENTVP_API_KEYS``), each key one receiver:

- ``/ssf/stream``: ``POST`` create (201), ``GET`` read (``?stream_id=``, or all of the
  receiver's as an array), ``PATCH`` update, ``PUT`` replace, ``DELETE ?stream_id=`` (204);
- ``/ssf/status``: ``GET ?stream_id=``, ``POST {stream_id, status, reason?}``;
- ``POST /ssf/subjects:add``, ``POST /ssf/subjects:remove`` (``{stream_id, subject}``);
- ``POST /ssf/verify`` (``{stream_id, state?}``, 204; the verification SET follows);
- ``POST /ssf/poll/{stream_id}`` (RFC 8936).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from verifier.errors import ServiceError
from verifier.routes.deps import json_body, require_api_key
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, errors, json_request
from verifier.routes.signal_schemas import (
    PollAnswer,
    PollRequest,
    SSFConfiguration,
    StreamConfiguration,
    StreamConfigurations,
    StreamStatus,
)
from verifier.ssf.events import SUPPORTED
from verifier.ssf.streams import POLL, PUSH, Streams, owner_of
from verifier.ssf.transmitter import Transmitter

__all__ = ["router"]

router = APIRouter(tags=["Shared Signals"])
NO_STORE = {"Cache-Control": "no-store"}
AUTH = [Depends(require_api_key)]
ERRORS = errors(400, 401, 404, 415)


def _ssf(request: Request) -> tuple[Streams, Transmitter]:
    transmitter: Transmitter | None = getattr(request.app.state, "ssf", None)
    if transmitter is None:
        raise ServiceError(
            404, "not_found", "the SSF transmitter is not configured (no signing key)"
        )
    return transmitter.streams, transmitter


def _query(request: Request) -> str | None:
    """The one query parameter these endpoints take, ``stream_id``; anything else is refused."""
    names = [name for name, _ in request.query_params.multi_items()]
    if any(name != "stream_id" for name in names) or len(names) > 1:
        raise ServiceError(400, "invalid_request", "the only query parameter is stream_id, once")
    return request.query_params.get("stream_id")


def _owner(request: Request) -> str:
    return owner_of(request.headers["authorization"].partition(" ")[2].strip())


def _json(value: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(value, status, headers=NO_STORE)


@router.get("/.well-known/ssf-configuration", responses=answers(SSFConfiguration))
async def ssf_configuration(request: Request) -> JSONResponse:
    """The transmitter configuration metadata (SSF 1.0 §7.1)."""
    _ssf(request)
    base = request.app.state.settings.public_url
    return JSONResponse(
        {
            "spec_version": "1_0",
            "issuer": base,
            "jwks_uri": f"{base}/oauth/jwks.json",
            "delivery_methods_supported": [PUSH, POLL],
            "configuration_endpoint": f"{base}/ssf/stream",
            "status_endpoint": f"{base}/ssf/status",
            "add_subject_endpoint": f"{base}/ssf/subjects:add",
            "remove_subject_endpoint": f"{base}/ssf/subjects:remove",
            "verification_endpoint": f"{base}/ssf/verify",
            "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6750"}],
            "default_subjects": "ALL",
            "events_supported": list(SUPPORTED),
        }
    )


@router.post(
    "/ssf/stream",
    dependencies=AUTH,
    status_code=201,
    responses={**answers(StreamConfiguration, 201), **ERRORS},
)
async def create_stream(request: Request) -> JSONResponse:
    """Create an event stream for this receiver."""
    streams, _ = _ssf(request)
    return _json(await streams.create(_owner(request), await json_body(request)), 201)


@router.get("/ssf/stream", dependencies=AUTH, responses={**answers(StreamConfigurations), **ERRORS})
async def read_stream(request: Request, stream_id: str | None = None) -> JSONResponse:
    """One stream's configuration, or all of this receiver's."""
    streams, _ = _ssf(request)
    del stream_id  # documented for OpenAPI, read strictly by _query
    return _json(await streams.read(_owner(request), _query(request)))


@router.patch(
    "/ssf/stream", dependencies=AUTH, responses={**answers(StreamConfiguration), **ERRORS}
)
async def update_stream(request: Request) -> JSONResponse:
    """Change the given receiver-supplied fields."""
    streams, _ = _ssf(request)
    body = await json_body(request)
    return _json(await streams.update(_owner(request), body, replace=False))


@router.put("/ssf/stream", dependencies=AUTH, responses={**answers(StreamConfiguration), **ERRORS})
async def replace_stream(request: Request) -> JSONResponse:
    """Replace the receiver-supplied fields."""
    streams, _ = _ssf(request)
    body = await json_body(request)
    return _json(await streams.update(_owner(request), body, replace=True))


@router.delete("/ssf/stream", dependencies=AUTH, status_code=204, responses=ERRORS)
async def delete_stream(request: Request, stream_id: str | None = None) -> Response:
    """Delete a stream: nothing more is queued for it."""
    streams, _ = _ssf(request)
    del stream_id  # documented for OpenAPI, read strictly by _query
    await streams.delete(_owner(request), _query(request))
    return Response(status_code=204, headers=NO_STORE)


@router.get("/ssf/status", dependencies=AUTH, responses={**answers(StreamStatus), **ERRORS})
async def read_status(request: Request, stream_id: str | None = None) -> JSONResponse:
    """`enabled`, `paused` or `disabled`."""
    streams, _ = _ssf(request)
    del stream_id  # documented for OpenAPI, read strictly by _query
    return _json(await streams.status(_owner(request), _query(request)))


@router.post("/ssf/status", dependencies=AUTH, responses={**answers(StreamStatus), **ERRORS})
async def update_status(request: Request) -> JSONResponse:
    """Enable, pause (events are held) or disable (events are dropped) a stream."""
    streams, transmitter = _ssf(request)
    record, answer = await streams.set_status(_owner(request), await json_body(request))
    if record.meta["status"] == "enabled":
        await transmitter.resume(record)
    return _json(answer)


@router.post(
    "/ssf/subjects:add",
    dependencies=AUTH,
    response_class=Response,
    responses={200: {"description": "Added (empty body)."}, **ERRORS},
)
async def add_subject(request: Request) -> Response:
    """Include a subject (all are included by default)."""
    streams, _ = _ssf(request)
    await streams.subject(_owner(request), await json_body(request), add=True)
    return Response(status_code=200, headers=NO_STORE)


@router.post("/ssf/subjects:remove", dependencies=AUTH, status_code=204, responses=ERRORS)
async def remove_subject(request: Request) -> Response:
    """Exclude a subject from the stream."""
    streams, _ = _ssf(request)
    await streams.subject(_owner(request), await json_body(request), add=False)
    return Response(status_code=204, headers=NO_STORE)


@router.post("/ssf/verify", dependencies=AUTH, status_code=204, responses=ERRORS)
async def verify_stream(request: Request) -> Response:
    """Send a verification event on the stream."""
    _, transmitter = _ssf(request)
    await transmitter.verify(_owner(request), await json_body(request))
    return Response(status_code=204, headers=NO_STORE)


@router.post(
    "/ssf/poll/{stream_id}",
    dependencies=AUTH,
    responses={**answers(PollAnswer), **ERRORS},
    openapi_extra=json_request(PollRequest),
)
async def poll(request: Request, stream_id: str) -> JSONResponse:
    """RFC 8936 poll: acknowledge (`ack`, `setErrs`) and receive up to `maxEvents` SETs."""
    _, transmitter = _ssf(request)
    body = await json_body(request)
    return _json(await transmitter.poll(_owner(request), stream_id, body))
