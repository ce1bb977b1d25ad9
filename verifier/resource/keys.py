"""The authorization server's keys and the resource server's replay cache.

:class:`JWKSCache` finds agentvp's JWKS through its RFC 8414 metadata
(``<issuer>/.well-known/oauth-authorization-server``, whose ``issuer`` must equal the configured
one, §3.3) unless ``jwks_uri`` is given, keeps it ``ttl`` seconds and refetches early when a
token names an unknown ``kid`` - at most once per ``min_refresh`` seconds, so tokens with made-up
``kid`` values cannot make the resource server hammer the authorization server. The fetcher is
injectable (``fetch(url) -> JSON``); the default uses httpx.

:class:`MemoryReplayCache` remembers single-use values (DPoP ``jti``, spent tokens) for their
lifetime in one process. Several instances of one resource server share a :class:`ReplayStore`
instead (any object with ``async claim(key, *, ttl) -> bool``, for example agentvp's own
transaction store).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx

__all__ = ["Fetch", "JWKSCache", "JWKSUnavailableError", "MemoryReplayCache", "ReplayStore"]

Fetch = Callable[[str], Awaitable[Any]]
METADATA_PATH = "/.well-known/oauth-authorization-server"


class JWKSUnavailableError(Exception):
    """The authorization server's metadata or JWKS could not be fetched or made no sense."""


class ReplayStore(Protocol):
    async def claim(self, key: str, *, ttl: int) -> bool:
        """Set-if-absent a marker living ``ttl`` seconds; True if this call set it."""


async def httpx_fetch(url: str) -> Any:
    """GET ``url`` as JSON (no redirects, 5 s, 1 MiB at most)."""
    async with httpx.AsyncClient(timeout=5, follow_redirects=False, trust_env=False) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200 or len(response.content) > 1024 * 1024:
        raise JWKSUnavailableError(f"{url} answered {response.status_code}")
    return response.json()


class JWKSCache:
    def __init__(
        self,
        issuer: str,
        *,
        jwks_uri: str | None = None,
        fetch: Fetch = httpx_fetch,
        ttl: int = 300,
        min_refresh: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.jwks_uri = jwks_uri
        self.fetch = fetch
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.clock = clock
        self._keys: list[Mapping[str, Any]] = []
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _discover(self) -> str:
        metadata = await self.fetch(self.issuer + METADATA_PATH)
        if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
            raise JWKSUnavailableError("the authorization server metadata names another issuer")
        uri = metadata.get("jwks_uri")
        if not isinstance(uri, str):
            raise JWKSUnavailableError("the authorization server metadata has no jwks_uri")
        return uri

    async def keys(self, *, kid: str | None = None) -> list[Mapping[str, Any]]:
        """The cached keys; refetched when stale, or when ``kid`` is unknown (rate-limited)."""
        now = self.clock()
        known = kid is None or any(k.get("kid") == kid for k in self._keys)
        fresh = now - self._fetched_at < self.ttl
        if fresh and (known or now - self._fetched_at < self.min_refresh):
            return self._keys
        async with self._lock:
            if self.clock() - self._fetched_at < self.min_refresh:
                return self._keys
            try:
                self.jwks_uri = self.jwks_uri or await self._discover()
                document = await self.fetch(self.jwks_uri)
            except (httpx.HTTPError, ValueError) as exc:
                raise JWKSUnavailableError(f"cannot fetch the JWKS: {exc}") from None
            keys = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(keys, list):
                raise JWKSUnavailableError("the JWKS has no 'keys' array")
            self._keys = [k for k in keys if isinstance(k, dict)]
            self._fetched_at = self.clock()
            return self._keys


class MemoryReplayCache:
    """Single-use markers in memory, dropped once expired; bounded (oldest dropped first)."""

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def claim(self, key: str, *, ttl: int) -> bool:
        now = self.clock()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self.max_entries:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now + ttl
        return True
