"""Receive agentvp's Shared Signals and refuse tokens of revoked mandates (SSF 1.0, RFC 8936).

A resource server's tokens are checked locally, so without this it would honour a token until
its ``exp`` even after the mandate behind it was revoked. :class:`RevocationSignals` is an SSF
poll receiver for one resource:

- on first use it finds its stream at agentvp (``GET /ssf/stream``: a poll stream whose ``aud``
  is the resource) or creates one (``POST /ssf/stream`` ``{"delivery": {"method":
  "urn:ietf:rfc:8936"}, "aud": <resource>, "events_requested": [credential-change,
  session-revoked]}``), authenticated with an agentvp API key;
- at most every ``interval`` seconds, when the guard checks a token, it polls (RFC 8936 §2.4),
  verifies each SET (``typ`` ``secevent+jwt``, signature by a key of agentvp's JWKS, ``iss`` =
  agentvp, ``aud`` = the resource), acknowledges it, and remembers what it revokes: a CAEP
  ``session-revoked`` or ``credential-change`` (``revoke``/``update``) with a ``jwt_id`` subject
  names a mandate (any other ``iss``) or, with agentvp's own ``iss``, one token (its ``jti``); a
  ``session-revoked`` with an ``opaque`` subject names a grant (``verification_id``) or a wallet
  login (``sid``);
- :meth:`revoked` is then true for every token whose ``mandate_jti`` is such a mandate, whose
  ``jti`` is such a token, or whose ``verification_id``/``sid`` is such a session.

A SET that does not verify is refused through ``setErrs`` and changes nothing. A poll that fails
(agentvp unreachable) keeps what is known and is retried at the next check; introspection and
the AuthZEN PDP remain the authoritative, fail-closed answers. Hand it to
:class:`~verifier.resource.ResourceGuard` as ``signals=``. Imports only :mod:`verifier.protocol`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from verifier.protocol import AgentVPError
from verifier.protocol.jose import public_key_from_jwk
from verifier.protocol.jose.jws import parse_unverified_jws

from .keys import JWKSCache, JWKSUnavailableError

__all__ = ["RevocationSignals"]

log = logging.getLogger("agentvp.resource.signals")
POLL = "urn:ietf:rfc:8936"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
EVENTS = [CAEP + "credential-change", CAEP + "session-revoked"]
_REVOKING_CHANGES = ("revoke", "update", "delete")


class RevocationSignals:
    def __init__(
        self,
        agentvp: str,
        *,
        api_key: str,
        audience: str,
        jwks: JWKSCache,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.agentvp = agentvp.rstrip("/")
        self.audience = audience
        self.jwks = jwks
        self.interval = interval
        self.clock = clock
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._transport = transport
        self._stream: str | None = None
        self._next = 0.0
        self._lock = asyncio.Lock()
        self.mandates: set[str] = set()
        self.tokens: set[str] = set()
        self.sessions: set[str] = set()

    def revoked(self, claims: Mapping[str, Any]) -> bool:
        sessions = (claims.get("verification_id"), claims.get("sid"))
        return (
            str(claims.get("mandate_jti")) in self.mandates
            or str(claims.get("jti")) in self.tokens
            or any(isinstance(s, str) and s in self.sessions for s in sessions)
        )

    async def refresh(self) -> None:
        """Poll if the last poll is older than ``interval`` (one poll at a time)."""
        if self.clock() < self._next:
            return
        async with self._lock:
            if self.clock() < self._next:
                return
            self._next = self.clock() + self.interval
            try:
                async with httpx.AsyncClient(
                    base_url=self.agentvp,
                    headers=self._headers,
                    timeout=5,
                    trust_env=False,
                    transport=self._transport,
                ) as http:
                    await self._poll(http)
            except (httpx.HTTPError, JWKSUnavailableError, ValueError) as exc:
                log.warning("SSF poll at %s failed: %s", self.agentvp, type(exc).__name__)

    async def _subscribe(self, http: httpx.AsyncClient) -> str:
        listed = await http.get("/ssf/stream")
        listed.raise_for_status()
        for stream in listed.json():
            if stream.get("aud") == self.audience and stream["delivery"]["method"] == POLL:
                return str(stream["stream_id"])
        body = {"delivery": {"method": POLL}, "aud": self.audience, "events_requested": EVENTS}
        created = await http.post("/ssf/stream", json=body)
        created.raise_for_status()
        return str(created.json()["stream_id"])

    async def _poll(self, http: httpx.AsyncClient) -> None:
        if self._stream is None:
            self._stream = await self._subscribe(http)
        answer: dict[str, Any] = {"maxEvents": 100}
        while True:
            response = await http.post(f"/ssf/poll/{self._stream}", json=answer)
            response.raise_for_status()
            data = response.json()
            acks, errors = [], {}
            for jti, token in data.get("sets", {}).items():
                problem = await self._take(str(token))
                if problem is None:
                    acks.append(jti)
                else:
                    errors[jti] = {"err": "invalid_request", "description": problem}
            answer = {"ack": acks, "setErrs": errors, "maxEvents": 100}
            if not data.get("moreAvailable"):
                break
        if acks or errors:
            final = await http.post(f"/ssf/poll/{self._stream}", json={**answer, "maxEvents": 0})
            final.raise_for_status()

    async def _take(self, token: str) -> str | None:
        """Verify one SET and remember the mandate it revokes; the problem, if it is refused."""
        try:
            jws = parse_unverified_jws(token, what="SET")
            if jws.header.get("typ") != "secevent+jwt":
                return "typ is not secevent+jwt"
            keys = await self.jwks.keys(kid=jws.header.get("kid"))
            if not any(
                public_key_from_jwk(k).verify(jws.alg, jws.signing_input, jws.signature)
                for k in keys
                if k.get("kid") == jws.header.get("kid")
            ):
                return "signature does not verify"
            claims = jws.payload_json(what="SET")
        except AgentVPError as exc:
            return exc.reason
        if claims.get("iss") != self.agentvp or claims.get("aud") != self.audience:
            return "iss or aud is not as expected"
        events = claims.get("events")
        subject = claims.get("sub_id")
        if not isinstance(events, dict) or not isinstance(subject, dict):
            return "no events or sub_id"
        for kind, event in events.items():
            change = event.get("change_type") if isinstance(event, dict) else None
            revoking = kind == EVENTS[1] or (kind == EVENTS[0] and change in _REVOKING_CHANGES)
            if not revoking:
                continue
            if subject.get("format") == "jwt_id" and "jti" in subject:
                own = subject.get("iss") == self.agentvp  # one of agentvp's tokens
                (self.tokens if own else self.mandates).add(str(subject["jti"]))
            elif kind == EVENTS[1] and subject.get("format") == "opaque" and "id" in subject:
                self.sessions.add(str(subject["id"]))
        return None
