"""Agent access tokens: agentvp as the authorization server of MCP servers and other resources.

An agent asks for access to a resource (RFC 8707 ``resource``) to perform one action (RFC 9396
``authorization_details``), proving possession of its key with DPoP (RFC 9449). agentvp turns that
into an agent verification (:mod:`verifier.agents.verifications`) under the policy the policy file's
``resources:`` section names for the resource (:mod:`verifier.policy.resources`), lets the agent
poll like CIBA (OpenID CIBA Core §7.3, §10-§11: ``authorization_pending``, ``slow_down``,
``access_denied``, ``expired_token``) and, once the decision is ``allow``, issues one JWT access
token per requested resource (RFC 9068):

- header ``typ`` ``at+jwt`` and the ``kid`` of the verifier key published at ``jwks_uri``;
- ``iss``, ``aud`` (the resource), ``exp`` (at most ``agent_token_lifetime``, by default five
  minutes, or the resource's own shorter ``token_lifetime``), ``iat``, ``jti``;
- ``cnf.jkt`` (RFC 9449 §6.1) = the DPoP key, which must be the key the agent used to start,
  and the mandate's ``cnf`` key (its presentation's ``holder_jkt``) - else ``invalid_grant``;
- ``authorization_details`` = the verified action with ``locations`` = [the resource];
- ``client_id`` and ``act.sub`` (RFC 8693 §4.1) = the agent's id from the mandate;
- ``sub`` = the principal's pairwise id at the policy's payee domain when the mandate disclosed
  one, else the mandate ``jti``; ``mandate_jti``; ``verification_id`` (shared by every token of
  one verification, so resource servers can correlate one action).

State: one record per ``auth_req_id`` in the transaction store (purpose ``agent_access``, the
verification as ``parent_id``), living as long as the verification; polls and issuance are
compare-and-set on it (``next_poll``/``interval`` for ``slow_down``; ``issued`` so each resource
gets one token). DPoP proof ``jti`` values are single-use through ``store.claim``.

Errors are :class:`.errors.OAuthError` (re-exported here); the DPoP check at agentvp's own
endpoints is :mod:`.dpop_proofs`; introspection - whether the grant behind a token still
holds - is :mod:`.agent_introspection`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from verifier.agents.verifications import AgentVerifications
from verifier.oauth.agent_introspection import introspect_agent_token
from verifier.oauth.dpop_proofs import check_dpop
from verifier.oauth.errors import OAuthError
from verifier.policy.resources import ResourcePolicy, check_resources
from verifier.protocol import AgentVPError, SigningKey
from verifier.protocol.jsonutil import loads
from verifier.protocol.oauth.access_token import (
    ACCESS_TOKEN_TYP,
    AUTHORIZATION_DETAILS_TYPE,
    GRANT_TYPE,
    authorization_details_for,
    granted_action,
)
from verifier.protocol.oauth.dpop import DPOP_ALGS, DPoPProof
from verifier.store.base import RecordKind, Transaction, TxStatus

__all__ = ["AccessSettings", "AgentAccess", "OAuthError"]

PURPOSE = "agent_access"
KIND = RecordKind.AGENT_ACCESS
EXPIRED = frozenset({"agent_request_expired", "step_up_expired"})
SLOW_DOWN_STEP = 5  # seconds added to the interval on slow_down (CIBA §11, RFC 8628 §3.5)


@dataclass(frozen=True)
class AccessSettings:
    issuer: str
    token_lifetime: int = 300
    poll_interval: int = 2
    dpop_max_age: int = 60
    leeway: int = 60
    max_json_depth: int = 32  # authorization_details nesting


def _grant(description: str) -> OAuthError:
    return OAuthError(400, "invalid_grant", description)


class AgentAccess:
    def __init__(
        self,
        agents: AgentVerifications,
        resources: Mapping[str, ResourcePolicy],
        *,
        key: SigningKey,
        settings: AccessSettings,
    ) -> None:
        check_resources(resources, agents.policies)
        self.agents = agents
        self.presentations = agents.presentations
        self.store = agents.store
        self.resources = dict(resources)
        self.key = key
        self.kid = key.kid or key.thumbprint
        self.settings = settings
        base = settings.issuer
        self.endpoints = {
            "authorize": f"{base}/oauth/agent-authorize",
            "token": f"{base}/oauth/token",
            "introspect": f"{base}/oauth/introspect",
            "revoke": f"{base}/oauth/revoke",
            "jwks": f"{base}/oauth/jwks.json",
        }

    # -------------------------------------------------------------- metadata

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 §2 authorization server metadata (no front-channel authorization)."""
        return {
            "issuer": self.settings.issuer,
            "agent_authorization_endpoint": self.endpoints["authorize"],
            "token_endpoint": self.endpoints["token"],
            "introspection_endpoint": self.endpoints["introspect"],
            "revocation_endpoint": self.endpoints["revoke"],
            "jwks_uri": self.endpoints["jwks"],
            "response_types_supported": [],
            "grant_types_supported": [GRANT_TYPE],
            "token_endpoint_auth_methods_supported": ["none"],
            "backchannel_token_delivery_modes_supported": ["poll"],
            "dpop_signing_alg_values_supported": sorted(DPOP_ALGS),
            "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
            "agentvp_resources": sorted(self.resources),
        }

    @property
    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.public_jwk, "kid": self.kid, "use": "sig", "alg": self.key.alg}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    # -------------------------------------------------------------- DPoP

    async def check_dpop(
        self, headers: Sequence[str], endpoint: str, *, nonces: Sequence[str] = ()
    ) -> DPoPProof:
        """One DPoP proof for ``POST`` at ``endpoint``, checked and its ``jti`` spent
        (:func:`.dpop_proofs.check_dpop`)."""
        return await check_dpop(
            headers,
            htu=self.endpoints[endpoint],
            now=self.presentations.now(),
            max_age=self.settings.dpop_max_age,
            leeway=self.settings.leeway,
            store=self.store,
            nonces=nonces,
        )

    # -------------------------------------------------------------- authorize

    def _policy_for(self, resources: Sequence[str]) -> str:
        if not resources or len(set(resources)) != len(resources):
            raise OAuthError(400, "invalid_target", "name each resource once, at least one")
        unknown = [r for r in resources if r not in self.resources]
        if unknown:
            raise OAuthError(400, "invalid_target", f"not a protected resource: {unknown[0]}")
        policies = {self.resources[r].policy for r in resources}
        if len(policies) != 1:
            raise OAuthError(400, "invalid_target", "these resources are under different policies")
        return policies.pop()

    async def authorize(
        self, *, dpop: Sequence[str], resources: Sequence[str], authorization_details: str | None
    ) -> dict[str, Any]:
        """Start an agent verification for the action at ``resources`` (CIBA §7.3 style)."""
        proof = await self.check_dpop(dpop, "authorize")
        policy = self._policy_for(resources)
        try:
            details = loads(
                authorization_details or "null",
                what="authorization_details",
                max_depth=self.settings.max_json_depth,
            )
            action = granted_action(details)
        except AgentVPError as exc:  # strict JSON: duplicate keys, depth, invalid UTF-16
            raise OAuthError(400, "invalid_authorization_details", exc.reason) from None
        except (ValueError, ValidationError) as exc:
            raise OAuthError(
                400, "invalid_authorization_details", str(exc).splitlines()[0]
            ) from None
        av = await self.agents.create(policy, action)
        now = self.presentations.now()
        record = Transaction(
            id=secrets.token_urlsafe(32),
            request_id=f"aa:{secrets.token_urlsafe(16)}",
            state="",
            nonce="",
            client_id="",
            created_at=now,
            expires_at=av.expires_at,
            purpose=PURPOSE,
            kind=KIND,
            parent_id=av.id,
            meta={
                "resources": list(resources),
                "jkt": proof.jkt,
                "interval": self.settings.poll_interval,
                "next_poll": 0,
                "issued": [],
            },
        )
        retention = self.presentations.config.retention
        await self.store.create(record, retain_until=record.expires_at + retention)
        answer: dict[str, Any] = {
            "auth_req_id": record.id,
            "expires_in": max(record.expires_at - now, 0),
            "interval": self.settings.poll_interval,
            "agent_request": await self._request(av.meta["agent_tx"]),
        }
        if av.meta.get("human_tx"):
            answer["human_request"] = await self._request(av.meta["human_tx"])
        return answer

    async def _request(self, tx_id: str) -> dict[str, Any]:
        tx = await self.presentations.get(tx_id)
        return {
            "authorization_request_uri": self.presentations.authorization_request_uri(tx),
            "request_uri": self.presentations.request_uri(tx),
            "expires_at": tx.expires_at,
        }

    # -------------------------------------------------------------- token

    async def token(
        self, *, dpop: Sequence[str], form: Mapping[str, Sequence[str]]
    ) -> dict[str, Any]:
        """Poll with ``auth_req_id``; the access token once the verification allows."""
        if list(form.get("grant_type", [])) != [GRANT_TYPE]:
            raise OAuthError(400, "unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
        ids = list(form.get("auth_req_id", []))
        if len(ids) != 1 or not ids[0]:
            raise OAuthError(400, "invalid_request", "auth_req_id is required (once)")
        proof = await self.check_dpop(dpop, "token")
        record = await self.store.get(ids[0], kind=KIND)
        if record is None or record.parent_id is None:
            raise _grant("unknown auth_req_id")
        if proof.jkt != record.meta["jkt"]:
            raise _grant("the DPoP key is not the one that started this request")
        resource = self._resource(record, list(form.get("resource", [])))
        if self.presentations.now() >= record.expires_at:
            raise OAuthError(400, "expired_token", "the auth_req_id has expired")
        av = await self.agents.get(record.parent_id)
        if av.status == TxStatus.VERIFIED:
            return await self._issue(record, av, resource)
        if av.status == TxStatus.REJECTED:
            reasons = (av.result or {}).get("reasons", [])
            if EXPIRED & set(reasons):
                raise OAuthError(400, "expired_token", "no answer in time: " + ", ".join(reasons))
            raise OAuthError(400, "access_denied", ", ".join(reasons) or "denied", reasons=reasons)
        raise await self._pending(record, av)

    def _resource(self, record: Transaction, asked: list[str]) -> str:
        granted: list[str] = record.meta["resources"]
        if not asked:
            if len(granted) != 1:
                raise OAuthError(400, "invalid_target", "name the resource this token is for")
            return granted[0]
        if len(asked) != 1 or asked[0] not in granted:
            raise OAuthError(400, "invalid_target", "resource was not part of this request")
        return asked[0]

    async def _pending(self, record: Transaction, av: Transaction) -> OAuthError:
        now, meta = self.presentations.now(), record.meta
        error, interval = "authorization_pending", int(meta["interval"])
        if now < int(meta["next_poll"]):
            error, interval = "slow_down", interval + SLOW_DOWN_STEP
        changes = {"meta": {**meta, "interval": interval, "next_poll": now + interval}}
        if await self.store.update_if(record.id, {"meta": meta}, changes, kind=KIND) is None:
            error = "slow_down"  # a concurrent poll won
        extra: dict[str, Any] = {"interval": interval}
        if av.meta.get("human_tx"):
            extra["human_request"] = await self._request(av.meta["human_tx"])
        text = "waiting for the human" if "human_request" in extra else "waiting for the agent"
        return OAuthError(400, error, text if error != "slow_down" else "poll less often", **extra)

    async def _issue(self, record: Transaction, av: Transaction, resource: str) -> dict[str, Any]:
        agent_tx = await self.presentations.get(av.meta["agent_tx"])
        mandate = (agent_tx.result or {})["credentials"]["mandate"][0]
        if mandate.get("holder_jkt") != record.meta["jkt"]:
            raise _grant("the DPoP key is not the mandate's cnf key")
        for _ in range(3):  # meta may change under us (a concurrent token request)
            issued = list(record.meta["issued"])
            if resource in issued:
                raise _grant("a token was already issued for this resource")
            changes = {"meta": {**record.meta, "issued": [*issued, resource]}}
            updated = await self.store.update_if(
                record.id, {"meta": record.meta}, changes, kind=KIND
            )
            if updated is not None:
                break
            record = await self.store.get(record.id, kind=KIND) or record
        else:
            raise _grant("concurrent token requests")
        token, claims = self._mint(av, resource, mandate_jkt=record.meta["jkt"])
        return {
            "access_token": token,
            "token_type": "DPoP",
            "expires_in": claims["exp"] - claims["iat"],
            "authorization_details": claims["authorization_details"],
        }

    def _mint(
        self, av: Transaction, resource: str, *, mandate_jkt: str
    ) -> tuple[str, dict[str, Any]]:
        result = av.result or {}
        now = self.presentations.now()
        rule = self.resources[resource].token_lifetime or self.settings.token_lifetime
        lifetime = min(rule, self.settings.token_lifetime)
        exp = min(now + lifetime, av.expires_at + self.presentations.config.retention)
        agent = result.get("agent") or {}
        mandate_jti = (result.get("mandate") or {}).get("jti")
        action = granted_action([{"type": AUTHORIZATION_DETAILS_TYPE, **av.meta["action"]}])
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "sub": (result.get("principal") or {}).get("pairwise_sub") or mandate_jti,
            "aud": resource,
            "client_id": agent.get("id"),
            "iat": now,
            "exp": exp,
            "jti": secrets.token_urlsafe(16),
            "cnf": {"jkt": mandate_jkt},
            "authorization_details": authorization_details_for(action, [resource]),
            "act": {"sub": agent.get("id"), "operator": agent.get("operator")},
            "mandate_jti": mandate_jti,
            "verification_id": av.id,
        }
        return self.sign(claims), claims

    def sign(self, claims: Mapping[str, Any]) -> str:
        """An ``at+jwt`` access token (RFC 9068 §2.1) signed with the key at ``jwks_uri``."""
        return self.key.sign_jws({"typ": ACCESS_TOKEN_TYP, "kid": self.kid}, dict(claims))

    # -------------------------------------------------------------- introspection

    async def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 §2.2: the claims of an active token, else just ``{"active": false}``
        (:func:`.agent_introspection.introspect_agent_token`)."""
        return await introspect_agent_token(
            token,
            public_jwk=self.public_jwk,
            issuer=self.settings.issuer,
            store=self.store,
            status=self.presentations.status,
            now=self.presentations.now(),
        )
