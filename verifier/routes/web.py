"""The web pages: ``/`` (the relying-party demo page in demo mode, else a short pointer to
``/docs``), ``/static/*`` (files of the repository's ``web/`` directory) and the demo API the
page talks to (``/demo/api/...``).

The demo API exists only when ``settings.demo_mode`` is on (404 otherwise) and needs no API key, so
it is deliberately narrow: a small JSON body (``profile`` or ``dcql_query``, optional
``transaction_data``) validated by the same
:class:`~verifier.presentations.create.CreatePresentation` model as the RP API; no caller-chosen
``redirect_uri`` or ``callback_url`` (the same-device return goes to this page, nothing else); a
per-client rate limit; a cap on open event streams; and it only ever shows transactions it created
itself (``purpose="demo"``). Verification is the
:class:`~verifier.presentations.service.PresentationService`'s; views are
:func:`presentation_view`'s.

Every response of this router carries the page security headers (CSP without
``unsafe-inline``, ``frame-ancestors 'none'``, ``no-referrer``, ``nosniff``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import verifier
from verifier.errors import ServiceError
from verifier.ops.rate_limit import RateLimit
from verifier.presentations.create import CreatePresentation
from verifier.presentations.qr import qr_svg
from verifier.presentations.service import PresentationService
from verifier.protocol import AgentVPError
from verifier.protocol.jsonutil import loads
from verifier.routes.deps import parse_body, service_of
from verifier.routes.json_response import JSONResponse
from verifier.routes.rp_api import _events, presentation_view
from verifier.settings import Settings
from verifier.store.base import Transaction

__all__ = ["CSP", "SECURITY_HEADERS", "WEB_DIR", "router"]

WEB_DIR = Path(verifier.__file__).resolve().parent.parent / "web"
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
NO_STORE = {"Cache-Control": "no-store"}
DEMO_PURPOSE = "demo"
MAX_DEMO_BODY = 32 * 1024
MAX_DEMO_STREAMS = 64
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(css|js|svg|png|ico)$")
_MEDIA_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
}
LANDING = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentvp verifier</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
</head>
<body class="landing">
<main class="card landing-card">
<h1>agentvp verifier</h1>
<p>An OpenID4VP verifier for AI-agent mandates and verified identity.
The relying-party API is described at <a href="/docs">/docs</a>.</p>
</main>
</body>
</html>
"""

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class SecureRoute(APIRoute):
    """An API route whose every response carries :data:`SECURITY_HEADERS`."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            response = await handler(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return secured


def require_demo_mode(request: Request) -> None:
    """The demo API is absent unless ``AGENTVP_DEMO_MODE`` is on."""
    settings: Settings = request.app.state.settings
    if not settings.demo_mode:
        raise ServiceError(404, "not_found", "demo mode is off")


def require_same_origin(request: Request) -> None:
    """Refuse cross-site writes: a browser's ``Origin`` must be this host."""
    if request.method in ("GET", "HEAD"):
        return
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site") == "cross-site" or (
        origin is not None and urlsplit(origin).netloc != request.headers.get("host")
    ):
        raise ServiceError(403, "access_denied", "cross-origin request refused")


pages = APIRouter(route_class=SecureRoute, include_in_schema=False)
demo = APIRouter(
    prefix="/demo/api",
    route_class=SecureRoute,
    include_in_schema=False,
    dependencies=[Depends(require_demo_mode), Depends(require_same_origin)],
)


# ---------------------------------------------------------------------------- pages


@pages.get("/")
async def index(request: Request) -> Response:
    """The demo page in demo mode; otherwise a pointer to the API docs."""
    settings: Settings = request.app.state.settings
    if settings.demo_mode:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})
    return HTMLResponse(LANDING, headers={"Cache-Control": "no-cache"})


@pages.get("/static/{name}")
async def static_file(name: str) -> Response:
    """A file directly in ``web/`` (an allow-listed name and type; no sub-directories)."""
    match = _STATIC_NAME.fullmatch(name)
    path = WEB_DIR / name
    if match is None or not path.is_file():
        raise ServiceError(404, "not_found", "no such file")
    return FileResponse(
        path, media_type=_MEDIA_TYPES[match.group(1)], headers={"Cache-Control": "no-cache"}
    )


