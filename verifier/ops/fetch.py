"""Outbound HTTP for documents named by credentials: status lists and issuer metadata.

Every URL here comes, directly or not, from input an attacker can shape (a credential's
``status.uri``, an issuer's ``jwks_uri``), so each fetch is bounded and refuses to be used
against the verifier's own network (SSRF, digest §4.4 "general retrieval rules"):

- ``https`` only; plain ``http`` and private, loopback, link-local or otherwise non-global
  addresses are allowed only for hosts listed in ``allow_hosts`` (development and tests);
- every address the host name resolves to must be acceptable (not just the first);
- no redirects are followed; a total time limit and a size limit apply to the body;
- the name is resolved **once** and the connection goes to an address of that answer (pinned),
  with the original name kept in the ``Host`` header and as the TLS server name (SNI and
  certificate check): a DNS answer that changes between the check and the connection (DNS
  rebinding, e.g. a public address first and ``127.0.0.1`` next) never reaches the second one.
  Allow-listed names are pinned too when they resolve, and fetched by name when the resolver
  does not know them (test transports). The resolver is injectable (tests).

TLS: certificates are checked against httpx's default trust store plus, when ``ca_file`` is
given (setting ``outbound_ca_file``), the PEM certificates in that file - a private or
development CA trusted *in addition*, never instead. :func:`outbound_tls` builds that context
once; a missing or unusable file is an error at startup (:class:`OutboundCAError`), not at the
first fetch. A certificate that does not verify (unknown CA, wrong name, expired) is a
:class:`FetchError` saying so.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

__all__ = ["FetchError", "Fetched", "OutboundCAError", "SafeFetcher", "outbound_tls"]


class FetchError(Exception):
    """A document could not be fetched; ``reason`` says why in one line."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused  # True: policy refused the URL (not a network failure)


class OutboundCAError(ValueError):
    """The extra CA file for outbound TLS is missing or holds no usable PEM certificate."""


def outbound_tls(ca_file: Path | str | None) -> ssl.SSLContext | bool:
    """What httpx verifies outbound TLS with: ``True`` (its default trust store) without
    ``ca_file``; else that store plus every certificate in the PEM file ``ca_file``."""
    if ca_file is None or str(ca_file) == "":
        return True
    path = Path(ca_file)
    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise OutboundCAError(f"outbound_ca_file {str(path)!r} cannot be read: {exc}") from None
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise OutboundCAError(f"outbound_ca_file {str(path)!r} holds no PEM certificate")
    context = httpx.create_ssl_context(trust_env=False)
    try:
        context.load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise OutboundCAError(
            f"outbound_ca_file {str(path)!r} is not a PEM bundle: {exc}"
        ) from None
    return context


def _tls_problem(exc: BaseException) -> str | None:
    """The certificate check that failed, when ``exc`` (or its cause) is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason or "certificate verify failed")
        seen = seen.__cause__ or seen.__context__
    return None


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status_code: int
    content_type: str
    body: bytes


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (the system resolver), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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
        resolver: Resolver = system_resolver,
        ca_file: Path | str | None = None,
        verify: ssl.SSLContext | bool | None = None,
    ) -> None:
        """``ca_file``: PEM certificates trusted besides the default store (see
        :func:`outbound_tls`); ``verify``: an already built context (shared), instead."""
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_hosts = {h.lower() for h in allow_hosts}
        self.resolver = resolver
        self.verify = verify if verify is not None else outbound_tls(ca_file)
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            verify=self.verify,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def check_target(self, url: str) -> list[str]:
        """Raise :class:`FetchError` (``refused``) unless ``url`` may be fetched; the addresses
        its host resolved to (all acceptable unless the host is allow-listed), to connect to."""
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
        default_port = 443 if parts.scheme == "https" else 80
        try:
            addresses = await self.resolver(host, port or default_port)
        except OSError as exc:
            if trusted:  # an allow-listed name the resolver does not know: by name (tests)
                return []
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        if not addresses and not trusted:
            raise FetchError(f"cannot resolve {host}: no address")
        for address in addresses:
            if not trusted and not _acceptable(address):
                raise FetchError(
                    f"refusing {url!r}: {host} resolves to non-public address {address}",
                    refused=True,
                )
        return addresses

    async def get(self, url: str, *, accept: str) -> Fetched:
        """Fetch ``url``; raise :class:`FetchError` for refusals, failures, 3xx and non-2xx."""
        addresses = await self.check_target(url)
        try:
            async with asyncio.timeout(self.timeout):
                response, body = await self._first_answer(url, addresses, accept)
        except TimeoutError:
            raise FetchError(f"{url} did not answer within {self.timeout} s") from None
        except httpx.HTTPError as exc:
            problem = _tls_problem(exc)
            if problem is not None:
                raise FetchError(f"{url}: TLS certificate not accepted ({problem})") from None
            raise FetchError(f"{url} is unreachable: {type(exc).__name__}") from None
        if response.is_redirect:
            raise FetchError(
                f"{url} answered with a redirect ({response.status_code}); not followed"
            )
        if not 200 <= response.status_code < 300:
            raise FetchError(f"{url} answered {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Fetched(url, response.status_code, content_type, bytes(body))

    async def _first_answer(
        self, url: str, addresses: list[str], accept: str
    ) -> tuple[httpx.Response, bytes]:
        """GET ``url`` from the first of ``addresses`` that takes the connection (only those:
        the name is not resolved again), keeping the name for ``Host`` and TLS."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        headers = {"Accept": accept, "Host": parts.netloc.rsplit("@", 1)[-1]}
        if not addresses:  # an allow-listed name left unresolved: connect by name
            return await self._read(self._client.build_request("GET", url, headers=headers), url)
        for index, address in enumerate(addresses):
            literal = f"[{address}]" if ":" in address else address
            pinned = parts._replace(netloc=f"{literal}:{parts.port}" if parts.port else literal)
            request = self._client.build_request(
                "GET", pinned.geturl(), headers=headers, extensions={"sni_hostname": host}
            )
            try:
                return await self._read(request, url)
            except httpx.ConnectError as exc:
                # nothing was sent: the next address of the same answer - unless a certificate
                # did not verify, which ends it (that host answered, with the wrong identity)
                if _tls_problem(exc) is None and index + 1 < len(addresses):
                    continue
                raise
        raise FetchError(f"cannot resolve {host}: no address")  # unreachable: addresses != []

    async def _read(self, request: httpx.Request, url: str) -> tuple[httpx.Response, bytes]:
        """Send ``request``; its response and body, within ``max_bytes``."""
        response = await self._client.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError(f"{url} is larger than {self.max_bytes} bytes")
        finally:
            await response.aclose()
        return response, bytes(body)
