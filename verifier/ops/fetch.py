"""Outbound HTTP for documents named by credentials: status lists and issuer metadata.

Every URL here comes, directly or not, from input an attacker can shape (a credential's
``status.uri``, an issuer's ``jwks_uri``), so each fetch is bounded and refuses to be used
against the verifier's own network (SSRF, digest §4.4 "general retrieval rules"):

- ``https`` only; plain ``http`` and private, loopback, link-local or otherwise non-global
  addresses are allowed only for hosts listed in ``allow_hosts`` (development and tests);
- every address the host name resolves to must be acceptable (not just the first);
- no redirects are followed; a total time limit and a size limit apply to the body.

Known gap: the address check and the connection resolve the name separately, so a DNS record
that changes in between (rebinding) is not caught; put the verifier behind an egress proxy or
firewall for defence in depth.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

__all__ = ["FetchError", "Fetched", "SafeFetcher"]


class FetchError(Exception):
    """A document could not be fetched; ``reason`` says why in one line."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused  # True: policy refused the URL (not a network failure)


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status_code: int
    content_type: str
    body: bytes


def _acceptable(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class SafeFetcher:
    """GET with SSRF protection, no redirects, and time and size bounds."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_bytes: int = 2 * 1024 * 1024,
        allow_hosts: Collection[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_hosts = {h.lower() for h in allow_hosts}
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, transport=transport
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def check_target(self, url: str) -> None:
        """Raise :class:`FetchError` (``refused``) unless ``url`` may be fetched."""
        try:
            parts = urlsplit(url)
            port = parts.port  # "Port out of range" or not a number: ValueError
        except ValueError:
            raise FetchError(f"refusing {url!r}: not a URL", refused=True) from None
        host = (parts.hostname or "").lower()
        if not host or parts.username or parts.password:
            raise FetchError(f"refusing {url!r}: no host, or credentials in the URL", refused=True)
        trusted = host in self.allow_hosts or f"{host}:{port}" in self.allow_hosts
        if parts.scheme != "https" and not (parts.scheme == "http" and trusted):
            raise FetchError(f"refusing {url!r}: only https is allowed", refused=True)
        if trusted:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port or 443, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        for info in infos:
            address = str(info[4][0])
            if not _acceptable(address):
                raise FetchError(
                    f"refusing {url!r}: {host} resolves to non-public address {address}",
                    refused=True,
                )

    async def get(self, url: str, *, accept: str) -> Fetched:
        """Fetch ``url``; raise :class:`FetchError` for refusals, failures, 3xx and non-2xx."""
        await self.check_target(url)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client.stream("GET", url, headers={"Accept": accept}) as response:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > self.max_bytes:
                            raise FetchError(f"{url} is larger than {self.max_bytes} bytes")
        except TimeoutError:
            raise FetchError(f"{url} did not answer within {self.timeout} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{url} is unreachable: {type(exc).__name__}") from None
        if response.is_redirect:
            raise FetchError(
                f"{url} answered with a redirect ({response.status_code}); not followed"
            )
        if not 200 <= response.status_code < 300:
            raise FetchError(f"{url} answered {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Fetched(url, response.status_code, content_type, bytes(body))