# ---------------------------------------------------------------------------- demo API


class DemoRequest(BaseModel):
    """What the demo page may ask for: a preset or a DCQL query, maybe transaction data."""

    model_config = ConfigDict(extra="forbid")

    profile: str | None = Field(None, max_length=64)
    dcql_query: dict[str, Any] | None = None
    transaction_data: list[dict[str, Any] | str] = Field(default_factory=list, max_length=8)
    dc_api: bool = Field(False, description="Also a Digital Credentials API request.")
    dc_api_signed: bool = True
    dc_api_response_mode: Literal["dc_api.jwt", "dc_api"] = "dc_api.jwt"

    def dc_api_spec(self, origin: str) -> CreatePresentation:
        """The same request over the Digital Credentials API, for a page of ``origin``."""
        return CreatePresentation(
            profile=self.profile,
            dcql_query=self.dcql_query,
            transaction_data=self.transaction_data,
            flow="dc_api",
            signed=self.dc_api_signed,
            response_mode=self.dc_api_response_mode,
            expected_origins=[origin],
        )

    def spec(self, *, same_device_return: str | None = None) -> CreatePresentation:
        """The RP API body this stands for (cross-device, or same-device back to the page)."""
        return CreatePresentation(
            profile=self.profile,
            dcql_query=self.dcql_query,
            transaction_data=self.transaction_data,
            flow="same_device" if same_device_return else "cross_device",
            redirect_uri=same_device_return,
        )


def _limiter(request: Request) -> RateLimit:
    state = request.app.state
    limiter: RateLimit | None = getattr(state, "demo_rate_limit", None)
    if limiter is None:
        settings: Settings = state.settings
        limiter = state.demo_rate_limit = RateLimit(settings.demo_rate_limit)
    return limiter


async def _small_json(request: Request) -> dict[str, Any]:
    """A strict JSON object body of at most :data:`MAX_DEMO_BODY` bytes."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ServiceError(415, "invalid_request", "content type must be application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_DEMO_BODY):
        raise ServiceError(413, "invalid_request", f"body exceeds {MAX_DEMO_BODY} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DEMO_BODY:
            raise ServiceError(413, "invalid_request", f"body exceeds {MAX_DEMO_BODY} bytes")
    settings: Settings = request.app.state.settings
    try:
        value = loads(body, what="body", max_depth=settings.max_json_depth, max_bytes=MAX_DEMO_BODY)
    except AgentVPError as exc:
        raise ServiceError(400, "invalid_request", exc.reason) from None
    if not isinstance(value, dict):
        raise ServiceError(400, "invalid_request", "body is not a JSON object")
    return value


async def _demo_request(request: Request) -> DemoRequest:
    """Parse and fully validate (exactly as ``POST /v1/presentations`` would) a page request."""
    parsed = parse_body(DemoRequest, await _small_json(request))
    parsed.spec().resolve(service_of(request).presets)
    return parsed


def _page_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return f"{settings.public_url}/"


async def _demo_tx(service: PresentationService, tx_id: str) -> Transaction:
    """A transaction the demo API created; anything else does not exist here."""
    tx = await service.get(tx_id)
    if tx.purpose != DEMO_PURPOSE:
        raise ServiceError(404, "not_found", "no such presentation")
    return tx


def _view(service: PresentationService, tx: Transaction, *, with_result: bool) -> dict[str, Any]:
    """:func:`presentation_view` with the page's own (same-origin, key-less) URLs."""
    view = presentation_view(service, tx, with_result=with_result)
    base = f"/demo/api/presentations/{tx.id}"
    view.pop("qr_png_uri", None)
    view.update(
        qr_svg_uri=f"{base}/qr.svg" if tx.flow != "dc_api" else None,
        status_uri=base,
        events_uri=f"{base}/events",
        server_time=service.now(),
    )
    return view


@demo.get("/presets")
async def presets(request: Request) -> JSONResponse:
    """The policy file's named DCQL presets."""
    items = [
        {
            "name": name,
            "description": str(preset.get("description", "")),
            "dcql_query": preset["dcql_query"],
        }
        for name, preset in service_of(request).presets.items()
    ]
    return JSONResponse({"presets": items}, headers={"Cache-Control": "no-cache"})


