"""The token endpoint for wallet logins: ``authorization_code`` and ``refresh_token`` grants.

**authorization_code** (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.6): ``code``,
``client_id``, ``redirect_uri`` and ``code_verifier`` are required; the code must be live, issued
to this client for this redirect URI, and ``BASE64URL(SHA-256(code_verifier))`` must equal its
``code_challenge`` (``invalid_grant`` otherwise); ``resource``, when sent, must be the one of the
authorization request (RFC 8707 §2.2, ``invalid_target``). Every check runs before the code is
spent, so a refused request changes nothing; the code is then spent by one compare-and-set. A
code presented a second time is refused and the refresh family it started is revoked (OAuth 2.1
§4.1.3: "SHOULD revoke all tokens previously issued based on that code").

**refresh_token** (RFC 6749 §6, OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): refresh tokens are opaque,
stored by their SHA-256, grouped in a family (kind ``oauth_grant``) that lives
``oauth_refresh_lifetime`` from the login. Each use rotates: the old token is spent, a new one
issued in the same family. Presenting a spent token revokes the whole family (reuse detection);
so does a client_id that is not the family's. A narrower ``scope`` may be asked for, never a
wider one (``invalid_scope``).

**Tokens**: ``at+jwt`` (RFC 9068) with ``iss``, ``sub`` (pairwise), ``aud`` = the resource,
``client_id``, ``scope``, ``iat``, ``exp``, ``jti``, ``auth_time``, ``acr`` (the assurance level of
the presented identity) - no other verified claim: those the resource's ``released_claims``
lists are kept with the grant and answered at introspection only (:mod:`.released`). Without
a ``DPoP`` header the token is ``token_type: Bearer``; with one, the proof is checked (RFC 9449
§4.3, ``jti`` single-use) and the token carries ``cnf.jkt`` and is ``token_type: DPoP``; the
refresh family is then bound to that key and every refresh must prove it (§5: refresh tokens of
public clients are sender-constrained). A resource with ``dpop_required`` refuses a request
without a proof (``invalid_dpop_proof``); one with ``dpop_nonce`` wants a server nonce in the
proof (§8): ``use_dpop_nonce`` and a ``DPoP-Nonce`` header first - HMAC of the minute under a
key derived from the signing key, so stateless and the same on every instance; the current and
the previous minute's are accepted (the token endpoint's own: a resource's nonces, RFC 9449 §9,
are its own too, see :mod:`verifier.resource.nonces`).

**The identity credential**: a login rests on the credential the person presented. When it has
a status list entry, the grant watcher re-checks it (:func:`verifier.agents.grants.
watch_identity`); once it is revoked or suspended (the watcher's mark, or the list now) the
login's access tokens introspect inactive and its refresh token is refused (``invalid_grant``),
and the streams get one ``session-revoked`` naming the login (``opaque``, its ``sid``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from verifier.agents.grants import is_revoked, token_is_revoked, watch_identity
from verifier.agents.revalidation import mandate_revoked
from verifier.oauth.agent_grant import AgentAccess, OAuthError
from verifier.oauth.login import code_key
from verifier.oauth.released import still_released
from verifier.policy.resources import ResourcePolicy
from verifier.protocol.jose.base64url import b64url_encode
from verifier.resource.tokens import AccessError, verify_access_token
from verifier.store.base import RecordKind, Transaction, TxStatus

__all__ = ["CodeGrants", "LoginTokenSettings"]

CODE = RecordKind.OAUTH_CODE
GRANT = RecordKind.OAUTH_GRANT
REFRESH = RecordKind.OAUTH_REFRESH
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1
NONCE_WINDOW = 60  # seconds a server DPoP nonce is current (and one more window accepted)
SINGLE = ("code", "redirect_uri", "client_id", "code_verifier", "refresh_token", "scope")


@dataclass(frozen=True)
class LoginTokenSettings:
    token_lifetime: int = 300
    refresh_lifetime: int = 86400
    watch_every: int = 60  # the grant watcher's interval for the login's identity credential


def _grant(description: str) -> OAuthError:
    return OAuthError(400, "invalid_grant", description)


def _field(form: Mapping[str, Sequence[str]], name: str, *, required: bool = True) -> str | None:
    values = list(form.get(name, []))
    if len(values) > 1:
        raise OAuthError(400, "invalid_request", f"{name} repeated")
    if not values or not values[0]:
        if required:
            raise OAuthError(400, "invalid_request", f"{name} is required")
        return None
    return values[0]


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class CodeGrants:
    def __init__(
        self,
        access: AgentAccess,
        resources: Mapping[str, ResourcePolicy],
        *,
        settings: LoginTokenSettings,
    ) -> None:
        self.access = access
        self.store = access.store
        self.now = access.presentations.now
        self.resources = dict(resources)
        self.settings = settings
        secret = json.dumps(access.key.to_jwk(), sort_keys=True).encode()
        self._nonce_key = hashlib.sha256(b"agentvp dpop nonce\x00" + secret).digest()

    # -------------------------------------------------------------- shared

    def nonces(self) -> list[str]:
        """The server DPoP nonces accepted now (RFC 9449 §8): the current one first, then the
        previous window's. Stateless - any instance with the signing key derives the same."""
        window = self.now() // NONCE_WINDOW
        return [self._nonce(window), self._nonce(window - 1)]

    def _nonce(self, window: int) -> str:
        mac = hmac.new(self._nonce_key, str(window).encode(), hashlib.sha256).digest()
        return b64url_encode(mac[:18])

    async def _proof_jkt(self, dpop: Sequence[str], resource: str) -> str | None:
        rule = self.resources[resource]
        if not dpop:
            if rule.dpop_required:
                raise OAuthError(
                    400, "invalid_dpop_proof", "this resource requires DPoP-bound tokens"
                )
            return None
        nonces = self.nonces() if rule.dpop_nonce else []
        return (await self.access.check_dpop(dpop, "token", nonces=nonces)).jkt

    @staticmethod
    def _resource(form: Mapping[str, Sequence[str]], granted: str) -> None:
        asked = list(form.get("resource", []))
        if asked and asked != [granted]:
            raise OAuthError(400, "invalid_target", "resource is not the one that was authorized")

    def _lifetime(self, resource: str) -> int:
        own = self.resources[resource].token_lifetime or self.settings.token_lifetime
        return min(own, self.settings.token_lifetime)

    def _issue(
        self, grant: Mapping[str, Any], scopes: list[str], jkt: str | None, family_id: str
    ) -> str:
        now = self.now()
        lifetime = self._lifetime(grant["resource"])
        claims: dict[str, Any] = {
            "iss": self.access.settings.issuer,
            "sub": grant["sub"],
            "aud": grant["resource"],
            "client_id": grant["client_id"],
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
            "auth_time": grant["auth_time"],
            "sid": family_id,  # the login (refresh family): introspection checks it is alive
        }
        if grant.get("acr"):
            claims["acr"] = grant["acr"]
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        return self.access.sign(claims)

    async def _new_refresh(self, family: Transaction) -> str:
        token = secrets.token_urlsafe(32)
        record = Transaction(
            id=_sha(token),
            request_id=f"rt:{secrets.token_urlsafe(16)}",
            state="",
            nonce="",
            client_id=family.client_id,
            created_at=self.now(),
            expires_at=family.expires_at,
            kind=REFRESH,
            parent_id=family.id,
        )
        await self.store.create(record, retain_until=record.expires_at)
        return token

    def _answer(
        self, family: Transaction, scopes: list[str], jkt: str | None, refresh: str
    ) -> dict[str, Any]:
        grant = {**family.meta, "client_id": family.client_id}
        token = self._issue(grant, scopes, jkt, family.id)
        return {
            "access_token": token,
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": self._lifetime(family.meta["resource"]),
            "scope": " ".join(scopes),
            "refresh_token": refresh,
        }

    async def _watch(self, family: Transaction) -> None:
        """Queue the login's identity credential for the grant watcher (when it has a status
        entry): revoked or suspended, the login ends."""
        item = family.meta.get("identity")
        if not isinstance(item, dict):
            return
        now = self.now()
        until = family.expires_at + self.settings.token_lifetime
        entry = {"login": family.id, "until": until}
        due = now + self.settings.watch_every
        await watch_identity(self.store, item, entry, until=until, due_at=due, now=now)

    async def _identity_ended(self, family: Transaction) -> bool:
        """The login's identity credential is revoked or suspended: the watcher's mark, or its
        status list now (failing closed)."""
        item = family.meta.get("identity")
        if not isinstance(item, dict):
            return False
        if await is_revoked(self.store, str(item["key"])):
            return True
        status = self.access.presentations.status
        return await mandate_revoked(item, status, now=self.now())

    async def _revoke(self, family_id: str | None) -> None:
        if family_id is None:
            return
        await self.store.update_if(
            family_id, {"status": TxStatus.PENDING}, {"status": TxStatus.REJECTED}, kind=GRANT
        )

    # -------------------------------------------------------------- authorization_code

    async def authorization_code(
        self, *, dpop: Sequence[str], form: Mapping[str, Sequence[str]]
    ) -> dict[str, Any]:
        for name in SINGLE:
            _field(form, name, required=False)
        code = str(_field(form, "code"))
        client_id = str(_field(form, "client_id"))
        redirect_uri = str(_field(form, "redirect_uri"))
        verifier = str(_field(form, "code_verifier"))
        record = await self.store.get(code_key(code), kind=CODE)
        if record is None:
            raise _grant("unknown or expired code")
        if record.status != TxStatus.PENDING:
            await self._revoke(record.meta.get("family"))
            raise _grant("the code was already used; its tokens are revoked")
        if self.now() >= record.expires_at:
            raise _grant("the code has expired")
        if not secrets.compare_digest(client_id.encode(), record.client_id.encode()):
            raise _grant("the code was issued to another client")
        if redirect_uri != record.redirect_uri:
            raise _grant("redirect_uri is not the one of the authorization request")
        if not _VERIFIER.fullmatch(verifier):
            raise _grant("code_verifier must be 43-128 unreserved characters (RFC 7636 §4.1)")
        challenge = b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())
        if not secrets.compare_digest(challenge, record.meta["code_challenge"]):
            raise _grant("code_verifier does not match the code_challenge (PKCE)")
        self._resource(form, record.meta["resource"])
        jkt = await self._proof_jkt(dpop, record.meta["resource"])
        family_id = secrets.token_urlsafe(24)
        spent = await self.store.update_if(
            record.id,
            {"status": TxStatus.PENDING},
            {"status": TxStatus.VERIFIED, "meta": {**record.meta, "family": family_id}},
            kind=CODE,
        )
        if spent is None:
            raise _grant("the code was already used")
        now = self.now()
        family = Transaction(
            id=family_id,
            request_id=f"gr:{family_id}",
            state="",
            nonce="",
            client_id=record.client_id,
            created_at=now,
            expires_at=now + self.settings.refresh_lifetime,
            kind=GRANT,
            meta={
                "resource": record.meta["resource"],
                "scopes": record.meta["scopes"],
                "sub": record.meta["sub"],
                "auth_time": record.meta["auth_time"],
                "acr": record.meta.get("acr"),
                "jkt": jkt,
                "identity": record.meta.get("identity"),
                "released": record.meta.get("released") or {},  # introspection only
            },
        )
        await self.store.create(family, retain_until=family.expires_at)
        await self._watch(family)
        return self._answer(
            family, list(record.meta["scopes"]), jkt, await self._new_refresh(family)
        )

    # -------------------------------------------------------------- refresh_token

    async def refresh_token(
        self, *, dpop: Sequence[str], form: Mapping[str, Sequence[str]]
    ) -> dict[str, Any]:
        for name in SINGLE:
            _field(form, name, required=False)
        token = str(_field(form, "refresh_token"))
        client_id = str(_field(form, "client_id"))
        record = await self.store.get(_sha(token), kind=REFRESH)
        if record is None:
            raise _grant("unknown refresh token")
        family = await self.store.get(str(record.parent_id), kind=GRANT)
        if record.status != TxStatus.PENDING:
            await self._revoke(record.parent_id)
            raise _grant("the refresh token was already used; the grant is revoked")
        if family is None or family.status != TxStatus.PENDING:
            raise _grant("the grant was revoked")
        if self.now() >= family.expires_at:
            raise _grant("the grant has expired; log in again")
        if await self._identity_ended(family):
            raise _grant("the identity credential of this login was revoked; log in again")
        if not secrets.compare_digest(client_id.encode(), family.client_id.encode()):
            raise _grant("the refresh token was issued to another client")
        self._resource(form, family.meta["resource"])
        scopes = list(family.meta["scopes"])
        asked = _field(form, "scope", required=False)
        if asked is not None:
            wanted = asked.split()
            if not wanted or not set(wanted) <= set(scopes):
                raise OAuthError(400, "invalid_scope", "scope may only narrow the grant")
            scopes = list(dict.fromkeys(wanted))
        bound = family.meta.get("jkt")
        jkt = await self._proof_jkt(dpop, family.meta["resource"]) if dpop or bound else None
        if bound and jkt != bound:
            raise OAuthError(400, "invalid_dpop_proof", "the DPoP key is not the grant's key")
        spent = await self.store.update_if(
            record.id, {"status": TxStatus.PENDING}, {"status": TxStatus.VERIFIED}, kind=REFRESH
        )
        if spent is None:  # a concurrent use of the same token: reuse
            await self._revoke(family.id)
            raise _grant("the refresh token was already used; the grant is revoked")
        return self._answer(family, scopes, jkt, await self._new_refresh(family))

    # -------------------------------------------------------------- introspection

    async def introspect(self, token: str) -> dict[str, Any] | None:
        """RFC 7662 §2.2 for a wallet-login token: its claims while it verifies, has not
        expired and its login (``sid``, the refresh family) is not revoked or over; else
        ``{"active": false}``. None for a token that is not a wallet-login token."""
        try:
            claims = verify_access_token(
                token,
                [self.access.public_jwk],
                issuer=self.access.settings.issuer,
                audience=None,
                now=self.now(),
                leeway=0,
                require_cnf=False,
            )
        except AccessError:
            return None
        if "authorization_details" in claims or not isinstance(claims.get("sid"), str):
            return None
        family = await self.store.get(claims["sid"], kind=GRANT)
        if family is None or family.status != TxStatus.PENDING or self.now() >= family.expires_at:
            return {"active": False}
        if await token_is_revoked(self.store, claims.get("jti")):  # RFC 7009, on its own
            return {"active": False}
        if await self._identity_ended(family):
            return {"active": False}
        kind = "DPoP" if isinstance(claims.get("cnf"), dict) else "Bearer"
        answer = {"active": True, "token_type": kind, **claims}
        rule = self.resources.get(str(family.meta.get("resource")))
        names = rule.released_claims if rule is not None else []
        released = still_released(family.meta.get("released"), names)
        if released:  # the resource's released_claims, in the IDA shape
            answer["verified_claims"] = released
        return answer
