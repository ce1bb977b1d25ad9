"""A webhook receiver for tests: records deliveries, checks signatures, fails on demand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port
from tests.threaded_server import ThreadedServer


def verify_signature(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    """The snippet from verifier/ops/webhooks.py's docstring, as a receiver would run it."""
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > 300:
        return False
    mac = hmac.new(secret, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


class Receiver:
    def __init__(self, secret: bytes, port: int | None = None) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self._start()

    def _start(self) -> None:
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            if self.fail_next > 0:
                self.fail_next -= 1
                self.received.append({"headers": headers, "body": body, "answered": 500})
                return Response(status_code=500)
            self.received.append(
                {
                    "headers": headers,
                    "body": body,
                    "answered": 200,
                    "valid": verify_signature(self.secret, headers, body),
                }
            )
            return Response(status_code=204)

        app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        self._server = ThreadedServer(app, self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[dict[str, Any]]:
        return [r for r in self.received if r["answered"] == 200]

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.delivered()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.delivered()

    def stop(self) -> None:
        self._server.stop()
