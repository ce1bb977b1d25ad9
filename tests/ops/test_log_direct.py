"""The access log's direct line: under ``agentvp serve``'s own logging set-up, an access line is
rendered and queued without a LogRecord - and it is exactly the line logging would have written.
In any other set-up logging writes it, as before."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ops.streams import Stream
from verifier.ops import logs
from verifier.ops.log_stream import LoopBatchedStreamHandler
from verifier.ops.logs import (
    SERVE_TEXT_FORMAT,
    AccessLog,
    JSONFormatter,
    TextFormatter,
    current_tx,
    log_event,
    log_info,
)

NOW = 1_796_311_979.0517  # a frozen clock: both paths stamp the line with time.time()


class Tree:
    """``<name>`` with serve's handler, ``<name>.access`` propagating to it (as ``agentvp``
    and ``agentvp.access``), and ``<name>.service`` for routine events."""

    def __init__(self, name: str, formatter: logging.Formatter) -> None:
        self.stream = Stream()
        self.handler = LoopBatchedStreamHandler(self.stream)
        self.handler.setFormatter(formatter)
        self.root = logging.getLogger(name)
        self.root.handlers[:] = [self.handler]
        self.root.propagate = False
        self.root.setLevel(logging.INFO)
        self.access = logging.getLogger(f"{name}.access")
        self.service = logging.getLogger(f"{name}.service")
        for child in (self.access, self.service):
            child.handlers[:], child.filters[:] = [], []
            child.setLevel(logging.NOTSET)
            child.propagate = True

    def direct(self) -> bool:
        serve = logs._serve_handler(self.access)
        return serve is not None and serve[0] is self.handler


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Both paths stamp a line with time.time() and time it with perf_counter: frozen, so two
    runs of a request write the same text. ``agentvp.access`` (which log_event asks whether
    the access line will carry an event) at INFO, as serve sets it."""
    monkeypatch.setattr(time, "time", lambda: NOW)
    monkeypatch.setattr(time, "time_ns", lambda: int(NOW * 1e9))
    monkeypatch.setattr(time, "perf_counter", lambda: 5.0)
    access = logging.getLogger("agentvp.access")
    level = access.level
    access.setLevel(logging.INFO)
    yield
    access.setLevel(level)


