"""A lean ASGI path to the two wallet endpoints every cross-device flow hits.

``POST /wallet/request/{request_id}`` and ``POST /wallet/response/{request_id}`` are public,
carry no declared parameters or body model, and run once per flow each; through FastAPI each
costs a router scan over every route of the app, dependency solving and several wrapper layers
- more CPU than the endpoint's own work. :class:`WalletFastPath` sits inside the app's own
middleware (proxy headers, access log, body limit all still apply) and, for exactly these two
paths and ``POST``, calls the same endpoint functions of :mod:`.wallet_api` after the same
rate-limit dependency, renders errors with the app's own exception handlers (looked up the way
Starlette's ``ExceptionMiddleware`` does; anything unhandled propagates to the 500 handler as
before) and sets ``scope["route"]`` so the access log and metrics name the same route template.

Everything else - other methods, other paths, the OpenAPI document (the routes stay declared in
:mod:`.wallet_api`) - goes to FastAPI unchanged. If another route were ever to shadow one of
these paths, the fast path steps aside: the first request to each path goes through FastAPI,
and the fast path takes over only if the route FastAPI picked is the wallet endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from verifier.routes import wallet_api
from verifier.routes.deps import rate_limited

__all__ = ["WalletFastPath"]

Endpoint = Callable[[Request, str], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]

# The parent path of ``/{request_id}`` -> the endpoint FastAPI routes a POST there to.
ENDPOINTS: dict[str, Endpoint] = {
    "/wallet/request": wallet_api.post_request_object,
    "/wallet/response": wallet_api.post_response,
}


def _route_path(scope: Scope) -> str:
    """The path the router matches on (without ``root_path``), as Starlette computes it."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path != root and path[len(root)] == "/":
        return path[len(root) :]
    return path


class WalletFastPath:
    """ASGI middleware: the two wallet POSTs straight to their endpoints, the rest to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # parent path -> the route FastAPI picked for it (learnt from the first request there)
        self._routes: dict[str, BaseRoute] = {}
        self._handlers: dict[Any, Handler] = {}
        self._status_handlers: dict[int, Handler] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            parent, _, request_id = _route_path(scope).rpartition("/")
            endpoint = ENDPOINTS.get(parent) if request_id else None
            if endpoint is not None:
                route = self._routes.get(parent)
                if route is not None:
                    await self._serve(scope, receive, send, request_id, route, endpoint)
                else:
                    await self.app(scope, receive, send)
                    self._learn(scope, parent, endpoint)
                return
        await self.app(scope, receive, send)

    def _learn(self, scope: Scope, parent: str, endpoint: Endpoint) -> None:
        """After FastAPI served a first request to ``parent``: use the fast path from now on
        only if the route it picked is this wallet endpoint (no other route shadows it)."""
        route = scope.get("route")
        if route is None or getattr(route, "endpoint", None) is not endpoint:
            return
        if not self._routes:
            for key, handler in scope["app"].exception_handlers.items():
                if key in (500, Exception):
                    continue  # ServerErrorMiddleware's, outside this middleware
                if isinstance(key, int):
                    self._status_handlers[key] = handler
                else:
                    self._handlers[key] = handler
        self._routes[parent] = route

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        route: BaseRoute,
        endpoint: Endpoint,
    ) -> None:
        scope["route"] = route
        scope["endpoint"] = endpoint
        scope["path_params"] = {"request_id": request_id}
        request = Request(scope, receive, send)
        try:
            await rate_limited(request)
            response = await endpoint(request, request_id)
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
