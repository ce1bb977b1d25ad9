"""One AP2 verification: ``POST /v1/ap2/verifications`` without the HTTP.

Order: the challenge is consumed first (any outcome uses it up); the mandate chain is verified
against it (:func:`~verifier.protocol.sdjwt.delegation.verify_chain`), then the optional
checkout mandate chain (same challenge) and the checkout JWT (sent, or disclosed by the closed
checkout mandate); the root User Credential's status is checked; the AP2 policy (modes, root
models, types, identity of the human) and every mandate rule are evaluated; only when nothing
failed are budget and occurrences consumed, atomically (:mod:`.usage`). Every outcome gets audit
events, a stored record and a signed AP2 receipt. Nothing here trusts the agent beyond what the
chain proves.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verifier.agents.audit import chain as audit_chain
from verifier.ap2.challenges import Challenges
from verifier.ap2.receipts import sign_ap2_receipt
from verifier.ap2.usage import consume_all
from verifier.errors import ServiceError
from verifier.policy.ap2 import AP2Policy
from verifier.policy.identity import evaluate_identity
from verifier.policy.rules import AgentPolicy, MandatePolicy
from verifier.presentations.results import credential_result
from verifier.presentations.service import PresentationService
from verifier.protocol import AgentVPError, SigningKey, StatusError
from verifier.protocol.jose import hash_b64
from verifier.protocol.mandates.ap2 import (
    MandateDecision,
    Usage,
    disclosed_checkout_jwt,
    evaluate_chain,
    receipt_error,
)
from verifier.protocol.mandates.ap2_checkout import Checkout, verify_checkout_jwt
from verifier.protocol.mandates.authority import Reason
from verifier.protocol.sdjwt.delegation import (
    DelegationPolicy,
    ProviderKeys,
    VerifiedChain,
    verify_chain,
)
from verifier.store.base import RecordKind, Transaction, TxStatus

__all__ = ["AP2Verifications", "VerificationRequest"]

log = logging.getLogger("agentvp.ap2")
KIND = RecordKind.AP2_VERIFICATION
DEFAULT_POLICY = AP2Policy()
_RENAMED = {"status_invalid": "root_revoked", "status_suspended": "root_suspended"}


@dataclass(frozen=True)
class VerificationRequest:
    challenge_id: str
    mandate: str
    checkout_jwt: str | None = None
    checkout_mandate: str | None = None
    policy: str | None = None


@dataclass
class _Outcome:
    reasons: list[tuple[Reason, str]] = field(default_factory=list)  # (reason, receipt error)
    chain: VerifiedChain | None = None
    decision: MandateDecision | None = None
    usages: list[Usage] = field(default_factory=list)
    status: dict[str, Any] | None = None

    def fail(self, reason: Reason, error: str) -> None:
        self.reasons.append((reason, error))


def _error_reason(exc: AgentVPError, where: str) -> Reason:
    return Reason(_RENAMED.get(exc.code, exc.code), f"{where}: {exc.reason}")


def _peek_mode(mandate: str) -> str:
    """The mode a chain that did not verify claims to be (for the response only)."""
    segments = mandate.count("~~") + 1
    return "autonomous" if segments >= 3 else "direct"


def _reference(outcome: _Outcome, mandate: str) -> str:
    """AP2 receipt ``reference``: the last SD-JWT of the chain, hashed like ``sd_hash``."""
    if outcome.chain is not None:
        return outcome.chain.terminal.sd_hash()
    last = mandate.rsplit("~~", 1)[-1]
    try:
        return hash_b64(last)
    except AgentVPError:
        return hash_b64(last.encode("utf-8", "replace").hex())


class AP2Verifications:
    def __init__(
        self,
        presentations: PresentationService,
        policies: Mapping[str, AP2Policy],
        *,
        providers: ProviderKeys | None,
        signing_key: SigningKey | None,
        issuer: str,
        chain_policy: DelegationPolicy,
        challenge_ttl: int,
    ) -> None:
        self.presentations = presentations
        self.store = presentations.store
        self.policies = dict(policies)
        self.providers = providers
        self.key = signing_key
        self.issuer = issuer
        self.chain_policy = chain_policy
        self.challenges = Challenges(
            presentations.store,
            audience=presentations.config.client_id,
            ttl=challenge_ttl,
            clock=presentations.now,
        )

    def _policy(self, name: str | None) -> AP2Policy:
        if name is None:
            return DEFAULT_POLICY
        policy = self.policies.get(name)
        if policy is None:
            known = ", ".join(sorted(self.policies)) or "none configured"
            raise ServiceError(400, "invalid_request", f"unknown AP2 policy (known: {known})")
        return policy

    async def _event(self, vid: str, kind: str, **data: Any) -> None:
        event = {"type": kind, "at": self.presentations.now(), **data}
        ttl = self.presentations.config.retention + self.challenges.ttl
        await self.store.append_event(f"audit:ap2:{vid}", event, ttl=ttl)

    # ------------------------------------------------------------------ verify

    async def verify(self, request: VerificationRequest) -> dict[str, Any]:
        policy = self._policy(request.policy)
        vid = secrets.token_urlsafe(32)
        outcome = _Outcome()
        challenge, problem = await self.challenges.consume(request.challenge_id)
        await self._event(vid, "created", challenge=hash_b64(request.challenge_id))
        if challenge is None:
            assert problem is not None
            outcome.fail(Reason(problem, "the challenge cannot be used"), "invalid_credential")
        else:
            await self._evaluate(request, challenge, policy, outcome, vid)
        result = await self._finish(vid, request, outcome)
        if challenge is not None:
            keep = ("id", "decision", "mode", "vct", "reasons", "receipt")
            await self.challenges.record_outcome(challenge, {k: result.get(k) for k in keep})
        return result

    async def _chain(self, mandate: str, challenge: Transaction, what: str) -> VerifiedChain:
        prepare = getattr(self.presentations.keys, "prepare", None)
        if prepare is not None:  # metadata-resolved User Credential issuers
            await prepare({"root": [mandate.split("~~", 1)[0] + "~"]})
        try:
            return verify_chain(
                mandate,
                issuers=self.presentations.keys,
                providers=self.providers,
                audience=challenge.client_id,
                nonce=challenge.nonce,
                now=self.presentations.now(),
                policy=self.chain_policy,
            )
        except AgentVPError as exc:
            raise _ChainError(_error_reason(exc, what)) from None

    async def _checkout(
        self, request: VerificationRequest, chains: list[VerifiedChain]
    ) -> Checkout | None:
        token = request.checkout_jwt or next(
            (t for t in map(disclosed_checkout_jwt, chains) if t is not None), None
        )
        if token is None:
            return None
        try:
            return verify_checkout_jwt(
                token,
                merchants=self.presentations.keys,
                now=self.presentations.now(),
                leeway=self.chain_policy.leeway,
                algs=self.chain_policy.algs,
            )
        except AgentVPError as exc:
            raise _ChainError(_error_reason(exc, "checkout_jwt")) from None

    async def _evaluate(
        self,
        request: VerificationRequest,
        challenge: Transaction,
        policy: AP2Policy,
        outcome: _Outcome,
        vid: str,
    ) -> None:
        try:
            outcome.chain = await self._chain(request.mandate, challenge, "mandate")
            other = None
            if request.checkout_mandate is not None:
                other = await self._chain(request.checkout_mandate, challenge, "checkout_mandate")
            checkout = await self._checkout(
                request, [c for c in (other, outcome.chain) if c is not None]
            )
            outcome.status = await self._root_status(outcome.chain, policy)
        except _ChainError as exc:
            outcome.fail(exc.reason, "invalid_credential")
            await self._event(vid, "rule", rule="chain", outcome="fail", codes=[exc.reason.code])
            return
        await self._event(
            vid,
            "rule",
            rule="chain",
            outcome="pass",
            root=outcome.chain.root_kind,
            segments=len(outcome.chain.segments),
        )
        outcome.decision = evaluate_chain(outcome.chain, checkout=checkout, checkout_chain=other)
        outcome.usages = list(outcome.decision.usages)
        for reason in outcome.decision.reasons:
            outcome.fail(reason, receipt_error(reason.code))
        if other is not None:
            side = evaluate_chain(other, checkout=checkout)
            if side.vct not in (None, "mandate.checkout.1"):
                outcome.fail(Reason("checkout_mandate_invalid", f"{side.vct}"), "invalid_mandate")
            for reason in side.reasons:
                outcome.fail(
                    Reason(reason.code, f"checkout_mandate: {reason.detail}"),
                    receipt_error(reason.code),
                )
            outcome.usages += side.usages
        for reason in self._policy_reasons(outcome, policy):
            outcome.fail(
                reason, "invalid_credential" if "identity" in reason.detail else ("invalid_mandate")
            )
        codes = [r.code for r, _ in outcome.reasons]
        await self._event(
            vid, "rule", rule="mandate", outcome="fail" if codes else "pass", codes=codes
        )

    async def _root_status(self, chain: VerifiedChain, policy: AP2Policy) -> dict[str, Any] | None:
        credential = chain.credential
        if credential is None:
            return None
        status = None
        if self.presentations.status is not None:
            try:
                status = await self.presentations.status.check(
                    credential, now=self.presentations.now()
                )
            except StatusError as exc:
                raise _ChainError(_error_reason(exc, "root credential")) from None
        elif credential.status is not None:
            raise _ChainError(Reason("status_list_unavailable", "no status checker configured"))
        if status is None and policy.status_required:
            raise _ChainError(Reason("root_status_missing", "the root has no status entry"))
        return status

    def _policy_reasons(self, outcome: _Outcome, policy: AP2Policy) -> list[Reason]:
        chain, decision = outcome.chain, outcome.decision
        assert chain is not None and decision is not None
        reasons = []
        if decision.mode not in policy.modes:
            reasons.append(Reason("mode_not_accepted", f"{decision.mode} mode is not accepted"))
        if chain.root_kind not in policy.roots:
            reasons.append(Reason("root_not_accepted", f"{chain.root_kind} roots not accepted"))
        if decision.vct is not None and decision.vct not in policy.accepted_vct:
            reasons.append(Reason("mandate_vct_not_accepted", f"{decision.vct}"))
        if policy.identity is not None:
            if chain.credential is None:
                reasons.append(Reason("identity_missing", "identity: no User Credential root"))
            else:
                shim = AgentPolicy(
                    mandate=MandatePolicy(accepted_vct=["ap2"]), identity=policy.identity
                )
                root = credential_result(chain.credential, outcome.status)
                for reason in evaluate_identity(root, None, shim, now=self.presentations.now()):
                    reasons.append(Reason(reason.code, f"identity: {reason.detail}"))
        return reasons

    # ------------------------------------------------------------------ decide

    async def _finish(
        self, vid: str, request: VerificationRequest, outcome: _Outcome
    ) -> dict[str, Any]:
        now = self.presentations.now()
        if not outcome.reasons and outcome.usages:
            counters, failed = await consume_all(self.store, outcome.usages, now=now)
            if failed is not None:
                outcome.fail(failed, receipt_error(failed.code))
                await self._event(vid, "rule", rule="usage", outcome="fail", codes=[failed.code])
            else:
                await self._event(vid, "rule", rule="usage", outcome="pass", counters=counters)
        decision = "reject" if outcome.reasons else "accept"
        codes = [r.code for r, _ in outcome.reasons]
        await self._event(vid, "decision", decision=decision, reasons=codes)
        result = self._view(vid, request, outcome, decision)
        result["receipt"] = await self._receipt(vid, request, outcome, result)
        await self._record(vid, result, now)
        log.info("ap2 decision", extra={"tx": vid, "decision": decision})
        return result

    def _view(
        self, vid: str, request: VerificationRequest, outcome: _Outcome, decision: str
    ) -> dict[str, Any]:
        chain, mandate = outcome.chain, outcome.decision
        view: dict[str, Any] = {
            "id": vid,
            "decision": decision,
            "mode": mandate.mode if mandate is not None else _peek_mode(request.mandate),
            "vct": mandate.vct if mandate is not None else None,
            "mandate": mandate.closed if mandate is not None else None,
            "reasons": [r.as_dict() for r, _ in outcome.reasons],
        }
        if mandate is not None and mandate.opens:
            view["open_mandate"] = mandate.opens[-1]
        if chain is not None:
            view["principal"] = self._principal(chain, outcome.status)
        return view

    @staticmethod
    def _principal(chain: VerifiedChain, status: dict[str, Any] | None) -> dict[str, Any]:
        if chain.credential is None:
            return {"model": chain.root_kind, "provider": chain.provider}
        root = credential_result(chain.credential, status)
        return {
            "model": chain.root_kind,
            "iss": root["iss"],
            "vct": root["vct"],
            "holder_jkt": root["holder_jkt"],
            "claims": root["claims"],
            "status": status,
        }

    async def _receipt(
        self, vid: str, request: VerificationRequest, outcome: _Outcome, view: dict[str, Any]
    ) -> str | None:
        if self.key is None:
            return None
        events = audit_chain(await self.store.read_events(f"audit:ap2:{vid}"))
        claims: dict[str, Any] = {
            "sub": vid,
            "result": "success" if view["decision"] == "accept" else "error",
            "reference": _reference(outcome, request.mandate),
            "mode": view["mode"],
            "vct": view["vct"],
            "reasons": [r["code"] for r in view["reasons"]],
            "audit_head": events[-1]["hash"] if events else "",
            "audit_len": len(events),
        }
        if outcome.reasons:
            first, error = outcome.reasons[0]
            claims["error"] = error
            claims["error_description"] = f"{first.code}: {first.detail}"[:300]
        return sign_ap2_receipt(self.key, claims, issuer=self.issuer, now=self.presentations.now())

    async def _record(self, vid: str, result: dict[str, Any], now: int) -> None:
        record = Transaction(
            id=vid,
            request_id=f"ap2v:{vid}",
            state="",
            nonce="",
            client_id="",
            status=TxStatus.VERIFIED if result["decision"] == "accept" else TxStatus.REJECTED,
            created_at=now,
            expires_at=now,
            purpose="ap2_verification",
            kind=KIND,
            result={k: v for k, v in result.items() if k != "principal"},
        )
        await self.store.create(record, retain_until=now + self.presentations.config.retention)

    async def audit(self, vid: str) -> list[dict[str, Any]]:
        if await self.store.get(vid, kind=KIND) is None:
            raise ServiceError(404, "not_found", "no such AP2 verification")
        return audit_chain(await self.store.read_events(f"audit:ap2:{vid}"))


class _ChainError(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason
