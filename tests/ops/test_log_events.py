"""Routine transaction events ride on their request's access-log line (one line per request),
and fall back to their own line whenever that line could not carry them faithfully."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from verifier.ops.logs import AccessLog, current_tx, log_event

pytestmark = pytest.mark.anyio
service_log = logging.getLogger("agentvp.service")


async def serve(events: list[tuple[str, str, dict[str, Any]]], line_tx: str | None) -> None:
    """One HTTP request through AccessLog to an app that logs ``events`` (msg, tx, fields)
    and leaves ``line_tx`` as the request's transaction."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        for msg, tx, fields in events:
            log_event(service_log, msg, tx=tx, **fields)
        current_tx.set(line_tx)
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        del message

    scope = {"type": "http", "method": "POST", "path": "/v1/presentations", "headers": []}
    await AccessLog(app)(scope, receive, send)


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str | None, Any]]:
    return [
        (r.name, r.getMessage(), getattr(r, "tx", None), getattr(r, "flow", None))
        for r in caplog.records
    ]


async def test_the_event_of_a_request_is_on_its_access_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agentvp")
    await serve([("presentation created", "t1", {"flow": "cross_device"})], "t1")
    assert lines(caplog) == [
        ("agentvp.access", "POST unmatched 201: presentation created", "t1", "cross_device")
    ]
    assert caplog.records[0].status == 201  # type: ignore[attr-defined]


async def test_a_second_event_or_another_transactions_is_its_own_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agentvp")
    await serve([("first", "t1", {}), ("second", "t1", {"flow": "x"})], "t1")
    await serve([("about t2", "t2", {"flow": "y"})], "t1")
    assert lines(caplog) == [
        ("agentvp.service", "second", "t1", "x"),
        ("agentvp.access", "POST unmatched 201: first", "t1", None),
        ("agentvp.service", "about t2", "t2", "y"),
        ("agentvp.access", "POST unmatched 201", "t1", None),
    ]


async def test_outside_a_request_or_with_the_access_log_off_it_is_its_own_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agentvp")
    log_event(service_log, "presentation created", tx="t0", flow="same_device")
    access = logging.getLogger("agentvp.access")
    access.setLevel(logging.WARNING)
    try:
        await serve([("request object served", "t1", {})], "t1")
    finally:
        access.setLevel(logging.NOTSET)
    assert lines(caplog) == [
        ("agentvp.service", "presentation created", "t0", "same_device"),
        ("agentvp.service", "request object served", "t1", None),
    ]
