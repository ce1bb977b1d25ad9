"""JWT VC Issuer Metadata (SD-JWT VC §4, digest §4.4): issuer keys fetched from the issuer.

For ``iss = https://host[:port][/path]`` the document lives at
``https://host[:port]/.well-known/jwt-vc-issuer[/path]``. It is used only if its ``issuer`` equals
``iss`` exactly, and it carries exactly one of ``jwks`` and ``jwks_uri``.

Keys are cached for ``ttl`` seconds. A credential whose ``kid`` is not in the cached set makes
the cache refetch (at most once per ``min_refresh`` seconds per issuer, so an attacker cannot
turn unknown kids into a request flood): an issuer can rotate its key without anyone
restarting the verifier. Fetches go through :class:`verifier.ops.fetch.SafeFetcher`.

The verification core is synchronous and does no I/O: :meth:`IssuerMetadataCache.ensure` runs
before it (the service peeks at each presentation's unverified ``iss``/``kid``), and
:meth:`IssuerMetadataCache.keys` answers from the cache during verification.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from verifier.ops.fetch import FetchError, SafeFetcher
from verifier.protocol import AgentVPError, PublicKey, TrustError, public_key_from_jwk
from verifier.protocol.jsonutil import loads

__all__ = ["IssuerMetadataCache", "well_known_url"]


def well_known_url(iss: str) -> str:
    """Insert ``/.well-known/jwt-vc-issuer`` between the host and the path of ``iss``."""
    parts = urlsplit(iss)
    if parts.query or parts.fragment or not parts.hostname:
        raise TrustError("issuer_metadata_invalid", f"issuer {iss!r} is not a plain https URL")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/jwt-vc-issuer{path}", "", ""))


@dataclass
class _Entry:
    keys: list[tuple[str | None, PublicKey]]
    fetched_at: float
    error: str | None = None
    attempted_at: float = 0.0


class IssuerMetadataCache:
    def __init__(
        self,
        fetcher: SafeFetcher,
        *,
        ttl: int = 3600,
        min_refresh: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetcher = fetcher
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _fresh(self, entry: _Entry | None) -> bool:
        return (
            entry is not None and entry.error is None and self.clock() < entry.fetched_at + self.ttl
        )

    async def ensure(self, iss: str, kid: str | None) -> None:
        """Make the cache hold current keys for ``iss`` (and ``kid``, if the issuer has it)."""
        entry = self._entries.get(iss)
        if self._fresh(entry) and (kid is None or any(k == kid for k, _ in entry.keys)):  # type: ignore[union-attr]
            return
        if entry is not None and self.clock() - entry.attempted_at < self.min_refresh:
            return
        lock = self._locks.setdefault(iss, asyncio.Lock())
        async with lock:
            current = self._entries.get(iss)
            if current is not entry and self._fresh(current):
                return  # another task refreshed it meanwhile
            now = self.clock()
            try:
                keys = await self._fetch(iss)
            except (FetchError, AgentVPError) as exc:
                reason = exc.reason
                old = current.keys if current is not None and current.error is None else []
                fetched = current.fetched_at if current is not None else 0.0
                self._entries[iss] = _Entry(old, fetched, error=reason, attempted_at=now)
                return
            self._entries[iss] = _Entry(keys, now, attempted_at=now)

    async def _json(self, url: str) -> dict[str, Any]:
        fetched = await self.fetcher.get(url, accept="application/json")
        if fetched.content_type not in ("application/json", "application/jwk-set+json"):
            raise TrustError(
                "issuer_metadata_invalid", f"{url} is {fetched.content_type!r}, not JSON"
            )
        value = loads(fetched.body, what=url)
        if not isinstance(value, dict):
            raise TrustError("issuer_metadata_invalid", f"{url} is not a JSON object")
        return value

    async def _fetch(self, iss: str) -> list[tuple[str | None, PublicKey]]:
        metadata = await self._json(well_known_url(iss))
        if metadata.get("issuer") != iss:
            raise TrustError("issuer_metadata_invalid", f"metadata 'issuer' is not {iss!r}")
        if ("jwks" in metadata) == ("jwks_uri" in metadata):
            raise TrustError(
                "issuer_metadata_invalid", "metadata needs exactly one of jwks, jwks_uri"
            )
        jwks = metadata.get("jwks")
        if jwks is None:
            uri = metadata["jwks_uri"]
            if not isinstance(uri, str):
                raise TrustError("issuer_metadata_invalid", "jwks_uri is not a string")
            jwks = await self._json(uri)
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys:
            raise TrustError("issuer_metadata_invalid", "issuer JWKS has no keys")
        out: list[tuple[str | None, PublicKey]] = []
        for jwk in keys:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            kid = jwk.get("kid")
            out.append((kid if isinstance(kid, str) else None, public_key_from_jwk(jwk)))
        return out

    def keys(self, iss: str) -> list[tuple[str | None, PublicKey]]:
        """Cached keys (synchronous, for the verification core); raise if none are usable."""
        entry = self._entries.get(iss)
        if entry is None:
            raise TrustError("issuer_metadata_unavailable", f"no metadata fetched for {iss!r}")
        if entry.error is not None and not entry.keys:
            raise TrustError("issuer_metadata_unavailable", f"metadata of {iss!r}: {entry.error}")
        if self.clock() >= entry.fetched_at + self.ttl and entry.error is not None:
            raise TrustError(
                "issuer_metadata_unavailable", f"metadata of {iss!r} expired: {entry.error}"
            )
        return entry.keys
