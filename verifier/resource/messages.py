"""What the guard reads from a request to the protected path: the JSON-RPC message it carries.

The guard authorises tool calls, so it must see every call the application behind it will run,
read exactly as that application reads it. A reader more lenient than the guard, or a message
shape the guard does not understand, is a way around it - so :func:`tool_calls` refuses
(400 ``invalid_request``) rather than guess:

- a body that is not one strict JSON text (``body_not_json``): invalid UTF-8, duplicate member
  names, ``NaN``, deeper than ``max_depth``, a byte-order mark - what another parser might
  read differently;
- a JSON-RPC batch, a top-level array (``batch_refused``): one access token authorises one
  action, and a batch would carry several under one check (JSON-RPC 2.0 §6; MCP dropped
  batching in its 2025-06-18 revision) - refused whatever it holds, for every application;
- a top-level value that is not an object (``body_not_json_rpc``).

An empty body carries no message. Of one message, only a ``tools/call`` request or
notification is a tool call; its ``params.name`` and ``params.arguments`` are returned as
they are, for :func:`.tokens.check_tool` to judge.
"""

from __future__ import annotations

from typing import Any

from verifier.protocol import AgentVPError
from verifier.protocol.jsonutil import loads

from .tokens import AccessError

__all__ = ["tool_calls"]

_WS = b" \t\r\n"


def _refused(code: str, description: str) -> AccessError:
    return AccessError(400, "invalid_request", code, description)


def tool_calls(body: bytes, *, max_depth: int) -> list[tuple[Any, Any]]:
    """``(name, arguments)`` of the tool call in ``body`` (none, or exactly one)."""
    if not body.strip(_WS):
        return []
    try:
        message = loads(body, what="request body", max_depth=max_depth, max_bytes=len(body))
    except AgentVPError as exc:
        raise _refused("body_not_json", exc.reason) from None
    if isinstance(message, list):
        raise _refused(
            "batch_refused",
            f"a JSON-RPC batch of {len(message)} messages is refused: one token, one action",
        )
    if not isinstance(message, dict):
        raise _refused("body_not_json_rpc", "the body is not a JSON-RPC message object")
    if message.get("method") != "tools/call":
        return []
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    return [(params.get("name"), params.get("arguments", {}))]
