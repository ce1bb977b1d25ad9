"""A lean ASGI path to the requests every cross-device flow makes.

A flow is four requests: the relying party's ``POST /v1/presentations`` and ``GET
/v1/presentations/{tx_id}``, the wallet's request-object fetch (``GET`` or ``POST
/wallet/request/{request_id}``) and its ``POST /wallet/response/{request_id}``. Their endpoints
take the request itself and parse and validate it on their own; through FastAPI each request
also pays for a router scan over every route of the app, dependency solving and several
wrapper layers - more CPU than the endpoint's own work.

:class:`FastPath` sits inside the app's own middleware (proxy headers, access log, body limit
all still apply) and, for exactly these methods and paths, runs the route's own dependency (the
API-key check; the wallet rate limit) and then the same endpoint function FastAPI would call,
with the same arguments. Errors are rendered by the app's own exception handlers (looked up the
way Starlette's ``ExceptionMiddleware`` does; anything unhandled propagates to the 500 handler
as before), and ``scope["route"]`` is set so the access log and metrics name the same route.

Everything else - other methods, other paths, the OpenAPI document (the routes stay declared in
:mod:`.rp_api` and :mod:`.wallet_api`) - goes to FastAPI unchanged. The fast path never guesses
what FastAPI would do: the first request to each route goes through FastAPI, and the fast path
takes that route over only if FastAPI picked the expected endpoint and the route declares
exactly the expected dependency. A route that gains a dependency, or whose path another route
takes, keeps going through FastAPI; so does a request FastAPI's OpenTelemetry is recording (its
span is named after the route FastAPI's router picks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from verifier.routes import rp_api, wallet_api
from verifier.routes.deps import API_KEY_CHECK, rate_limited

__all__ = ["FAST_ROUTES", "TELEMETRY", "FastPath", "FastRoute"]

Guard = Callable[[Request], Awaitable[None]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: a dict key per request
class FastRoute:
    """One route the fast path serves: ``method`` on ``prefix`` (``param`` None: exactly that
    path) or on ``prefix/{param}`` (one non-empty path segment)."""

    method: str
    prefix: str
    param: str | None
    endpoint: Callable[..., Awaitable[Response]]  # the FastAPI route's endpoint
    guard: Guard  # the one dependency the route declares
    call: Callable[[Request, str], Awaitable[Response]]  # the endpoint, with FastAPI's arguments


def _create_presentation(request: Request, _: str) -> Awaitable[Response]:
    return rp_api.create_presentation(request)


def _get_presentation(request: Request, tx_id: str) -> Awaitable[Response]:
    # FastAPI's ``response_code: str | None = None`` query parameter: the last value given.
    code = request.query_params.get("response_code")
    return rp_api.get_presentation(request, tx_id, code)


FAST_ROUTES = (
    FastRoute(
        "POST",
        "/v1/presentations",
        None,
        rp_api.create_presentation,
        API_KEY_CHECK,
        _create_presentation,
    ),
    FastRoute(
        "GET",
        "/v1/presentations",
        "tx_id",
        rp_api.get_presentation,
        API_KEY_CHECK,
        _get_presentation,
    ),
    FastRoute(
        "GET",
        "/wallet/request",
        "request_id",
        wallet_api.get_request_object,
        rate_limited,
        wallet_api.get_request_object,
    ),
    FastRoute(
        "POST",
        "/wallet/request",
        "request_id",
        wallet_api.post_request_object,
        rate_limited,
        wallet_api.post_request_object,
    ),
    FastRoute(
        "POST",
        "/wallet/response",
        "request_id",
        wallet_api.post_response,
        rate_limited,
        wallet_api.post_response,
    ),
)
# FastAPI's native OpenTelemetry puts a request's span here while it records one; the span
# learns its route (``http.route``, its name) from FastAPI's routing, so such a request goes
# through FastAPI.
TELEMETRY = "fastapi.telemetry"
# (method, path) -> the route without a parameter; (method, prefix) -> the one with
_EXACT = {(r.method, r.prefix): r for r in FAST_ROUTES if r.param is None}
_UNDER = {(r.method, r.prefix): r for r in FAST_ROUTES if r.param is not None}


def _route_path(scope: Scope) -> str:
    """The path the router matches on (without ``root_path``), as Starlette computes it."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path != root and path[len(root)] == "/":
        return path[len(root) :]
    return path


def declared_guards(route: BaseRoute) -> list[Any]:
    """The callables of the dependencies ``route`` declares (FastAPI's ``dependant``)."""
    dependant = getattr(route, "dependant", None)
    return [getattr(d, "call", None) for d in getattr(dependant, "dependencies", [None])]


class FastPath:
    """ASGI middleware: the routes of :data:`FAST_ROUTES` straight to their endpoints, the rest
    to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[FastRoute, BaseRoute] = {}  # learnt from FastAPI's first choice
        self._handlers: dict[Any, Handler] = {}
        self._status_handlers: dict[int, Handler] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            path = _route_path(scope)
            fast, value = _EXACT.get((method, path)), ""
            if fast is None:
                prefix, _, value = path.rpartition("/")
                fast = _UNDER.get((method, prefix)) if value else None
            if fast is not None:
                route = self._routes.get(fast)
                if route is not None and scope.get(TELEMETRY) is None:
                    await self._serve(scope, receive, send, fast, value, route)
                    return
                await self.app(scope, receive, send)
                if route is None:
                    self.learn(scope, fast)
                return
        await self.app(scope, receive, send)

    def learn(self, scope: Scope, fast: FastRoute) -> None:
        """After FastAPI served a first request to ``fast``'s path: serve it from now on only
        if the route FastAPI picked has ``fast``'s endpoint and exactly its dependency."""
        route = scope.get("route")
        if route is None or getattr(route, "endpoint", None) is not fast.endpoint:
            return
        if declared_guards(route) != [fast.guard]:
            return
        if not self._routes:
            for key, handler in scope["app"].exception_handlers.items():
                if key in (500, Exception):
                    continue  # ServerErrorMiddleware's, outside this middleware
                if isinstance(key, int):
                    self._status_handlers[key] = handler
                else:
                    self._handlers[key] = handler
        self._routes[fast] = route

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        fast: FastRoute,
        value: str,
        route: BaseRoute,
    ) -> None:
        scope["route"] = route
        scope["endpoint"] = fast.endpoint
        scope["path_params"] = {fast.param: value} if fast.param is not None else {}
        request = Request(scope, receive, send)
        try:
            await fast.guard(request)
            response = await fast.call(request, value)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise  # the app's 500 handler (ServerErrorMiddleware), as through FastAPI
            response = await handler(request, exc)
            exc.__traceback__ = None
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Handler | None:
        """Starlette's ``ExceptionMiddleware`` lookup: status handlers, then by class MRO."""
        if isinstance(exc, HTTPException) and exc.status_code in self._status_handlers:
            return self._status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self._handlers:
                return self._handlers[cls]
        return None
