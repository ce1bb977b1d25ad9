"""OAuth clients of the wallet login: registered (RFC 7591) or named by a metadata URL (CIMD).

Only **public** clients exist here (``token_endpoint_auth_method: none``): MCP hosts run on the
user's machine and keep no secret, so every code is bound by PKCE (:mod:`.login`) instead.

Registration (RFC 7591 §2, §3.2.1) is bounded: at most :data:`MAX_REDIRECT_URIS` redirect URIs
of at most :data:`MAX_URI` characters, a ``client_name`` of at most :data:`MAX_NAME`; unknown
metadata members are ignored (§2), known ones with another value are refused
(``invalid_client_metadata``), as is any redirect URI that is not

- ``https`` without fragment, or
- ``http`` at a loopback literal (``127.0.0.1``, ``[::1]``) or ``localhost`` (RFC 8252 §7.3,
  §8.3: native apps listen on an ephemeral port there).

:func:`redirect_matches` is the exact comparison of RFC 6749 §3.1.2.3 / OAuth 2.1 §2.3.1,
except for loopback redirects, whose port may differ (RFC 8252 §7.3).

Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25):
a ``client_id`` that is an ``https`` URL with a path names a JSON document at that URL whose
``client_id`` must be the URL itself; it is fetched through the outbound policy
(:class:`verifier.ops.fetch.SafeFetcher`: no private addresses, no redirects, bounded) and kept
in the store for ``oauth_cimd_ttl`` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from verifier.oauth.agent_grant import OAuthError
from verifier.protocol.jsonutil import loads
from verifier.store.base import RecordKind, Transaction, TransactionStore

__all__ = ["Client", "ClientRegistry", "check_redirect_uri", "redirect_matches"]

KIND = RecordKind.OAUTH_CLIENT
MAX_REDIRECT_URIS = 5
MAX_URI = 512
MAX_NAME = 100
MAX_CIMD_BYTES = 16 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})

Fetch = Callable[[str], Awaitable[bytes]]


@dataclass(frozen=True)
class Client:
    client_id: str
    redirect_uris: tuple[str, ...]
    client_name: str
    kind: str  # "registered" | "metadata_document"


def _metadata_error(description: str) -> OAuthError:
    return OAuthError(400, "invalid_client_metadata", description)


def check_redirect_uri(uri: Any) -> str | None:
    """Why ``uri`` cannot be registered (None: it can)."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI:
        return f"a redirect URI is a string of at most {MAX_URI} characters"
    try:
        parts = urlsplit(uri)
        _ = parts.port
    except ValueError:
        return f"{uri!r} is not a URI"
    if parts.fragment or "#" in uri:
        return f"{uri!r} has a fragment (RFC 6749 §3.1.2)"
    if parts.username is not None or parts.password is not None:
        return f"{uri!r} has user information"
    allowed = (parts.scheme == "https" and bool(parts.hostname)) or (
        parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    )
    return None if allowed else f"{uri!r}: only https, or http on a loopback address (RFC 8252)"


def _loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def redirect_matches(registered: str, asked: str) -> bool:
    """Exact string match; for loopback redirects any port (RFC 8252 §7.3)."""
    if secrets.compare_digest(registered.encode(), asked.encode()):
        return True
    if not (_loopback(registered) and _loopback(asked)):
        return False
    a, b = urlsplit(registered), urlsplit(asked)
    try:
        b_port = b.port
    except ValueError:
        return False
    return (
        a.hostname == b.hostname
        and (a.path, a.query, a.fragment) == (b.path, b.query, b.fragment)
        and b_port is not None
        and "@" not in b.netloc
    )


def _string(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _metadata_error(f"{name} must be a string of at most {limit} characters")
    return value


def _validated(body: Mapping[str, Any]) -> dict[str, Any]:
    """The client metadata we keep, after the RFC 7591 §2 checks for a public client."""
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError(
            400,
            "invalid_redirect_uri",
            f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs",
        )
    for uri in uris:
        problem = check_redirect_uri(uri)
        if problem is not None:
            raise OAuthError(400, "invalid_redirect_uri", problem)
    method = body.get("token_endpoint_auth_method", "none")
    if method != "none":
        raise _metadata_error("only public clients: token_endpoint_auth_method must be none")
    grants = body.get("grant_types", ["authorization_code"])
    strings = isinstance(grants, list) and all(isinstance(g, str) for g in grants)
    if not strings or not set(grants) <= GRANT_TYPES:  # a list or object inside is no hash key
        raise _metadata_error(f"grant_types may only be {sorted(GRANT_TYPES)}")
    responses = body.get("response_types", ["code"])
    if responses != ["code"]:
        raise _metadata_error('response_types must be ["code"]')
    name = _string(body, "client_name", MAX_NAME)
    return {
        "redirect_uris": list(dict.fromkeys(uris)),
        "client_name": name or "",
        "grant_types": list(dict.fromkeys(grants)),
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }


def is_metadata_url(client_id: str) -> bool:
    """A CIMD ``client_id``: an https URL with a non-root path, no fragment, no credentials."""
    try:
        parts = urlsplit(client_id)
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and parts.path not in ("", "/")
        and not parts.fragment
        and parts.username is None
        and len(client_id) <= MAX_URI
    )


