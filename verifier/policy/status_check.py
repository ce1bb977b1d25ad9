"""Checking a credential's Token Status List entry (digest §5.5, checks 43-45).

For a credential with ``status.status_list`` {``uri``, ``idx``}: fetch the Status List Token
(``Accept: application/statuslist+jwt``, the answer must carry that media type), verify it with a
key trusted *for the credential's issuer* (the same trust file: static JWKS, metadata or x5c to an
anchor), check ``typ``, ``sub`` == ``uri``, ``iat``, ``exp``, then read ``idx`` with ``bits``.
Only VALID (0) passes; INVALID, SUSPENDED, other values and out-of-range indices each fail with
their own code.

Caching: a verified list is kept per (``uri``, issuer) for ``min(ttl, max_age)`` seconds and never
past its ``exp``; concurrent checks of one list share one fetch. A lookup on a cached list is
O(1) (the inflated bytes are kept). The cache is per process, bounded in time as above and in
size (least recently fetched lists are dropped first).

An unreachable list fails closed (``status_list_unavailable``) unless ``fail_open`` is set, in
which case the result says ``{"status": "unknown", "checked": false}``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from verifier.ops.fetch import FetchError, SafeFetcher
from verifier.policy.trust import TrustResolver
from verifier.protocol import (
    AgentVPError,
    StatusError,
    StatusListToken,
    TrustError,
    VerifiedCredential,
    check_status,
    verify_status_list_token,
)
from verifier.protocol.jose import parse_unverified_jws

__all__ = ["StatusListChecker"]

MEDIA_TYPE = "application/statuslist+jwt"
STATUS_NAMES = {0: "valid", 1: "invalid", 2: "suspended"}


@dataclass(frozen=True, slots=True)
class _Cached:
    token: StatusListToken
    fetched_at: int
    expires_at: int


class StatusListChecker:
    def __init__(
        self,
        *,
        fetcher: SafeFetcher,
        trust: TrustResolver,
        max_age: int = 300,
        fail_open: bool = False,
        leeway: int = 60,
        max_lists: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetcher = fetcher
        self.trust = trust
        self.max_age = max_age
        self.fail_open = fail_open
        self.leeway = leeway
        self.max_lists = max_lists
        self.clock = clock
        self._cache: OrderedDict[tuple[str, str], _Cached] = OrderedDict()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.hits = 0
        self.misses = 0

    async def check(self, credential: VerifiedCredential, *, now: int) -> dict[str, Any] | None:
        """None without a status reference; a report if VALID; raise otherwise."""
        ref = credential.status
        if ref is None:
            return None
        try:
            cached = await self._list(ref.uri, credential, now)
        except StatusError as exc:
            if exc.code != "status_list_unavailable" or not self.fail_open:
                raise
            return {
                "status": "unknown",
                "checked": False,
                "uri": ref.uri,
                "idx": ref.idx,
                "reason": exc.reason,
            }
        value = check_status(cached.token.status_list, ref.idx)
        return {
            "status": STATUS_NAMES.get(value, str(value)),
            "checked": True,
            "uri": ref.uri,
            "idx": ref.idx,
            "fetched_at": cached.fetched_at,
            "list_iat": cached.token.iat,
            "list_exp": cached.token.exp,
        }

    async def _list(self, uri: str, credential: VerifiedCredential, now: int) -> _Cached:
        key = (uri, credential.iss or "")
        cached = self._cache.get(key)
        if cached is not None and now < cached.expires_at:
            self.hits += 1
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and now < cached.expires_at:
                self.hits += 1
                return cached
            self.misses += 1
            fresh = await self._fetch(uri, credential, now)
            self._cache[key] = fresh
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_lists:
                self._cache.popitem(last=False)
            return fresh

    async def _fetch(self, uri: str, credential: VerifiedCredential, now: int) -> _Cached:
        try:
            fetched = await self.fetcher.get(uri, accept=MEDIA_TYPE)
        except FetchError as exc:
            raise StatusError("status_list_unavailable", exc.reason) from None
        if fetched.content_type != MEDIA_TYPE:
            raise StatusError(
                "status_list_malformed",
                f"{uri} answered {fetched.content_type!r}, not {MEDIA_TYPE}",
            )
        try:
            text = fetched.body.decode("ascii").strip()
            header = parse_unverified_jws(text, what="status list token").header
            keys = self.trust.resolve(iss=credential.iss, header=header, vct=credential.vct)
        except UnicodeDecodeError:
            raise StatusError("status_list_malformed", f"{uri} is not a compact JWT") from None
        except TrustError as exc:
            raise StatusError(
                "status_list_untrusted", f"status list signer: {exc.reason}"
            ) from None
        except AgentVPError as exc:
            raise StatusError("status_list_malformed", exc.reason) from None
        token = verify_status_list_token(
            text, keys=keys, expected_uri=uri, now=now, leeway=self.leeway
        )
        lifetime = min(self.max_age, token.ttl) if token.ttl else self.max_age
        expires = now + lifetime
        if token.exp is not None:
            expires = min(expires, token.exp)
        return _Cached(token=token, fetched_at=now, expires_at=expires)