@demo.post("/validate")
async def validate(request: Request) -> JSONResponse:
    """Check a query the way creating it would; 400 with the exact reason otherwise."""
    await _demo_request(request)
    return JSONResponse({"valid": True}, headers=NO_STORE)


@demo.post("/presentations", status_code=201)
async def create(request: Request) -> JSONResponse:
    """Start a verification: one cross-device (QR) and one same-device (link) request."""
    parsed = await _demo_request(request)
    client = request.client.host if request.client else "unknown"
    if not _limiter(request).allow(client):
        raise ServiceError(429, "slow_down", "too many demo requests; try again in a minute")
    service = service_of(request)
    cross = await service.create(parsed.spec(), purpose=DEMO_PURPOSE)
    same = await service.create(
        parsed.spec(same_device_return=_page_url(request)), purpose=DEMO_PURPOSE
    )
    body: dict[str, dict[str, Any] | None] = {
        "cross_device": _view(service, cross, with_result=False),
        "same_device": _view(service, same, with_result=False),
    }
    if parsed.dc_api:  # the page's browser offers the Digital Credentials API
        body["dc_api"] = await _dc_api_view(service, parsed, request.headers.get("origin"))
    return JSONResponse(body, 201, headers=NO_STORE)


async def _dc_api_view(
    service: PresentationService, parsed: DemoRequest, origin: str | None
) -> dict[str, Any] | None:
    """A DC API transaction for the page's origin; None if that origin may not use it."""
    if origin is None:
        return None
    try:
        spec = parsed.dc_api_spec(origin)
        tx = await service.create(spec, purpose=DEMO_PURPOSE)
    except (ServiceError, ValidationError):
        return None  # e.g. an origin outside AGENTVP_DC_API_ORIGINS: the QR code still works
    return _view(service, tx, with_result=False)


@demo.get("/presentations/{tx_id}")
async def status(request: Request, tx_id: str) -> JSONResponse:
    """Status; the result too for cross-device (same-device needs the response code)."""
    service = service_of(request)
    tx = await _demo_tx(service, tx_id)
    return JSONResponse(_view(service, tx, with_result=tx.flow != "same_device"), headers=NO_STORE)


class _Redeem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response_code: str = Field(min_length=1, max_length=256)


@demo.post("/presentations/{tx_id}/redeem")
async def redeem(request: Request, tx_id: str) -> JSONResponse:
    """Same-device return: the ``response_code`` from the redirect releases the result once."""
    try:
        code = _Redeem.model_validate(await _small_json(request)).response_code
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ServiceError(400, "invalid_request", f"response_code: {first['msg']}") from None
    service = service_of(request)
    tx = await service.redeem_response_code(await _demo_tx(service, tx_id), code)
    return JSONResponse(_view(service, tx, with_result=True), headers=NO_STORE)


@demo.get("/presentations/{tx_id}/events")
async def events(request: Request, tx_id: str) -> StreamingResponse:
    """Server-sent ``status`` events until the status is final (as the RP API's stream)."""
    service = service_of(request)
    tx = await _demo_tx(service, tx_id)
    state = request.app.state
    if getattr(state, "demo_streams", 0) >= MAX_DEMO_STREAMS:
        raise ServiceError(503, "temporarily_unavailable", "too many open event streams")

    async def counted() -> AsyncIterator[str]:
        state.demo_streams = getattr(state, "demo_streams", 0) + 1
        try:
            async for chunk in _events(request, service, tx):
                yield chunk
        finally:
            state.demo_streams -= 1

    return StreamingResponse(
        counted(), media_type="text/event-stream", headers={**NO_STORE, "X-Accel-Buffering": "no"}
    )


@demo.get("/presentations/{tx_id}/qr.svg")
async def qr(request: Request, tx_id: str) -> Response:
    """The cross-device QR code as SVG (the page inlines it)."""
    service = service_of(request)
    tx = await _demo_tx(service, tx_id)
    return Response(
        qr_svg(service.authorization_request_uri(tx)), media_type="image/svg+xml", headers=NO_STORE
    )


router = APIRouter(include_in_schema=False)
router.include_router(pages)
router.include_router(demo)
