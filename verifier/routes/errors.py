"""How every error leaves the service: ``{"error", "error_description"}`` with ``no-store``.

:func:`install_error_handlers` gives an app the handlers for the service's own errors, request
validation, the store being down, the router's 404/405 and anything unexpected (a 500 that
never says more); :func:`error_response` is the body they all send.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from verifier.errors import ServiceError
from verifier.routes.json_response import JSONResponse
from verifier.store.base import StoreUnavailableError

if TYPE_CHECKING:
    from verifier.ops.metrics import Metrics

__all__ = ["error_response", "install_error_handlers", "store_unavailable"]

log = logging.getLogger("agentvp.app")


def error_response(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", **headers},
    )


def store_unavailable() -> JSONResponse:
    """503 ``temporarily_unavailable``: the store did not answer (a request, or ``/readyz``)."""
    return error_response(503, "temporarily_unavailable", "the transaction store is unreachable")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """The router's own 404/405 in this service's error shape; a 405 lists every method of the
    path in ``Allow`` (RFC 9110 §15.5.6), not only those of the first route that matched it."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        routes = request.app.router.routes
        allowed = [
            method
            for method in _METHODS
            if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
        ]
        return error_response(
            405, "invalid_request", "method not allowed", Allow=", ".join(allowed)
        )
    error = "not_found" if exc.status_code == 404 else "invalid_request"
    return error_response(exc.status_code, error, str(exc.detail), **(exc.headers or {}))


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    """Every error leaves as ``{\"error\", \"error_description\"}`` (a 500 never says more)."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return error_response(exc.status, exc.error, exc.description, **{**headers, **exc.headers})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(400, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StoreUnavailableError)
    async def _store_down(request: Request, exc: StoreUnavailableError) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        metrics.store_errors.inc()
        return store_unavailable()

    app.add_exception_handler(StarletteHTTPException, _http_error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "server_error", "unexpected error")
