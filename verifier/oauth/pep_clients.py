"""Service clients: a policy enforcement point authenticates with a token agentvp issued to it.

Besides an API key, a PEP (or an SSF-less service calling the PDP) may hold OAuth client
credentials and exchange them for short-lived tokens, so the long-lived secret never travels
with each decision:

1. **Registration** (RFC 7591 with an initial access token, §3): ``POST /oauth/register`` with
   ``Authorization: Bearer <API key>`` and ``{"grant_types": ["client_credentials"],
   "token_endpoint_auth_method": "client_secret_basic"|"client_secret_post", "scope":
   "authzen:evaluate", "client_name"?}`` → 201 with ``client_id`` and ``client_secret`` (shown
   once; only its SHA-256 is kept). Without a valid API key: 401 ``invalid_token``.
2. **Token** (RFC 6749 §4.4): ``POST /oauth/token`` ``grant_type=client_credentials`` (optional
   ``scope``, within the registered one, else ``invalid_scope``), the client authenticated with
   HTTP Basic (§2.3.1) or ``client_id``/``client_secret`` in the form, whichever it registered
   (``token_endpoint_auth_method``); an unknown client, a wrong secret or the other method is
   401 ``invalid_client``. The answer is a Bearer ``at+jwt`` (RFC 9068): ``iss`` and
   ``aud`` = agentvp (the ``policy_decision_point``), ``sub`` = ``client_id`` = the client,
   ``scope``, ``iat``, ``exp`` (``agent_token_lifetime``), ``jti``.
3. **Use**: ``Authorization: Bearer <token>`` at ``/access/v1/evaluation(s)``
   (:meth:`PEPClients.check`): a token that does not verify, has expired, was revoked
   (``/oauth/revoke``) or whose client is gone is 401 ``invalid_token``; one without the
   ``authzen:evaluate`` scope is 403 ``insufficient_scope``.
4. **Revocation** (RFC 7009 §2.1): the client revokes its own token at ``/oauth/revoke``,
   authenticated as at the token endpoint (:meth:`PEPClients.authenticate`); an API key
   revokes any token.

The records are ``oauth_client`` records with ``meta.kind`` ``service``; the wallet login never
accepts them as its clients (:class:`verifier.oauth.clients.ClientRegistry`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

from verifier.agents.grants import token_is_revoked
from verifier.oauth.agent_grant import AgentAccess, OAuthError
from verifier.resource.tokens import AccessError, verify_access_token
from verifier.store.base import RecordKind, Transaction

__all__ = ["EVALUATE", "PEPClients"]

EVALUATE = "authzen:evaluate"
SCOPES = frozenset({EVALUATE})
METHODS = ("client_secret_basic", "client_secret_post")
KIND = RecordKind.OAUTH_CLIENT
MAX_NAME = 100


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _metadata(description: str) -> OAuthError:
    return OAuthError(400, "invalid_client_metadata", description)


def _unauthenticated(description: str) -> OAuthError:
    return OAuthError(
        401, "invalid_client", description, headers={"WWW-Authenticate": 'Basic realm="agentvp"'}
    )


def _scopes(value: Any, *, allowed: Sequence[str]) -> list[str]:
    if not isinstance(value, str) or not value.split():
        raise OAuthError(400, "invalid_scope", "scope must be a space-separated list")
    wanted = list(dict.fromkeys(value.split()))
    if not set(wanted) <= set(allowed):
        raise OAuthError(400, "invalid_scope", f"scope may only be {' '.join(sorted(allowed))}")
    return wanted


class PEPClients:
    def __init__(self, access: AgentAccess, *, lifetime: int) -> None:
        self.access = access
        self.store = access.store
        self.now = access.presentations.now
        self.lifetime = lifetime
        self.issuer = access.settings.issuer

    @staticmethod
    def wants(body: Any) -> bool:
        """Is this registration for a service client (``client_credentials``)? Only a list
        names grant types (RFC 7591 §2); anything else is the public registry's to refuse."""
        grants = body.get("grant_types") if isinstance(body, dict) else None
        return isinstance(grants, list) and "client_credentials" in grants

    async def register(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A service client (the caller has checked the initial access token)."""
        if body.get("grant_types") != ["client_credentials"]:
            raise _metadata('grant_types must be ["client_credentials"] for a service client')
        method = body.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in METHODS:
            raise _metadata(f"token_endpoint_auth_method must be one of {', '.join(METHODS)}")
        if body.get("redirect_uris") or body.get("response_types"):
            raise _metadata("a service client has no redirect_uris or response_types")
        try:
            scopes = _scopes(body.get("scope", EVALUATE), allowed=sorted(SCOPES))
        except OAuthError as exc:
            raise _metadata(exc.description) from None
        name = body.get("client_name", "")
        if not isinstance(name, str) or len(name) > MAX_NAME:
            raise _metadata(f"client_name must be a string of at most {MAX_NAME} characters")
        now = self.now()
        client_id, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        metadata = {
            "client_name": name,
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": method,
            "scope": " ".join(scopes),
        }
        record = Transaction(
            id=client_id,
            request_id=f"cl:{client_id}",
            state="",
            nonce="",
            client_id=client_id,
            created_at=now,
            expires_at=now + self.lifetime,
            kind=KIND,
            meta={**metadata, "kind": "service", "secret_sha256": _sha(secret)},
        )
        await self.store.create(record, retain_until=record.expires_at)
        return {
            "client_id": client_id,
            "client_secret": secret,
            "client_id_issued_at": now,
            "client_secret_expires_at": record.expires_at,
            **metadata,
        }

    async def _client(self, client_id: str) -> Transaction | None:
        if not client_id or len(client_id) > 64:
            return None
        record = await self.store.get(client_id, kind=KIND)
        if record is None or record.meta.get("kind") != "service":
            return None
        return record if record.expires_at > self.now() else None

    async def authenticate(
        self, authorization: str | None, form: Mapping[str, Sequence[str]]
    ) -> Transaction:
        """The service client of HTTP Basic (RFC 6749 §2.3.1) or ``client_id``/``client_secret``
        in the form; 401 ``invalid_client`` for an unknown client, a wrong secret, or the right
        secret sent the way the client did not register (its ``token_endpoint_auth_method``:
        a secret that may travel in request bodies is one only a ``client_secret_post`` client
        chose). The method is checked after the secret, so it tells nobody without the secret
        how a client registered."""
        posted = list(form.get("client_secret", []))
        scheme, _, value = (authorization or "").partition(" ")
        if authorization is not None and scheme.lower() == "basic":
            if posted:
                raise OAuthError(400, "invalid_request", "use one client authentication method")
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise _unauthenticated("malformed Basic credentials") from None
            raw_id, sep, raw_secret = decoded.partition(":")
            if not sep:
                raise _unauthenticated("malformed Basic credentials")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            used = "client_secret_basic"
        elif authorization is None and len(posted) == 1:
            ids = list(form.get("client_id", []))
            client_id, secret = (ids[0] if len(ids) == 1 else ""), posted[0]
            used = "client_secret_post"
        else:
            raise _unauthenticated("authenticate the client (HTTP Basic or client_secret_post)")
        record = await self._client(client_id)
        expected = record.meta["secret_sha256"] if record is not None else _sha("")
        if record is None or not secrets.compare_digest(_sha(secret), expected):
            raise _unauthenticated("unknown client or wrong secret")
        registered = record.meta.get("token_endpoint_auth_method", "client_secret_basic")
        if used != registered:
            raise _unauthenticated(f"this client authenticates with {registered}, not {used}")
        return record

    async def token(
        self, *, authorization: str | None, form: Mapping[str, Sequence[str]]
    ) -> dict[str, Any]:
        """RFC 6749 §4.4.3: a Bearer access token for the authenticated service client."""
        for name in ("scope", "client_id", "client_secret"):
            if len(form.get(name, [])) > 1:
                raise OAuthError(400, "invalid_request", f"{name} repeated")
        client = await self.authenticate(authorization, form)
        granted = str(client.meta["scope"]).split()
        asked = form.get("scope", [])
        scopes = _scopes(asked[0], allowed=granted) if asked else granted
        now = self.now()
        lifetime = self.access.settings.token_lifetime
        claims = {
            "iss": self.issuer,
            "sub": client.id,
            "aud": self.issuer,
            "client_id": client.id,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        return {
            "access_token": self.access.sign(claims),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": claims["scope"],
        }

    async def check(self, token: str, *, scope: str = EVALUATE) -> str:
        """The client id of a live service token with ``scope``; :class:`OAuthError` (401
        ``invalid_token``, 403 ``insufficient_scope``) otherwise."""
        try:
            claims = verify_access_token(
                token,
                [self.access.public_jwk],
                issuer=self.issuer,
                audience=self.issuer,
                now=self.now(),
                leeway=0,
                require_cnf=False,
            )
        except AccessError as exc:
            raise OAuthError(401, "invalid_token", f"{exc.code}: {exc.description}") from None
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or "authorization_details" in claims or "sid" in claims:
            raise OAuthError(401, "invalid_token", "not a service client token")
        if await token_is_revoked(self.store, claims.get("jti")):
            raise OAuthError(401, "invalid_token", "the token was revoked")
        if await self._client(client_id) is None:
            raise OAuthError(401, "invalid_token", "the client is no longer registered")
        if scope not in str(claims.get("scope", "")).split():
            raise OAuthError(403, "insufficient_scope", f"the token lacks the scope {scope}")
        return client_id