class ClientRegistry:
    def __init__(
        self,
        store: TransactionStore,
        *,
        clock: Callable[[], int],
        lifetime: int,
        cimd_ttl: int,
        fetch: Fetch | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lifetime = lifetime
        self.cimd_ttl = cimd_ttl
        self.fetch = fetch

    async def register(self, body: Any) -> dict[str, Any]:
        """RFC 7591 §3.2.1: the client information response (201 by the caller)."""
        if not isinstance(body, dict):
            raise _metadata_error("the registration request must be a JSON object")
        metadata = _validated(body)
        now = self.clock()
        client_id = secrets.token_urlsafe(24)
        record = _client_record(
            client_id,
            f"cl:{client_id}",
            client_id,
            now=now,
            lifetime=self.lifetime,
            meta={**metadata, "kind": "registered"},
        )
        await self.store.create(record, retain_until=record.expires_at)
        return {"client_id": client_id, "client_id_issued_at": now, **metadata}

    async def get(self, client_id: str) -> Client:
        """The client, or :class:`OAuthError` ``invalid_client`` (never redirected to)."""
        if is_metadata_url(client_id):
            return await self._metadata_document(client_id)
        if not client_id or len(client_id) > 64:
            raise OAuthError(400, "invalid_client", "unknown client_id")
        record = await self.store.get(client_id, kind=KIND)
        if record is None or record.expires_at <= self.clock():
            raise OAuthError(400, "invalid_client", "unknown client_id")
        if record.meta.get("kind") == "service":  # client_credentials only (.pep_clients)
            raise OAuthError(400, "invalid_client", "a service client cannot log people in")
        return _client(client_id, record.meta)

    async def _metadata_document(self, url: str) -> Client:
        key = "cimd:" + hashlib.sha256(url.encode()).hexdigest()
        now = self.clock()
        record = await self.store.get(key, kind=KIND)
        if record is not None and record.expires_at > now:
            return _client(url, record.meta)
        if self.fetch is None:
            raise OAuthError(400, "invalid_client", "client metadata documents are not enabled")
        try:
            body = await self.fetch(url)
            document = loads(
                body, what="client metadata document", max_depth=8, max_bytes=MAX_CIMD_BYTES
            )
        except OAuthError:
            raise
        except Exception as exc:  # any fetch or parse failure: the client is unknown
            raise OAuthError(
                400, "invalid_client", f"the client metadata document is unusable: {exc}"
            ) from None
        if not isinstance(document, dict) or document.get("client_id") != url:
            raise OAuthError(
                400, "invalid_client", "the client metadata document names another client_id"
            )
        try:
            metadata = _validated(document)
        except OAuthError as exc:
            raise OAuthError(400, "invalid_client", exc.description) from None
        fresh = _client_record(
            key,
            f"cl:{key}:{now}:{secrets.token_urlsafe(6)}",
            url,
            now=now,
            lifetime=self.cimd_ttl,
            meta={**metadata, "kind": "metadata_document"},
        )
        if record is None:
            with contextlib.suppress(ValueError):  # a concurrent fetch cached it first
                await self.store.create(fresh, retain_until=fresh.expires_at)
        else:
            changes = {"meta": fresh.meta, "expires_at": fresh.expires_at}
            await self.store.update_if(key, {"version": record.version}, changes, kind=KIND)
        return _client(url, fresh.meta)


def _client_record(
    record_id: str,
    request_id: str,
    client_id: str,
    *,
    now: int,
    lifetime: int,
    meta: dict[str, Any],
) -> Transaction:
    """The store record of a client: registered (RFC 7591) or a cached metadata document."""
    return Transaction(
        id=record_id,
        request_id=request_id,
        state="",
        nonce="",
        client_id=client_id,
        created_at=now,
        expires_at=now + lifetime,
        kind=KIND,
        meta=meta,
    )


def _client(client_id: str, meta: Mapping[str, Any]) -> Client:
    return Client(
        client_id=client_id,
        redirect_uris=tuple(meta["redirect_uris"]),
        client_name=str(meta.get("client_name") or ""),
        kind=str(meta.get("kind", "registered")),
    )
