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

from verifier.ops.log_stream import LoopBatchedStreamHandler

if TYPE_CHECKING:
    from verifier.ops.metrics import Metrics

__all__ = [
    "SERVE_TEXT_FORMAT",
    "AccessLog",
    "JSONFormatter",
    "TextFormatter",
    "current_tx",
    "lean_log_records",
    "log_event",
    "log_info",
    "logging_config",
]

current_tx: contextvars.ContextVar[str | None] = contextvars.ContextVar("agentvp_tx", default=None)
# The routine event of the request being served, carried by its access-log line (see log_event).
_request_event: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "agentvp_request_event", default=None
)
# Plain ASGI: the access log wraps any ASGI app; no web framework is imported here.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_ACCESS = logging.getLogger("agentvp.access")
# Every attribute a LogRecord has of its own: ``extra`` may not name one (``makeRecord``).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
SERVE_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"  # AGENTVP_LOG_FORMAT=text


class JSONFormatter(logging.Formatter):
    direct = True  # AccessLog may render its lines with info_line (any instance: no options)

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        exc = self.formatException(record.exc_info) if record.exc_info else None
        return self._line(
            record.created, record.levelname, record.name, record.getMessage(), fields, exc
        )

    def info_line(
        self, name: str, created: float, msecs: float, message: str, fields: dict[str, Any]
    ) -> str:
        """:meth:`format` of the INFO record ``logger.info`` would build: logger ``name``,
        created at ``created``, ``message`` already %-formatted, ``fields`` its ``extra``."""
        del msecs  # the JSON line gives the time as ``ts`` alone
        return self._line(created, "INFO", name, message, fields, None)

    @staticmethod
    def _line(
        created: float,
        levelname: str,
        name: str,
        message: str,
        fields: dict[str, Any],
        exc: str | None,
    ) -> str:
        entry: dict[str, Any] = {
            "ts": round(created, 3),
            "level": levelname.lower(),
            "logger": name,
            "msg": message,
        }
        tx = fields.get("tx") or current_tx.get()
        if tx:
            entry["tx"] = tx
        entry.update({k: v for k, v in fields.items() if k != "tx"})
        if exc:
            entry["exc"] = exc
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """:class:`logging.Formatter` with the same output, its default ``asctime`` built once per
    second: ``time.strftime`` of the same second on every line was ~2 % of a flow's CPU."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._second: tuple[int, str] = (-1, "")  # one tuple: swapped whole, never half-set
        # AccessLog may render its lines with info_line: only in serve's own format.
        self.direct = (
            self._fmt == SERVE_TEXT_FORMAT
            and self.datefmt is None
            and type(self._style) is logging.PercentStyle
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt:
            return super().formatTime(record, datefmt)
        return self._asctime(record.created, record.msecs)

    def _asctime(self, created: float, msecs: float) -> str:
        second = int(created)
        cached, text = self._second
        if cached != second:
            text = time.strftime(self.default_time_format, self.converter(created))
            self._second = (second, text)
        msec_format = self.default_msec_format
        return msec_format % (text, msecs) if msec_format else text

    def info_line(
        self, name: str, created: float, msecs: float, message: str, fields: dict[str, Any]
    ) -> str:
        """:meth:`format` of the INFO record ``logger.info`` would build (see
        :meth:`JSONFormatter.info_line`), in :data:`SERVE_TEXT_FORMAT` (``direct`` only)."""
        del fields  # the text line prints none of them
        return f"{self._asctime(created, msecs)} INFO {name} {message}"


def log_event(logger: logging.Logger, msg: str, *, tx: str, **fields: Any) -> None:
    """Log a routine event of a transaction (``presentation created``, ...).

    Inside a request served through :class:`AccessLog`, the request's access-log line carries
    it - its message gets ``: <msg>`` appended and its record the ``fields`` - one line per
    request instead of two, with the same content. The first event of a request is carried;
    any other, or one outside a request, or one about another transaction than the line's,
    is its own line on ``logger`` as always. For routine events only (failures, warnings and
    outcomes keep their own lines); ``fields`` must not name ``status``, ``ms`` or ``tx``."""
    noted = _request_event.get()
    if noted is not None and not noted and _carries(logger):
        noted.update(fields, event=msg, event_logger=logger.name, tx=tx)
        return
    logger.info(msg, extra={"tx": tx, **fields})


def log_info(logger: logging.Logger, msg: str, **fields: Any) -> None:
    """``logger.info(msg, extra=fields)`` for a message without %-arguments, written as the
    access log writes its lines (straight to serve's handler when logging would hand it there
    alone, see :func:`_direct_info`): for the lines every flow logs."""
    if not _direct_info(logger, msg, fields):
        logger.info(msg, extra=fields)


def _carries(logger: logging.Logger) -> bool:
    """Whether the access log would print an event ``logger`` would print."""
    return logger.isEnabledFor(logging.INFO) and _ACCESS.isEnabledFor(logging.INFO)


def lean_log_records() -> None:
    """Skip what no configured format prints: the caller's file and line (a stack walk per
    record), thread, process and multiprocessing names - the logging HOWTO's "Optimization".
    For ``agentvp serve`` only, whose formats (:func:`logging_config`) print none of them."""
    logging._srcfile = None  # documented in the HOWTO
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def logging_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the service and uvicorn (its access log is off)."""
    formatter = (
        {"()": JSONFormatter} if fmt == "json" else {"()": TextFormatter, "fmt": SERVE_TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        # The lines logged in one event-loop iteration leave in one write (see log_stream).
        "handlers": {"default": {"()": LoopBatchedStreamHandler, "formatter": "default"}},
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
        self.log = _ACCESS
        # (method, route template, status) -> its latency histogram child: what
        # ``labels()`` returns, without its validation and lock on every request
        self._latency: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        token = current_tx.set(None)
        noted: dict[str, Any] = {}
        event_token = _request_event.set(noted)

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
                key = (scope["method"], route, status["code"])
                child = self._latency.get(key)
                if child is None:
                    child = self.metrics.latency.labels(key[0], route, str(key[2]))
                    self._latency[key] = child
                child.observe(elapsed)
            tx = current_tx.get()
            extra = {"status": status["code"], "ms": round(elapsed * 1000, 1), "tx": tx}
            line = "%s %s %s"
            args: tuple[Any, ...] = (scope["method"], route, status["code"])
            if noted:
                event, source = noted.pop("event"), noted.pop("event_logger")
                if noted["tx"] == tx:  # the request's event, on this line
                    line, args = "%s %s %s: %s", (*args, event)
                    extra = {**noted, **extra}  # its fields never name status, ms or tx
                else:  # about another transaction than the line: its own line, as ever
                    logging.getLogger(source).info(event, extra=noted)
            if not _direct_info(self.log, line % args, extra):
                self.log.info(line, *args, extra=extra)
            _request_event.reset(event_token)
            current_tx.reset(token)


def _direct_info(log: logging.Logger, message: str, fields: dict[str, Any]) -> bool:
    """Write what ``log.info(message, extra=fields)`` would write, without building a record,
    when logging would hand it to ``agentvp serve``'s own handler alone (see
    :func:`_serve_handler`). The same line, in the same order with every other line; about
    2 % of a flow's CPU less (docs/PERFORMANCE.md, round 12). False, having done nothing, in
    every other configuration: the caller then logs as usual."""
    if (
        type(log) is not logging.Logger  # a logger class of its own may make other records
        or log.disabled
        or log.filters
        or not log.isEnabledFor(logging.INFO)
        or logging.getLogRecordFactory() is not logging.LogRecord  # one that adds fields
        or not _STANDARD.isdisjoint(fields)  # makeRecord refuses those: let it say so
    ):
        return False
    serve = _serve_handler(log)
    if serve is None:
        return False
    handler, formatter = serve
    created = time.time()  # as LogRecord takes them
    msecs = int((created - int(created)) * 1000) + 0.0
    try:
        line = formatter.info_line(log.name, created, msecs, message, fields)
    except Exception:  # logging would report it through handleError: let it
        return False
    handler.emit_line(line)
    return True


def _serve_handler(
    log: logging.Logger,
) -> tuple[LoopBatchedStreamHandler, TextFormatter | JSONFormatter] | None:
    """The handler an INFO record of ``log`` would reach, and its formatter, if it reaches
    exactly one and that one is set up as :func:`logging_config` sets it up: a
    :class:`LoopBatchedStreamHandler` with no filter and a :class:`TextFormatter` in serve's
    format or a :class:`JSONFormatter`. None for anything else (an embedding application's
    handlers, pytest's capture...)."""
    found = None
    logger: logging.Logger | None = log
    while logger is not None:  # the handlers callHandlers would call, as it walks them
        for handler in logger.handlers:
            if found is not None:
                return None
            found = handler
        logger = logger.parent if logger.propagate else None
    if type(found) is not LoopBatchedStreamHandler or found.level > logging.INFO or found.filters:
        return None
    formatter = found.formatter
    if type(formatter) is TextFormatter or type(formatter) is JSONFormatter:
        return (found, formatter) if formatter.direct else None
    return None
