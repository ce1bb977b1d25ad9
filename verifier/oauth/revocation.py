"""Token revocation (RFC 7009): one access token, or a wallet login's refresh family, on its own.

``POST /oauth/revoke`` with the form ``token`` (and an optional ``token_type_hint``, which only
orders the search, §2.1). Who may revoke:

- a relying party or resource server with an API key (``Authorization: Bearer <key>``): any
  token agentvp issued;
- a public client (``client_id`` in the form, RFC 7009 §2.1 with RFC 6749 §2.3 for clients
  without credentials): the tokens issued to it - a wallet-login token or refresh token whose
  ``client_id`` is that client, an agent token whose ``client_id`` (the agent) is that id.
  A token of another client is refused (``unauthorized_client``) and nothing changes;
- a confidential client - a service client (:mod:`verifier.oauth.pep_clients`), which has a
  secret - authenticated as at the token endpoint (HTTP Basic, or ``client_id`` and
  ``client_secret`` in the form): the tokens issued to it, under the same rule. Naming its
  ``client_id`` without its secret does not authenticate it (§2.1: the server first validates
  a confidential client's credentials): 401 ``invalid_client`` before any token is looked at,
  as is a wrong secret.

What is revoked:

- an access token (agent grant or wallet login, ``at+jwt`` that verifies and has not expired):
  marked ``revoked-token:<jti>`` until it expires (:func:`verifier.agents.grants.
  mark_token_revoked`), so introspection answers ``{"active": false}`` and AuthZEN decisions about
  it are ``false`` (``token_revoked``). The SSF transmitter sends one ``session-revoked`` naming
  it, ``{"format": "jwt_id", "iss": <agentvp>, "jti": <its jti>}``;
- a refresh token: its whole family (the login) is revoked, as reuse detection does, so the
  login's access tokens (``sid``) introspect inactive and no refresh works. One
  ``session-revoked`` names the login, ``{"format": "opaque", "id": <sid>}``.

An unknown, expired or foreign-issuer token changes nothing and is still answered 200 (§2.2).
Nothing here touches the grant watcher's mandate events: a token revoked on its own is never
also announced as a mandate revocation, and vice versa.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier.agents.grants import mark_token_revoked
from verifier.oauth.agent_grant import AgentAccess, OAuthError
from verifier.oauth.code_grant import CodeGrants
from verifier.resource.tokens import AccessError, verify_access_token
from verifier.store.base import RecordKind, TxStatus

__all__ = ["Revoked", "TokenRevocation"]


@dataclass(frozen=True)
class Revoked:
    """What one revocation ended: the SSF subject naming it and the key that makes its
    ``session-revoked`` once per stream."""

    subject: dict[str, str]
    dedupe: str


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and secrets.compare_digest(a.encode(), b.encode())


class TokenRevocation:
    def __init__(self, access: AgentAccess, grants: CodeGrants | None) -> None:
        self.access = access
        self.grants = grants
        self.store = access.store

    async def revoke(
        self, token: str, *, hint: str | None, client_id: str | None, authenticated: bool = False
    ) -> Revoked | None:
        """Revoke ``token`` for ``client_id`` (None: an API key, any token); ``authenticated``:
        the caller has checked ``client_id``'s credentials (a confidential client)."""
        if client_id is not None and not authenticated and await self._confidential(client_id):
            raise OAuthError(
                401,
                "invalid_client",
                "a confidential client is not authenticated by its client_id alone; "
                "send its secret (HTTP Basic or client_secret) or an API key",
            )
        order = [self._access, self._refresh]
        for attempt in reversed(order) if hint == "refresh_token" else order:
            found = await attempt(token, client_id)
            if found is not None:
                return found
        return None

    async def _confidential(self, client_id: str) -> bool:
        """Does ``client_id`` name a service client (one with a secret)?"""
        if not client_id or len(client_id) > 64:
            return False
        record = await self.store.get(client_id, kind=RecordKind.OAUTH_CLIENT)
        return record is not None and record.meta.get("kind") == "service"

    def _refuse(self) -> OAuthError:
        return OAuthError(400, "unauthorized_client", "the token was issued to another client")

    async def _access(self, token: str, client_id: str | None) -> Revoked | None:
        now = self.access.presentations.now()
        try:
            claims: Mapping[str, Any] = verify_access_token(
                token,
                [self.access.public_jwk],
                issuer=self.access.settings.issuer,
                audience=None,
                now=now,
                leeway=0,
                require_cnf=False,
            )
        except AccessError:
            return None
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            return None
        if client_id is not None and not _same(claims.get("client_id"), client_id):
            raise self._refuse()
        ttl = max(int(claims.get("exp", now)) - now, 0) + 60
        await mark_token_revoked(self.store, jti, ttl=ttl)
        subject = {"format": "jwt_id", "iss": self.access.settings.issuer, "jti": jti}
        return Revoked(subject, f"session-revoked:token:{jti}")

    async def _refresh(self, token: str, client_id: str | None) -> Revoked | None:
        if self.grants is None or len(token) > 512:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        record = await self.store.get(digest, kind=RecordKind.OAUTH_REFRESH)
        if record is None or record.parent_id is None:
            return None
        family = await self.store.get(record.parent_id, kind=RecordKind.OAUTH_GRANT)
        if family is None:
            return None
        if client_id is not None and not _same(family.client_id, client_id):
            raise self._refuse()
        await self.store.update_if(
            family.id,
            {"status": TxStatus.PENDING},
            {"status": TxStatus.REJECTED},
            kind=RecordKind.OAUTH_GRANT,
        )
        return Revoked({"format": "opaque", "id": family.id}, f"session-revoked:login:{family.id}")
