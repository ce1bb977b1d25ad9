"""The wallet simulator's own web page (``wallet-sim serve``): a consent screen in a browser.

The page (``web/wallet/``) sends an ``openid4vp://`` URL (JSON) or a QR image (a raw
``image/png`` / ``image/jpeg`` body, decoded with :func:`wallet_sim.scan.decode_qr`) to
``POST /api/requests``. The server resolves it with :class:`~wallet_sim.wallet.WalletSimulator`
- fetch the Request Object, verify its signature and certificate chain against the wallet's
trusted verifier anchors, match the DCQL query against the wallet directory's own credentials -
and keeps the result server-side under an unguessable id (bounded count, expiring). The page
shows who is asking, what and why, what would be disclosed (optional credential sets as
checkboxes), any ``transaction_data`` as a readable action; ``approve`` presents, ``decline``
answers ``access_denied``. Nothing a browser sends is trusted beyond choosing which optional
credential sets to leave out.

Every response carries the same security headers as the verifier's pages (CSP without
``unsafe-inline``, ``frame-ancestors 'none'``, ``no-referrer``, ``nosniff``, ``no-store``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier.protocol.oid4vp.wallet_request import RequestObject

from .agent import full_mandate, mandate_summary
from .client import WalletHTTP, WalletHTTPError
from .consent import consent_view, optional_in, without_optional
from .scan import QRDecodeError, decode_qr
from .store import StoredCredential, Wallet
from .wallet import Proposal, WalletError, WalletSimulator

__all__ = ["SECURITY_HEADERS", "WEB_DIR", "PendingRequests", "create_app"]

WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "wallet"
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cache-control": "no-store",
}
MAX_JSON_BYTES = 16 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg")
_STATIC = {"wallet.js": "text/javascript; charset=utf-8", "wallet.css": "text/css; charset=utf-8"}
_STATIC_NAME = re.compile(r"^[a-z0-9_-]{1,64}\.(js|css|svg)$")


class _HTTPError(Exception):
    def __init__(self, status: int, error: str, description: str, **extra: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.extra = status, error, description, extra


@dataclasses.dataclass
class Pending:
    """One resolved request awaiting the user's decision."""

    request: RequestObject
    proposal: Proposal | None
    problem: WalletError | None
    expires: float


