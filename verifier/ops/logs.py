"""Logging: one JSON object per line (``AGENTVP_LOG_FORMAT=json``) or plain text.

Every line about a transaction carries its id (``tx``): service code passes it explicitly, and
the access log takes it from :data:`current_tx`, set when a request resolves a transaction.
What is never logged: disclosed claim values, nonces, states, response codes, keys, tokens,
presentations or salts - the access log records the route *template* and the status, not the
URL, so secrets in paths or query strings (``?response_code=``) never reach the log.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifier.ops.metrics import Metrics

__all__ = ["AccessLog", "JSONFormatter", "current_tx", "logging_config"]

current_tx: contextvars.ContextVar[str | None] = contextvars.ContextVar("agentvp_tx", default=None)
# Plain ASGI: the access log wraps any ASGI app; no web framework is imported here.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        tx = getattr(record, "tx", None) or current_tx.get()
        if tx:
            entry["tx"] = tx
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and k != "tx"})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the service and uvicorn (its access log is off)."""
    formatter = (
        {"()": JSONFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default"}},
        "loggers": {
            "agentvp": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class AccessLog:
    """One line per request: method, route template, status, duration, transaction id; and,
    with ``metrics``, the same duration in its latency histogram (per route *template*, never
    per id: bounded cardinality) - one timing, one wrapper around ``send``."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger("agentvp.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        token = current_tx.set(None)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            if self.metrics is not None:
                self.metrics.latency.labels(scope["method"], route, str(status["code"])).observe(
                    elapsed
                )
            self.log.info(
                "%s %s %s",
                scope["method"],
                route,
                status["code"],
                extra={
                    "status": status["code"],
                    "ms": round(elapsed * 1000, 1),
                    "tx": current_tx.get(),
                },
            )
            current_tx.reset(token)
