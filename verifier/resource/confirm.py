"""Ask the person behind a wallet-login token to confirm one tool call, from their wallet.

:class:`CallConfirmations` is the resource side of agentvp's mid-session confirmations
(``POST /oauth/confirmations``, ``…/{id}/redeem``, RP API key). :meth:`~CallConfirmations.
require` is called in a tool handler before the call does anything:

- the first time for a (person, client, resource, call) it starts a confirmation at agentvp and
  raises :class:`ConfirmationRequiredError` with the page's URL - an MCP server turns that into a
  URL-mode elicitation (``URLElicitationRequiredError``, -32042, MCP 2025-11-25), and the client
  retries the call once the person has confirmed;
- on the retry it redeems the confirmation (single use, agentvp checks it is the same person's
  token and the same call) and returns; still pending: :class:`ConfirmationRequiredError` again with
  the same elicitation; declined, another person, expired or used: :class:`ConfirmationFailedError`
  (and the next call starts afresh); agentvp unreachable: ``confirmation_unavailable``; arguments
  that cannot be sent as JSON (a number overflowed to infinity): ``invalid_request``.

What is pending is kept in memory, keyed by the token's ``sub``, ``client_id``, ``aud`` and the
SHA-256 of the call - never by an MCP session id (the elicitation spec's statefulness rule).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from .tokens import AccessGrant

__all__ = ["CallConfirmations", "ConfirmationFailedError", "ConfirmationRequiredError"]

MAX_PENDING = 10_000


class ConfirmationRequiredError(Exception):
    """The person must open ``url`` (an elicitation with id ``elicitation_id``) and confirm."""

    def __init__(self, elicitation_id: str, url: str, message: str) -> None:
        super().__init__(message)
        self.elicitation_id = elicitation_id
        self.url = url
        self.message = message


class ConfirmationFailedError(Exception):
    """The confirmation ended without the person confirming (``code`` from agentvp)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


@dataclass(frozen=True)
class _Pending:
    confirmation_id: str
    url: str
    message: str
    expires_at: int


def _key(grant: AccessGrant, tool: str, arguments: Mapping[str, Any]) -> str:
    call = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True, separators=(",", ":"))
    person = "\x00".join((grant.subject, grant.client_id, str(grant.claims.get("aud"))))
    return hashlib.sha256(f"{person}\x00{call}".encode()).hexdigest()


class CallConfirmations:
    def __init__(
        self,
        agentvp: str,
        *,
        api_key: str,
        lifetime: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base = agentvp.rstrip("/")
        self.api_key = api_key
        self.lifetime = lifetime
        self.transport = transport
        self.clock = clock
        self.pending: dict[str, _Pending] = {}

    async def _post(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        try:
            async with httpx.AsyncClient(
                timeout=10, follow_redirects=False, trust_env=False, transport=self.transport
            ) as client:
                return await client.post(f"{self.base}{path}", json=body, headers=headers)
        except httpx.HTTPError as exc:  # fail closed: no confirmation, no call
            raise ConfirmationFailedError("confirmation_unavailable", str(exc)) from None
        except ValueError:  # not JSON: a number the client's JSON overflowed to infinity
            raise ConfirmationFailedError(
                "invalid_request", "the call's arguments hold a number out of range"
            ) from None

    async def require(
        self, grant: AccessGrant, tool: str, arguments: Mapping[str, Any], message: str
    ) -> dict[str, Any]:
        """Return agentvp's redemption once the person confirmed this call; else raise."""
        key = _key(grant, tool, arguments)
        call = {"token": grant.token, "tool": tool, "arguments": dict(arguments)}
        pending = self.pending.get(key)
        if pending is not None and pending.expires_at <= self.clock():
            del self.pending[key]
            pending = None
        if pending is None:
            await self._start(key, call, message)  # raises ConfirmationRequiredError
        answer = await self._post(f"/oauth/confirmations/{pending.confirmation_id}/redeem", call)
        body: dict[str, Any] = _json(answer)
        if answer.status_code == 200:
            del self.pending[key]
            return body
        code = str(body.get("error", f"http_{answer.status_code}"))
        if code == "confirmation_pending":
            raise ConfirmationRequiredError(pending.confirmation_id, pending.url, pending.message)
        del self.pending[key]
        raise ConfirmationFailedError(code, str(body.get("error_description", "")))

    async def _start(self, key: str, call: Mapping[str, Any], message: str) -> NoReturn:
        if len(self.pending) >= MAX_PENDING:  # drop the expired, then the oldest
            now = self.clock()
            for stale in [k for k, p in self.pending.items() if p.expires_at <= now]:
                del self.pending[stale]
            while len(self.pending) >= MAX_PENDING:
                del self.pending[next(iter(self.pending))]
        body = {**call, "message": message}
        if self.lifetime is not None:
            body["lifetime"] = self.lifetime
        answer = await self._post("/oauth/confirmations", body)
        started = _json(answer)
        if answer.status_code != 201:
            code = str(started.get("error", f"http_{answer.status_code}"))
            raise ConfirmationFailedError(code, str(started.get("error_description", "")))
        pending = _Pending(
            str(started["confirmation_id"]),
            str(started["url"]),
            message,
            int(started["expires_at"]),
        )
        self.pending[key] = pending
        raise ConfirmationRequiredError(pending.confirmation_id, pending.url, message)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