class PendingRequests:
    """Resolved requests by unguessable id: at most ``limit``, each for ``ttl`` seconds."""

    def __init__(
        self, *, limit: int = 32, ttl: float = 600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.ttl, self.clock = limit, ttl, clock
        self._items: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def add(
        self, request: RequestObject, proposal: Proposal | None, problem: WalletError | None
    ) -> tuple[str, Pending]:
        key = secrets.token_urlsafe(32)
        now = self.clock()
        item = Pending(request, proposal, problem, now + self.ttl)
        with self._lock:
            for stale in [k for k, v in self._items.items() if v.expires <= now]:
                del self._items[stale]
            while len(self._items) >= self.limit:
                del self._items[next(iter(self._items))]  # the oldest
            self._items[key] = item
        return key, item

    def take(self, key: str) -> Pending:
        """Remove and return a live entry (a decision is made once)."""
        with self._lock:
            item = self._items.pop(key, None)
        if item is None or item.expires <= self.clock():
            raise _HTTPError(404, "not_found", "unknown or expired request; scan it again")
        return item

    def __len__(self) -> int:
        return len(self._items)


# ---------------------------------------------------------------------------- app


class WalletWeb:
    """The routes over one wallet directory; ``transport`` lets tests run in-process."""

    def __init__(
        self,
        wallet: Wallet,
        *,
        transport: httpx.BaseTransport | None = None,
        pending: PendingRequests | None = None,
    ) -> None:
        self.wallet = wallet
        self.transport = transport
        self.pending = pending or PendingRequests()

    def simulator(self) -> WalletSimulator:
        return WalletSimulator(self.wallet, http=WalletHTTP(transport=self.transport))

    def resolve(self, uri: str) -> tuple[str, Pending]:
        simulator = self.simulator()
        try:
            request = simulator.resolve(uri)
            try:
                proposal, problem = simulator.propose(request), None
            except WalletError as exc:
                proposal, problem = None, exc
        except WalletError as exc:
            stage = "verifier" if exc.error == "invalid_client" else "request"
            raise _HTTPError(422, exc.error, str(exc), stage=stage) from None
        except WalletHTTPError as exc:
            raise _HTTPError(502, "verifier_unreachable", str(exc), stage="request") from None
        finally:
            simulator.http.close()
        return self.pending.add(request, proposal, problem)

    def answer(
        self, pending: Pending, *, approve: bool, share_optional: set[str]
    ) -> dict[str, Any]:
        simulator = self.simulator()
        try:
            if approve and pending.proposal is not None:
                drop = optional_in(pending.proposal) - share_optional
                try:
                    narrowed = without_optional(pending.request, drop)
                except ValueError as exc:
                    raise _HTTPError(400, "invalid_request", str(exc)) from None
                proposal = pending.proposal
                if narrowed is not pending.request:
                    proposal = simulator.propose(narrowed)
                reply, status = simulator.submit(proposal), "submitted"
            elif pending.problem is not None:
                error = pending.problem
                reply, status = (
                    simulator.decline(pending.request, error.error, str(error)),
                    "declined",
                )
            else:
                reply, status = simulator.decline(pending.request), "declined"
        except (WalletError, WalletHTTPError) as exc:
            raise _HTTPError(502, "submit_failed", str(exc)) from None
        finally:
            simulator.http.close()
        redirect = reply.get("redirect_uri")
        safe = isinstance(redirect, str) and urlsplit(redirect).scheme in ("https", "http")
        return {"status": status, "redirect_uri": redirect if safe else None}


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _HTTPError(413, "invalid_request", f"body exceeds {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _HTTPError(413, "invalid_request", f"body exceeds {limit} bytes")
    return body


async def _json(request: Request) -> dict[str, Any]:
    try:
        value = json.loads(await _body(request, MAX_JSON_BYTES))
    except (ValueError, UnicodeDecodeError):
        raise _HTTPError(400, "invalid_request", "body is not valid JSON") from None
    if not isinstance(value, dict):
        raise _HTTPError(400, "invalid_request", "body is not a JSON object")
    return value


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class _SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response; refuses cross-site writes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin")
        cross = headers.get(b"sec-fetch-site") == b"cross-site" or (
            origin is not None
            and urlsplit(origin.decode("latin-1")).netloc.encode() != headers.get(b"host")
        )
        if scope["method"] not in ("GET", "HEAD") and cross:
            response = _error(_HTTPError(403, "access_denied", "cross-origin request refused"))
            await response(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in SECURITY_HEADERS.items()
                    if k.encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, secured)


def _error(exc: _HTTPError) -> JSONResponse:
    body = {"error": exc.error, "error_description": exc.description, **exc.extra}
    return JSONResponse(body, status_code=exc.status)


def _credential_view(credential: StoredCredential) -> dict[str, Any]:
    """What the page lists; a mandate also shows its ``jti`` and limits (to tell them apart)."""
    view: dict[str, Any] = {
        "id": credential.id,
        "kind": credential.kind,
        "vct": credential.vct,
        "iss": credential.iss,
        "holder": credential.holder,
        "issued_at": credential.issued_at,
    }
    if credential.kind == "mandate":
        claims = full_mandate(credential)
        view["jti"] = claims.get("jti")
        view["summary"] = mandate_summary(claims)
    return view


def create_app(wallet: Wallet, *, transport: httpx.BaseTransport | None = None) -> ASGIApp:
    """The ASGI app for ``wallet-sim serve``."""
    web = WalletWeb(wallet, transport=transport)

    async def index(request: Request) -> Response:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = str(request.path_params["name"])
        path = WEB_DIR / name
        if not _STATIC_NAME.fullmatch(name) or not path.is_file():
            raise _HTTPError(404, "not_found", "no such file")
        media = _STATIC.get(name, "image/svg+xml" if name.endswith(".svg") else "text/plain")
        return FileResponse(path, media_type=media)

    async def summary(request: Request) -> Response:
        credentials = [_credential_view(c) for c in web.wallet.credentials()]
        anchors = [cert.subject.rfc4514_string() for cert in web.wallet.verifier_anchors()]
        return JSONResponse({"credentials": credentials, "trusted_verifiers": anchors})

    async def open_request(request: Request) -> Response:
        kind = _content_type(request)
        if kind in IMAGE_TYPES:
            image = await _body(request, MAX_IMAGE_BYTES)
            try:
                uri = await run_in_threadpool(decode_qr, image)
            except QRDecodeError as exc:
                raise _HTTPError(400, "invalid_request", str(exc), stage="scan") from None
        elif kind == "application/json":
            given = (await _json(request)).get("uri")
            if not isinstance(given, str) or not given.strip():
                raise _HTTPError(400, "invalid_request", "give the openid4vp:// request URL")
            uri = given.strip()
        else:
            raise _HTTPError(415, "invalid_request", "send JSON {uri} or an image/png|jpeg body")
        if not uri.startswith(("openid4vp://", "haip-vp://")):
            raise _HTTPError(400, "invalid_request", f"not an OpenID4VP request: {uri[:80]}")
        key, pending = await run_in_threadpool(web.resolve, uri)
        view = consent_view(pending.request, pending.proposal, pending.problem)
        return JSONResponse({"id": key, "uri": uri, **view}, status_code=201)

    async def decide(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("approve", "decline"):
            raise _HTTPError(404, "not_found", "no such action")
        approve = action == "approve"
        body = await _json(request) if _content_type(request) == "application/json" else {}
        shared = body.get("share_optional", [])
        if not isinstance(shared, list) or not all(isinstance(i, str) for i in shared):
            raise _HTTPError(400, "invalid_request", "share_optional must be a list of query ids")
        pending = web.pending.take(str(request.path_params["key"]))
        result = await run_in_threadpool(
            lambda: web.answer(pending, approve=approve, share_optional=set(shared))
        )
        return JSONResponse(result)

    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/wallet", summary),
        Route("/api/requests", open_request, methods=["POST"]),
        Route("/api/requests/{key}/{action}", decide, methods=["POST"]),
    ]

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _HTTPError)
        return _error(exc)

    app = Starlette(routes=routes, exception_handlers={_HTTPError: on_error})
    return _SecurityHeaders(app)