def serve(tree: Tree, events: list[tuple[str, str, dict[str, Any]]], line_tx: str | None) -> str:
    """One request through AccessLog (logging to ``tree``) whose app logs ``events``; the text
    the handler wrote."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        for msg, tx, fields in events:
            log_event(tree.service, msg, tx=tx, **fields)
        current_tx.set(line_tx)
        await send({"type": "http.response.start", "status": 201, "headers": []})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        del message

    async def main() -> None:
        access = AccessLog(app)
        access.log = tree.access
        scope = {"type": "http", "method": "POST", "path": "/v1/presentations", "headers": []}
        await access(scope, receive, send)
        await asyncio.sleep(0)  # the loop writes what the iteration queued
        await asyncio.sleep(0)

    tree.stream.writes.clear()
    asyncio.run(main())
    return tree.stream.text


class Refuse(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


class Pass(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return True


REQUESTS = [
    ([], "t1"),
    ([], None),
    ([("presentation created", "t1", {"flow": "cross_device", "purpose": "agent"})], "t1"),
    ([("request object served", "t1", {"note": 'ä \u2028 "q"', "n": 3})], "t1"),
    ([("first", "t1", {}), ("about t2", "t2", {"flow": "x"})], "t1"),
]


@pytest.mark.parametrize("formatter", ["text", "json"])
@pytest.mark.parametrize(("events", "line_tx"), REQUESTS)
def test_the_direct_line_is_the_line_logging_writes(
    formatter: str, events: list[tuple[str, str, dict[str, Any]]], line_tx: str | None
) -> None:
    built = TextFormatter(SERVE_TEXT_FORMAT) if formatter == "text" else JSONFormatter()
    tree = Tree(f"test.direct.{formatter}", built)
    assert tree.direct()
    queued: list[str] = []
    emit_line = tree.handler.emit_line
    tree.handler.emit_line = lambda line: (queued.append(line), emit_line(line))[1]  # type: ignore[method-assign]
    direct = serve(tree, events, line_tx)
    assert len(queued) == 1  # the access line took the direct path
    tree.access.addFilter(Pass())  # any filter on the logger: the record goes through logging
    through_logging = serve(tree, events, line_tx)
    assert len(queued) == 1
    assert direct == through_logging
    assert direct.count("\n") == max(1, len(events))  # a second event is a line of its own
    if formatter == "json":
        last = json.loads(direct.split("\n")[-2])  # not splitlines: U+2028 is in a line
        assert last["logger"] == tree.access.name and last["status"] == 201
        assert last.get("tx") == line_tx


@pytest.mark.parametrize("formatter", ["text", "json"])
def test_log_info_writes_the_line_logging_writes(formatter: str) -> None:
    built = TextFormatter(SERVE_TEXT_FORMAT) if formatter == "text" else JSONFormatter()
    tree = Tree(f"test.direct.info.{formatter}", built)

    def written() -> str:
        async def main() -> None:
            log_info(tree.service, "response processed 100%", tx="t9", status="verified")
            await asyncio.sleep(0)
            await asyncio.sleep(0)

        tree.stream.writes.clear()
        asyncio.run(main())
        return tree.stream.text

    direct = written()
    tree.service.addFilter(Pass())
    assert logs._direct_info(tree.service, "x", {}) is False
    assert written() == direct
    assert "response processed 100%" in direct


def test_a_line_logging_would_not_write_is_not_written() -> None:
    tree = Tree("test.direct.quiet", TextFormatter(SERVE_TEXT_FORMAT))
    tree.handler.addFilter(Refuse())
    assert serve(tree, [], "t1") == ""
    tree.handler.filters.clear()
    tree.handler.setLevel(logging.WARNING)
    assert serve(tree, [], "t1") == ""
    tree.handler.setLevel(logging.NOTSET)
    tree.access.setLevel(logging.WARNING)
    assert serve(tree, [], "t1") == ""
    tree.access.setLevel(logging.NOTSET)
    tree.access.disabled = True
    try:
        assert serve(tree, [], "t1") == ""
    finally:
        tree.access.disabled = False
    assert serve(tree, [], "t1").endswith("POST unmatched 201\n")


def test_any_other_set_up_gets_the_record() -> None:
    tree = Tree("test.direct.other", TextFormatter(SERVE_TEXT_FORMAT))
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    tree.access.addHandler(Collect())  # a second handler: both get the record
    try:
        assert not tree.direct()
        assert serve(tree, [], "t1").endswith("POST unmatched 201\n")
        assert [r.getMessage() for r in seen] == ["POST unmatched 201"]
    finally:
        tree.access.handlers.clear()
    # another format, a date format, a plain Formatter: the record, formatted by it
    for formatter in (
        TextFormatter("%(levelname)s %(message)s"),
        TextFormatter(SERVE_TEXT_FORMAT, datefmt="%H:%M"),
        logging.Formatter(SERVE_TEXT_FORMAT),
    ):
        tree.handler.setFormatter(formatter)
        assert not tree.direct()
        record = logging.LogRecord(
            tree.access.name, logging.INFO, "", 0, "POST unmatched 201", (), None
        )
        assert serve(tree, [], "t1") == formatter.format(record) + "\n"
    # a record factory (one that adds fields, as tracing integrations do) is called
    tree.handler.setFormatter(JSONFormatter())
    original = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        record.trace_id = "abc"  # type: ignore[attr-defined]
        return record

    logging.setLogRecordFactory(factory)
    try:
        assert json.loads(serve(tree, [], "t1"))["trace_id"] == "abc"
    finally:
        logging.setLogRecordFactory(original)
    assert "trace_id" not in json.loads(serve(tree, [], "t1"))


def test_direct_lines_and_records_leave_together_in_order() -> None:
    tree = Tree("test.direct.order", TextFormatter(SERVE_TEXT_FORMAT))

    async def main() -> list[str]:
        tree.service.info("one")
        tree.handler.emit_line("two")
        tree.service.info("three")
        before = list(tree.stream.writes)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return before

    assert asyncio.run(main()) == []
    assert len(tree.stream.writes) == 1
    assert [line.rsplit(" ", 1)[-1] for line in tree.stream.writes[0].splitlines()] == [
        "one",
        "two",
        "three",
    ]


def test_a_failing_stream_is_reported_for_a_direct_line_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tree = Tree("test.direct.broken", TextFormatter(SERVE_TEXT_FORMAT))

    class Broken(Stream):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    tree.handler.setStream(Broken())  # type: ignore[arg-type]
    tree.handler.emit_line("lost line")  # no running loop: written (and failing) at once
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err and "disk full" in err and "lost line" in err
