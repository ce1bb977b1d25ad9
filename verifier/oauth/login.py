"""The wallet login: ``/oauth/authorize`` (RFC 6749 §4.1, OAuth 2.1 §4.1) where the person logs in
by presenting a credential from their wallet (OpenID4VP), for MCP clients (MCP authorization).

:meth:`WalletLogin.start` checks the authorization request in the order RFC 6749 §4.1.2.1 asks:

1. ``client_id`` names a known client (:mod:`.clients`) and ``redirect_uri`` is one of its
   redirect URIs (exact, loopback ports aside: RFC 8252 §7.3) - otherwise the error is shown to
   the person and **never** sent to the unverified redirect URI (:class:`LoginError` without
   ``redirect``);
2. then, answered at the redirect URI with ``state`` and ``iss`` (RFC 9207):
   ``response_type`` is ``code`` (``unsupported_response_type``); ``code_challenge`` is present
   and ``code_challenge_method`` is ``S256`` (OAuth 2.1 §4.1.1, MCP: PKCE S256 required; ``plain``
   and a missing method are refused, ``invalid_request``); ``resource`` (RFC 8707 §2) is exactly
   one resource listed in the policy file (``invalid_target``); ``scope`` holds only scopes that
   resource knows (``invalid_scope``) - without ``scope`` the resource's default scopes.

It then opens an ordinary presentation (cross-device, QR code and ``openid4vp://`` link) for the
identity the resource's policy asks for (its ``identity`` section, :func:`verifier.policy.queries.
identity_query`) and stores a login record (kind ``oauth_login``) holding the request.

:meth:`WalletLogin.poll` is what the page asks until the presentation is final. The first poll
that sees it verified evaluates the identity rules (:func:`verifier.policy.identity.
evaluate_identity`); when they hold it creates a single-use authorization code (kind
``oauth_code``, stored under the SHA-256 of the code) and moves the login to ``verified`` with
the redirect URL (``code``, ``state``, ``iss``); a declined, failed or expired presentation, or
broken identity rules, move it to ``rejected`` with an ``access_denied`` redirect. Both moves
are one compare-and-set, so concurrent polls agree.

The ``sub`` of the grant is pairwise: SHA-256 over the issuer, the client and the holder key's
RFC 7638 thumbprint - stable for one person and client, unlinkable across clients. ``acr`` is the
identity's assurance level, ``auth_time`` the verification time. When the identity credential
has a status list entry, its reference goes with the code to the login's refresh family, which
the grant watcher then watches (:mod:`.code_grant`).

A resource with ``self_issued_login`` (its policy asks for no identity) opens a SIOPv2
``response_type=id_token`` request instead: the verifier checks the self-issued ID token (SIOPv2
§11.1: ``iss`` = ``sub`` = the thumbprint of ``sub_jwk``, signed by it, ``aud`` our client id,
this request's ``nonce``, ``iat``/``exp``) and the grant's pairwise ``sub`` is over that key's
thumbprint; there is no ``acr``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from verifier.agents.grants import identity_verification, identity_watch
from verifier.agents.verifications import AgentVerifications
from verifier.errors import ServiceError
from verifier.oauth.agent_grant import OAuthError
from verifier.oauth.clients import Client, ClientRegistry, redirect_matches
from verifier.oauth.released import release
from verifier.policy.identity import evaluate_identity
from verifier.policy.queries import identity_query
from verifier.policy.resources import ResourcePolicy
from verifier.policy.rules import AgentPolicy
from verifier.presentations.create import CreatePresentation
from verifier.protocol.jose.base64url import b64url_encode
from verifier.protocol.mandates.reasons import Reason
from verifier.store.base import RecordKind, Transaction, TxStatus

__all__ = ["LoginError", "LoginPage", "WalletLogin", "code_key", "pairwise_sub"]

log = logging.getLogger("agentvp.oauth")
LOGIN = RecordKind.OAUTH_LOGIN
CODE = RecordKind.OAUTH_CODE
PURPOSE = "oauth_login"
MAX_STATE = 512
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(SHA-256), RFC 7636 §4.2
SINGLE = (
    *("client_id", "redirect_uri", "response_type", "state"),
    *("code_challenge", "code_challenge_method", "scope", "resource"),
)


class LoginError(Exception):
    """An authorization error; sent to ``redirect`` (with ``state``) when that is safe."""

    def __init__(
        self, error: str, description: str, *, redirect: str | None = None, state: str | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.redirect = redirect
        self.state = state


@dataclass(frozen=True)
class LoginPage:
    """What the login page shows."""

    login_id: str
    client_name: str
    client_id: str
    resource: str
    scopes: list[str]
    wallet_link: str
    expires_at: int


def code_key(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def pairwise_sub(issuer: str, client_id: str, holder_jkt: str) -> str:
    digest = hashlib.sha256(f"{issuer}\x00{client_id}\x00{holder_jkt}".encode()).digest()
    return b64url_encode(digest)


def with_query(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` added to its query (RFC 6749 §3.1.2: keep the existing query)."""
    joiner = "&" if urlsplit(uri).query else "?"
    return uri + joiner + urlencode(params)


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise LoginError("invalid_request", f"{name} repeated")
    return values[0] if values else None


