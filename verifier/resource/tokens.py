"""Authorising one request at a resource server: its access token, DPoP proof and tool call.

:class:`ResourceGuard` checks a request's token with :func:`.access_token.verify_access_token`
(the RFC 9068 §4 checks) and adds the request-bound ones: the ``Authorization: DPoP`` scheme
(RFC 9449 §7.1), one ``DPoP`` header whose proof passes :func:`verifier.protocol.oauth.dpop.
verify_proof` for this method and URI with ``ath`` over this token, a proof key whose
thumbprint is ``cnf.jkt`` (``dpop_key_mismatch``), a ``jti`` not seen before
(``dpop_replayed``), with ``dpop_nonces`` a current nonce of this resource (``use_dpop_nonce``,
:mod:`.nonces`), and the token's ``authorization_details`` (RFC 9396) holding one agent
action for this resource. :func:`check_tool` then tests a tool call against that action, and
:func:`check_scope` a wallet-login token's ``scope``.

Failures are :class:`.access_token.AccessError`, rendered as a ``WWW-Authenticate: DPoP``
header; this module re-exports it, :class:`.access_token.AccessGrant` and
:func:`.access_token.verify_access_token`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from verifier.protocol import AgentVPError
from verifier.protocol.jose import parse_unverified_jws
from verifier.protocol.oauth.access_token import ToolBinding, check_call, granted_action
from verifier.protocol.oauth.dpop import DPoPError, verify_proof

from .access_token import TOKEN_ALGS, AccessError, AccessGrant, invalid, verify_access_token
from .keys import JWKSCache, JWKSUnavailableError, MemoryReplayCache, ReplayStore
from .nonces import DPoPNonces
from .signals import RevocationSignals

__all__ = [
    "TOKEN_ALGS",
    "AccessError",
    "AccessGrant",
    "ResourceGuard",
    "check_scope",
    "check_tool",
    "verify_access_token",
]


def _one(values: Sequence[str], name: str) -> str | None:
    if len(values) > 1:
        error = "invalid_dpop_proof" if name == "DPoP" else "invalid_request"
        raise AccessError(
            400 if error == "invalid_request" else 401,
            error,
            f"{name.lower()}_repeated",
            f"more than one {name} header",
        )
    return values[0] if values else None


@dataclass
class ResourceGuard:
    """Everything a resource server needs to accept agentvp tokens; one per resource."""

    resource: str  # the RFC 8707 resource indicator: tokens must have it as ``aud``
    issuer: str  # agentvp's public URL
    jwks: JWKSCache
    replay: ReplayStore = field(default_factory=MemoryReplayCache)
    leeway: int = 5
    dpop_max_age: int = 60
    clock: Callable[[], float] = time.time
    base_scope: str | None = None  # wallet-login tokens: None = refused, else the scope needed
    dpop_required: bool = False  # wallet-login tokens must be DPoP-bound
    signals: RevocationSignals | None = None  # agentvp's SSF stream (see .signals)
    dpop_nonces: DPoPNonces | None = None  # proofs must carry our nonce (see .nonces, §9)

    async def authorize(
        self, *, method: str, url: str, authorization: Sequence[str], dpop: Sequence[str]
    ) -> AccessGrant:
        """Check the ``Authorization`` and ``DPoP`` headers of one request to ``url``."""
        header = _one(authorization, "Authorization")
        if header is None:
            raise invalid("token_missing", "no access token")
        scheme, _, token = header.strip().partition(" ")
        token, scheme = token.strip(), scheme.lower()
        bearer_ok = self.base_scope is not None and not self.dpop_required
        if not token or scheme not in ("dpop", "bearer") or (scheme == "bearer" and not bearer_ok):
            raise invalid("token_not_dpop", "this resource needs a DPoP-bound token (DPoP scheme)")
        now = int(self.clock())
        try:
            keys = await self.jwks.keys(kid=parse_unverified_jws(token).header.get("kid"))
        except AgentVPError as exc:
            raise self._as(scheme, invalid("token_malformed", exc.reason)) from None
        except JWKSUnavailableError as exc:
            raise AccessError(
                503, "temporarily_unavailable", "jwks_unavailable", str(exc)
            ) from None
        try:
            claims = verify_access_token(
                token,
                keys,
                issuer=self.issuer,
                audience=self.resource,
                now=now,
                leeway=self.leeway,
                require_cnf="authorization_details" in _unverified(token) or scheme == "dpop",
            )
        except AccessError as exc:
            raise self._as(scheme, exc) from None
        if self.signals is not None:
            await self.signals.refresh()
            if self.signals.revoked(claims):
                raise self._as(
                    scheme,
                    invalid(
                        "token_revoked",
                        "agentvp signalled that the token, its grant or its mandate is revoked",
                    ),
                )
        if "authorization_details" not in claims:
            return await self._scope_grant(scheme, method, url, token, claims, dpop, now)
        if scheme != "dpop":
            raise invalid("token_not_dpop", "an agent token is used with the DPoP scheme")
        await self._proof(method, url, token, claims, dpop, now)
        try:
            action = granted_action(claims.get("authorization_details"), location=self.resource)
        except (ValueError, ValidationError) as exc:
            raise invalid("token_grant_invalid", str(exc).splitlines()[0]) from None
        return AccessGrant(token=token, claims=claims, action=action)

    @staticmethod
    def _as(scheme: str, exc: AccessError) -> AccessError:
        """``exc`` challenged in the scheme the request used (RFC 6750 §3 / RFC 9449 §7.1)."""
        exc.scheme = "Bearer" if scheme == "bearer" else "DPoP"
        return exc

    async def _proof(
        self,
        method: str,
        url: str,
        token: str,
        claims: Mapping[str, Any],
        dpop: Sequence[str],
        now: int,
    ) -> None:
        """RFC 9449 §4.3 and §7.1: one fresh proof for this request, by the ``cnf.jkt`` key."""
        proof_text = _one(dpop, "DPoP")
        if proof_text is None:
            raise AccessError(401, "invalid_dpop_proof", "dpop_missing", "no DPoP proof")
        try:
            proof = verify_proof(
                proof_text,
                htm=method,
                htu=url,
                now=now,
                max_age=self.dpop_max_age,
                leeway=self.leeway,
                access_token=token,
            )
        except DPoPError as exc:
            raise AccessError(401, exc.error, exc.code, exc.reason) from None
        if proof.jkt != claims["cnf"]["jkt"]:
            raise AccessError(
                401, "invalid_dpop_proof", "dpop_key_mismatch", "the proof key is not cnf.jkt"
            )
        nonces = self.dpop_nonces
        if nonces is not None and not nonces.accepts(proof.nonce, self.resource):
            missing = proof.nonce is None
            raise AccessError(
                401,
                "use_dpop_nonce",
                "dpop_nonce_missing" if missing else "dpop_nonce_invalid",
                "the resource requires its DPoP-Nonce in the proof"
                + ("" if missing else "; this one is not current or not ours"),
                headers={"DPoP-Nonce": nonces.current(self.resource)},
            )
        if not await self.replay.claim(f"dpop:{proof.replay_key}", ttl=self.dpop_max_age * 2):
            raise AccessError(401, "invalid_dpop_proof", "dpop_replayed", "jti already used")

    async def _scope_grant(
        self,
        scheme: str,
        method: str,
        url: str,
        token: str,
        claims: Mapping[str, Any],
        dpop: Sequence[str],
        now: int,
    ) -> AccessGrant:
        """A wallet-login token: ``scope`` and ``client_id``; Bearer, or DPoP when bound."""
        if self.base_scope is None:
            raise invalid("token_grant_invalid", "this resource accepts agent tokens only")
        if not isinstance(claims.get("scope"), str) or not isinstance(claims.get("client_id"), str):
            raise self._as(scheme, invalid("token_grant_invalid", "no scope or client_id"))
        bound = isinstance(claims.get("cnf"), dict)
        if bound and scheme != "dpop":
            raise invalid("token_not_dpop", "a DPoP-bound token is used with the DPoP scheme")
        if not bound and self.dpop_required:
            raise invalid("token_not_sender_constrained", "this resource needs DPoP-bound tokens")
        if bound:
            await self._proof(method, url, token, claims, dpop, now)
        grant = AccessGrant(token=token, claims=claims, action=None)
        check_scope(grant, self.base_scope)
        return grant


def _unverified(token: str) -> Mapping[str, Any]:
    """The payload before the signature check - only to pick which checks apply, which the
    signature check then covers (both paths verify the same signature)."""
    try:
        payload = parse_unverified_jws(token, what="access token").payload_json(what="token")
    except AgentVPError:
        return {}
    return payload if isinstance(payload, dict) else {}


def check_scope(grant: AccessGrant, needed: str) -> None:
    """403 ``insufficient_scope`` naming the scope to ask for (granted + ``needed``) unless the
    grant holds ``needed`` (RFC 6750 §3.1; MCP step-up)."""
    granted = grant.scopes
    if needed in granted:
        return
    wanted = " ".join([*granted, needed])
    scheme = "DPoP" if isinstance(grant.claims.get("cnf"), dict) else "Bearer"
    raise AccessError(
        403,
        "insufficient_scope",
        "scope_missing",
        f"this needs scope {needed!r}",
        scheme=scheme,
        scope=wanted,
    )


def check_tool(grant: AccessGrant, binding: ToolBinding | None, arguments: Any) -> None:
    """403 ``insufficient_scope`` unless the tool call stays within the granted action."""
    if binding is None:
        raise AccessError(403, "insufficient_scope", "tool_not_bound", "no grant covers this tool")
    if not isinstance(arguments, Mapping):
        raise AccessError(400, "invalid_request", "arguments_invalid", "arguments not an object")
    if grant.action is None:
        raise AccessError(403, "insufficient_scope", "not_an_agent_grant", "no action granted")
    reasons = check_call(binding, arguments, grant.action)
    if reasons:
        detail = "; ".join(f"{r.code} ({r.detail})" for r in reasons)
        raise AccessError(403, "insufficient_scope", reasons[0].code, detail)
