"""A careless JSON-RPC 2.0 tool server, as plain ASGI: what ``verifier.resource`` must hold
even when the application behind it is lenient.

It answers every path and method, reads bodies with Python's lenient ``json`` (the last of two
duplicate members wins, ``NaN`` is a number, a UTF-8 byte-order mark is skipped), accepts
JSON-RPC batches (JSON-RPC 2.0 §6) and JSON-RPC over WebSocket, and *runs* every ``tools/call``
it reads - each run appended to :attr:`JsonRpcApp.runs`, the ledger tests compare.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from verifier.resource import grant_of

Scope = dict[str, Any]


@dataclass
class Run:
    tool: str
    arguments: Any
    path: str
    verification_id: str | None


@dataclass
class JsonRpcApp:
    runs: list[Run] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.runs)

    def _answer(self, message: Any, scope: Scope) -> dict[str, Any] | None:
        if not isinstance(message, dict):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "bad"}}
        result: dict[str, Any] = {}
        if message.get("method") == "tools/call":
            params = message.get("params") or {}
            try:
                verification_id: str | None = grant_of(scope).verification_id
            except LookupError:
                verification_id = None
            with self.lock:
                self.runs.append(
                    Run(
                        str(params.get("name")),
                        params.get("arguments"),
                        scope.get("path", ""),
                        verification_id,
                    )
                )
            result = {"content": [{"type": "text", "text": "done"}], "isError": False}
        if "id" not in message:
            return None  # a notification
        return {"jsonrpc": "2.0", "id": message["id"], "result": result}

    def handle(self, text: str | bytes, scope: Scope) -> Any:
        raw = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        try:
            message = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse"}}
        if isinstance(message, list):  # a batch: every member is run
            answers = [self._answer(m, scope) for m in message]
            return [a for a in answers if a is not None]
        return self._answer(message, scope) or {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "websocket":
            await self._socket(scope, receive, send)
        else:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            payload = json.dumps(self.handle(body, scope)).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": payload})

    async def _socket(self, scope: Scope, receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            text = json.dumps(self.handle(message.get("text") or message.get("bytes"), scope))
            await send({"type": "websocket.send", "text": text})