class WalletLogin:
    def __init__(
        self,
        agents: AgentVerifications,
        resources: Mapping[str, ResourcePolicy],
        clients: ClientRegistry,
        *,
        issuer: str,
        code_lifetime: int,
    ) -> None:
        self.agents = agents
        self.presentations = agents.presentations
        self.store = agents.store
        self.resources = dict(resources)
        self.clients = clients
        self.issuer = issuer
        self.code_lifetime = code_lifetime

    # -------------------------------------------------------------- authorize

    async def _client(self, params: Mapping[str, Sequence[str]]) -> tuple[Client, str]:
        client_id = _one(params, "client_id")
        if not client_id:
            raise LoginError("invalid_request", "client_id is required")
        try:
            client = await self.clients.get(client_id)
        except OAuthError as exc:
            raise LoginError(exc.error, exc.description) from None
        asked = _one(params, "redirect_uri")
        if asked is None:
            if len(client.redirect_uris) != 1:
                raise LoginError("invalid_request", "redirect_uri is required")
            asked = client.redirect_uris[0]
        if not any(redirect_matches(uri, asked) for uri in client.redirect_uris):
            raise LoginError("invalid_request", "redirect_uri is not registered for this client")
        return client, asked

    def _request(
        self, params: Mapping[str, Sequence[str]], redirect: str
    ) -> tuple[str | None, str, str, list[str]]:
        """``(state, code_challenge, resource, scopes)`` or a redirectable :class:`LoginError`."""
        state = params.get("state", [None])[0]
        if state is not None and len(state) > MAX_STATE:  # refused without echoing it
            raise LoginError("invalid_request", "state is too long", redirect=redirect)

        def refuse(error: str, description: str) -> LoginError:
            return LoginError(error, description, redirect=redirect, state=state)

        for name in SINGLE:
            if len(params.get(name, [])) > 1:
                raise refuse("invalid_request", f"{name} repeated")
        if _one(params, "response_type") != "code":
            raise refuse("unsupported_response_type", "response_type must be code")
        challenge = _one(params, "code_challenge")
        method = _one(params, "code_challenge_method")
        if challenge is None:
            raise refuse("invalid_request", "code_challenge is required (PKCE, RFC 7636)")
        if method != "S256":
            raise refuse("invalid_request", "code_challenge_method must be S256")
        if not _CHALLENGE.fullmatch(challenge):
            raise refuse("invalid_request", "code_challenge is not a base64url SHA-256 value")
        resource = _one(params, "resource")
        if resource is None:
            raise refuse("invalid_target", "resource is required (RFC 8707)")
        rule = self.resources.get(resource)
        if rule is None:
            raise refuse("invalid_target", "not a protected resource")
        if self.agents.policies[rule.policy].identity is None and not rule.self_issued_login:
            raise refuse("invalid_target", "this resource's policy has no identity rules")
        scope = _one(params, "scope")
        scopes = scope.split() if scope else rule.granted_by_default
        unknown = [s for s in scopes if s not in rule.scopes]
        if unknown:
            raise refuse("invalid_scope", f"unknown scope {unknown[0][:64]!r}")
        return state, challenge, resource, list(dict.fromkeys(scopes))

    def policies(self, resource: str, scopes: Sequence[str]) -> list[AgentPolicy]:
        """The resource's policy and the step-up policy of each asked scope (all must hold)."""
        rule = self.resources[resource]
        names = [rule.policy, *(rule.scope_policies[s] for s in scopes if s in rule.scope_policies)]
        return [self.agents.policies[name] for name in dict.fromkeys(names)]

    def presentation(self, resource: str, scopes: Sequence[str]) -> CreatePresentation:
        """What the person presents: the identity every policy asks for - or, at a resource
        with ``self_issued_login`` whose asked policies want no identity, a SIOPv2 self-issued
        ID token alone. ``ValueError`` when a policy asks for no identity otherwise, or the
        policies accept no common credential type."""
        policies = self.policies(resource, scopes)
        if self.resources[resource].self_issued_login:
            policies = [p for p in policies if p.identity is not None]
            if not policies:
                return CreatePresentation(response_type="id_token", flow="cross_device")
        if any(p.identity is None for p in policies):
            raise ValueError("a scope's policy has no identity rules")
        return CreatePresentation(dcql_query=login_query(policies), flow="cross_device")

    async def start(self, params: Mapping[str, Sequence[str]]) -> LoginPage:
        client, redirect = await self._client(params)
        state, challenge, resource, scopes = self._request(params, redirect)
        try:
            spec = self.presentation(resource, scopes)
        except ValueError as exc:
            raise LoginError("invalid_scope", str(exc), redirect=redirect, state=state) from None
        try:
            tx = await self.presentations.create(spec, purpose=PURPOSE)
        except ServiceError as exc:
            raise LoginError(
                "server_error", exc.description, redirect=redirect, state=state
            ) from None
        now = self.presentations.now()
        login_id = secrets.token_urlsafe(32)
        record = Transaction(
            id=login_id,
            request_id=f"lg:{secrets.token_urlsafe(16)}",
            state="",
            nonce="",
            client_id=client.client_id,
            created_at=now,
            expires_at=tx.expires_at,
            kind=LOGIN,
            parent_id=tx.id,
            redirect_uri=redirect,
            meta={
                "state": state,
                "code_challenge": challenge,
                "resource": resource,
                "scopes": scopes,
                "client_name": client.client_name,
            },
        )
        retention = self.presentations.config.retention
        await self.store.create(record, retain_until=record.expires_at + retention)
        return LoginPage(
            login_id=login_id,
            client_name=client.client_name or client.client_id,
            client_id=client.client_id,
            resource=resource,
            scopes=scopes,
            wallet_link=self.presentations.authorization_request_uri(tx),
            expires_at=tx.expires_at,
        )

    # -------------------------------------------------------------- completion

    def _answer(self, login: Transaction, params: Mapping[str, str]) -> str:
        extra = {"state": login.meta["state"]} if login.meta.get("state") is not None else {}
        return with_query(str(login.redirect_uri), {**params, **extra, "iss": self.issuer})

    async def poll(self, login_id: str) -> dict[str, Any]:
        """``{"status": "pending"}`` or ``{"status": "verified"|"rejected", "redirect": url}``."""
        login = await self.store.get(login_id, kind=LOGIN)
        if login is None or not login_id:
            raise ServiceError(404, "not_found", "no such login")
        if login.status in (TxStatus.VERIFIED, TxStatus.REJECTED):
            return {"status": login.status, "redirect": login.meta["redirect"]}
        tx = await self.presentations.get(str(login.parent_id))
        if not tx.final:
            return {"status": "pending"}
        status, redirect = await self._outcome(login, tx)
        changes = {"status": status, "meta": {**login.meta, "redirect": redirect}}
        moved = await self.store.update_if(
            login.id, {"status": TxStatus.PENDING}, changes, kind=LOGIN
        )
        if moved is None:  # a concurrent poll decided first: answer what it decided
            login = await self.store.get(login_id, kind=LOGIN) or login
            return {"status": login.status, "redirect": login.meta.get("redirect")}
        log.info("wallet login %s", status, extra={"tx": tx.id})
        return {"status": status, "redirect": redirect}

    async def _outcome(self, login: Transaction, tx: Transaction) -> tuple[str, str]:
        if tx.status != TxStatus.VERIFIED or not tx.result:
            code = str((tx.error or {}).get("code", tx.status))
            text = f"the wallet presentation ended: {code}"
            return TxStatus.REJECTED, self._answer(
                login, {"error": "access_denied", "error_description": text}
            )
        if tx.response_type == "id_token":  # SIOPv2 alone: the key is the person, no rules
            key = {"holder_jkt": tx.result["id_token"]["jwk_thumbprint"]}
            code = secrets.token_urlsafe(32)
            await self._store_code(login, key, code)
            return TxStatus.VERIFIED, self._answer(login, {"code": code})
        identity = tx.result["credentials"]["identity"][0]
        now = self.presentations.now()
        reasons = [
            reason
            for policy in self.policies(login.meta["resource"], login.meta["scopes"])
            if policy.identity is not None  # a self_issued_login resource's own policy
            for reason in evaluate_identity(identity, None, policy, now=now)
        ]
        if not identity.get("holder_jkt"):  # the pairwise sub needs the holder's key
            reasons.append(Reason("holder_key_missing", "the credential names no holder key"))
        if reasons:
            text = "the presented identity does not meet the policy: " + ", ".join(
                r.code for r in reasons
            )
            return TxStatus.REJECTED, self._answer(
                login, {"error": "access_denied", "error_description": text}
            )
        code = secrets.token_urlsafe(32)
        await self._store_code(login, identity, code)
        return TxStatus.VERIFIED, self._answer(login, {"code": code})

    async def _store_code(self, login: Transaction, identity: Mapping[str, Any], code: str) -> None:
        now = self.presentations.now()
        holder = str(identity.get("holder_jkt") or "")
        verification = identity_verification(identity)
        rule = self.resources[login.meta["resource"]]
        main = self.agents.policies[rule.policy].identity
        frameworks = list(main.trust_frameworks) if main is not None else []
        record = Transaction(
            id=code_key(code),
            request_id=f"cd:{secrets.token_urlsafe(16)}",
            state="",
            nonce="",
            client_id=login.client_id,
            created_at=now,
            expires_at=now + self.code_lifetime,
            kind=CODE,
            parent_id=login.id,
            redirect_uri=login.redirect_uri,
            meta={
                "code_challenge": login.meta["code_challenge"],
                "resource": login.meta["resource"],
                "scopes": login.meta["scopes"],
                "sub": pairwise_sub(self.issuer, login.client_id, holder),
                "auth_time": now,
                "acr": verification.get("assurance_level"),
                "trust_framework": verification.get("trust_framework"),
                "identity": identity_watch(identity),  # watched while the login lives
                # what the resource may see at introspection (released_claims); never logged
                "released": release(identity, rule.released_claims, frameworks),
            },
        )
        await self.store.create(record, retain_until=record.expires_at + self.code_lifetime)


def login_query(policies: Sequence[AgentPolicy]) -> dict[str, Any]:
    """One identity query asking for every claim any of ``policies`` needs, of a type all of
    them accept (each policy's rules are then evaluated on the one presentation);
    ``ValueError`` when they accept no common type."""
    wanted = [identity_query(p)["credentials"][0] for p in policies]
    vcts = [
        vct
        for vct in wanted[0]["meta"]["vct_values"]
        if all(vct in other["meta"]["vct_values"] for other in wanted)
    ]
    if not vcts:
        raise ValueError("the policies of these scopes accept no common credential type")
    claims: list[Any] = []
    for query in wanted:
        claims += [claim for claim in query["claims"] if claim not in claims]
    return {"credentials": [{**wanted[0], "meta": {"vct_values": vcts}, "claims": claims}]}
