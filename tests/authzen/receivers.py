"""SSF receivers for the tests: a real HTTP push receiver (RFC 8935) that verifies each SET's
signature against agentvp's JWKS, its ``typ`` and its ``aud``, and a poll receiver (RFC 8936)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from tests.conftest import free_port
from tests.threaded_server import ThreadedServer
from verifier.protocol.jose import public_key_from_jwk
from verifier.protocol.jose.jws import parse_unverified_jws


def verify_set(token: str, jwks: dict[str, Any], *, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of a SET that verifies (signature, typ, iss, aud); AssertionError otherwise."""
    jws = parse_unverified_jws(token, what="SET")
    assert jws.header.get("typ") == "secevent+jwt", jws.header
    jwk = next(k for k in jwks["keys"] if k.get("kid") == jws.header.get("kid"))
    assert public_key_from_jwk(jwk).verify(jws.alg, jws.signing_input, jws.signature)
    claims = jws.payload_json(what="SET")
    assert claims["iss"] == issuer and claims["aud"] == audience, claims
    assert "exp" not in claims and "sub" not in claims and len(claims["events"]) == 1
    return claims


class PushReceiver:
    """Answers 202 to SETs that verify, 400 ``{"err": ...}`` to anything else."""

    def __init__(self, agentvp: str, audience: str) -> None:
        self.agentvp = agentvp
        self.audience = audience
        self.jwks = httpx.get(f"{agentvp}/oauth/jwks.json", timeout=10).json()
        self.received: list[dict[str, Any]] = []
        self.times: list[float] = []  # time.monotonic() of each accepted SET
        self.refused: list[str] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/events"

        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)

        self.server = ThreadedServer(asgi, self.port)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        status, answer = 202, b""
        try:
            assert headers.get(b"content-type") == b"application/secevent+jwt"
            claims = verify_set(
                body.decode(), self.jwks, issuer=self.agentvp, audience=self.audience
            )
            with self.lock:
                self.received.append(claims)
                self.times.append(time.monotonic())
        except Exception as exc:  # refused: recorded for the test to see
            with self.lock:
                self.refused.append(repr(exc))
            status = 400
            answer = json.dumps({"err": "invalid_request", "description": "bad SET"}).encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    def events(self) -> list[str]:
        with self.lock:
            return [next(iter(c["events"])) for c in self.received]

    def stop(self) -> None:
        self.server.stop()
