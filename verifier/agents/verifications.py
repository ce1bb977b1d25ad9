"""Agent verifications: "may this agent do this, for whom, and is that person who they say?"

One verification = an action under a named policy, answered by one or two presentations:

1. the **agent's** request (created at once): the mandate, with the action as
   ``transaction_data`` the agent's KB-JWT must bind;
2. the **human's** request (step-up), carrying the same action, when the policy's
   ``required_when`` rules say so - known at creation (amount, always) or after the mandate
   names its principal (first use of that principal at this RP); cross-device by default, or
   over the Digital Credentials API (:mod:`.step_up_dc_api`).

The decision (agent-mandates §6.2) is taken by whichever instance sees the last needed
presentation become final (or by any read of the verification), exactly once: the winner of a
compare-and-set moves the record to "deciding" under a lease (:mod:`.lease`), evaluates the
mandate and identity rules, consumes the mandate's uses and budget atomically **only** if
everything else passed (once per verification, however often the decision runs), and records
``allow`` or ``deny`` with one reason code per failed rule, a signed receipt and the final audit
events. A decision whose instance died is taken over by the next instance that reads the
verification once the lease has run out. Nothing here trusts the agent or the wallet beyond what
was verified.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier.agents.audit import chain
from verifier.agents.counters import (
    consume,
    mandate_key,
    principal_allowed_before,
    remember_principal,
)
from verifier.agents.decision_summary import decision_summary
from verifier.agents.lease import acquire, holds_expired_lease, lease_of
from verifier.agents.receipts import receipt_claims, sign_receipt
from verifier.agents.step_up_dc_api import human_flow_meta, step_up_spec
from verifier.errors import ServiceError
from verifier.policy.identity import evaluate_identity, identity_link_needed, identity_required
from verifier.policy.mandate import evaluate_mandate, mandate_claims
from verifier.policy.queries import mandate_query, transaction_data
from verifier.policy.rules import AgentPolicy
from verifier.presentations.create import CreatePresentation
from verifier.presentations.service import PresentationService
from verifier.protocol import SigningKey
from verifier.protocol.jose import hash_b64
from verifier.protocol.mandates.authority import AgentAction, Reason, limits_of
from verifier.store.base import RecordKind, Transaction, TxStatus

__all__ = ["AgentVerifications"]

log = logging.getLogger("agentvp.agents")
PURPOSE = "agent_verification"
KIND = RecordKind.AGENT_VERIFICATION
# Presentation failures renamed where the credential's own state is the reason.
_RENAMED = {
    "agent": {
        "status_invalid": "mandate_revoked",
        "status_suspended": "mandate_suspended",
        "credential_expired": "mandate_expired",
        "credential_not_yet_valid": "mandate_not_yet_valid",
    },
    "human": {
        "status_invalid": "identity_revoked",
        "status_suspended": "identity_suspended",
        "credential_expired": "identity_expired",
        "claim_missing": "required_claim_missing",
    },
}


@dataclass(frozen=True)
class _Verdict:
    """What the rules say: reasons (empty = all passed) and what they looked at."""

    reasons: list[Reason]
    mandate: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    action: AgentAction | None = None
    rule: str | None = None


class AgentVerifications:
    def __init__(
        self,
        presentations: PresentationService,
        policies: Mapping[str, AgentPolicy],
        *,
        signing_key: SigningKey | None,
        issuer: str,
        lease_seconds: int = 30,
        pause: float = 0.0,
    ) -> None:
        """``lease_seconds``: how long a decision may run before another instance takes it
        over; ``pause``: test only (fault injection), seconds a decision waits after consuming
        the counters and before recording its result (0: none)."""
        self.presentations = presentations
        self.store = presentations.store
        self.policies = dict(policies)
        self.key = signing_key
        self.issuer = issuer
        self.lease_seconds = lease_seconds
        self.pause = pause
        presentations.listeners.append(self._on_presentation)

    def _retention(self) -> int:
        return self.presentations.config.ttl + self.presentations.config.retention

    async def _event(self, av_id: str, kind: str, **data: Any) -> None:
        event = {"type": kind, "at": self.presentations.now(), **data}
        await self.store.append_event(f"audit:{av_id}", event, ttl=self._retention())

    async def record_event(self, av_id: str, kind: str, **data: Any) -> None:
        """Append an event to the verification's audit chain."""
        await self._event(av_id, kind, **data)

    # -------------------------------------------------------------- create / read

    async def create(
        self,
        policy_name: str,
        action: AgentAction,
        *,
        callback_url: str | None = None,
        origin: str | None = None,
        human_flow: Mapping[str, Any] | None = None,
    ) -> Transaction:
        """A new verification; ``origin`` marks who made it (the demo page only shows its own);
        ``human_flow`` - the options of :func:`~.step_up_dc_api.human_flow_meta` - asks the
        person over the Digital Credentials API instead of by QR code."""
        policy = self.policies.get(policy_name)
        if policy is None:
            known = ", ".join(sorted(self.policies)) or "none configured"
            raise ServiceError(400, "invalid_request", f"unknown policy (known: {known})")
        if human_flow is not None:
            human_flow = human_flow_meta(self.presentations, policy, **human_flow)
        av_id = secrets.token_urlsafe(32)
        now_needed = identity_required(policy, action, first_use=False)
        may_need = policy.identity is not None and (
            now_needed or any(r.first_use_of_principal for r in policy.identity.required_when)
        )
        td = transaction_data(policy, action, "mandate")
        agent_tx = await self.presentations.create(
            CreatePresentation(
                dcql_query=mandate_query(policy, action, want_jkt=identity_link_needed(policy)),
                transaction_data=[td],
            ),
            purpose="agent",
            parent_id=av_id,
        )
        now = self.presentations.now()
        av = Transaction(
            id=av_id,
            request_id=f"av:{av_id}",
            state="",
            nonce="",
            client_id="",
            created_at=now,
            expires_at=agent_tx.expires_at + (self.presentations.config.ttl if may_need else 0),
            purpose=PURPOSE,
            kind=KIND,
            callback_url=callback_url,
            meta={
                "policy": policy_name,
                "action": action.model_dump(exclude_none=True),
                "action_hash": hash_b64(agent_tx.transaction_data[0]),
                "agent_tx": agent_tx.id,
                "human_tx": None,
                **({"origin": origin} if origin else {}),
                **({"human_flow": dict(human_flow)} if human_flow else {}),
            },
        )
        await self.store.create(
            av, retain_until=av.expires_at + self.presentations.config.retention
        )
        await self._event(
            av_id,
            "created",
            policy=policy_name,
            action_hash=av.meta["action_hash"],
            agent_tx=agent_tx.id,
        )
        if now_needed:
            av = await self._open_step_up(av, policy, action, trigger="policy") or av
        return av

    async def get(self, av_id: str) -> Transaction:
        av = await self.store.get(av_id, kind=KIND)
        if av is None:
            raise ServiceError(404, "not_found", "no such agent verification")
        return await self.evaluate(av)

    async def audit(self, av_id: str) -> list[dict[str, Any]]:
        await self.get(av_id)
        return chain(await self.store.read_events(f"audit:{av_id}"))

    async def _on_presentation(self, event: str, tx: Transaction) -> None:
        if tx.parent_id is None or tx.purpose not in ("agent", "human"):
            return
        if event not in ("request_retrieved", "final"):
            return
        if event == "request_retrieved":
            await self._event(tx.parent_id, "request_retrieved", role=tx.purpose, tx=tx.id)
            return
        detail: dict[str, Any] = {"role": tx.purpose, "tx": tx.id, "status": tx.status}
        if tx.error:
            detail["code"] = tx.error.get("code")
        if tx.result:
            detail["presentation_hashes"] = [
                c.get("presentation_sha256")
                for items in tx.result["credentials"].values()
                for c in items
            ]
        await self._event(tx.parent_id, "response_received", **detail)
        av = await self.store.get(tx.parent_id, kind=KIND)
        if av is not None:
            await self.evaluate(av)

    # -------------------------------------------------------------- decide

    async def _open_step_up(
        self, av: Transaction, policy: AgentPolicy, action: AgentAction, *, trigger: str
    ) -> Transaction | None:
        """Create the human's request once (compare-and-set on the record)."""
        human = await self.presentations.create(
            step_up_spec(policy, action, av.meta.get("human_flow")),
            purpose="human",
            parent_id=av.id,
        )
        updated = await self.store.update_if(
            av.id, {"meta": av.meta}, {"meta": {**av.meta, "human_tx": human.id}}, kind=KIND
        )
        if updated is not None:
            await self._event(av.id, "step_up_required", trigger=trigger, human_tx=human.id)
        return updated

    async def _child(self, tx_id: str | None) -> Transaction | None:
        return None if tx_id is None else await self.presentations.get(tx_id)

    async def evaluate(self, av: Transaction) -> Transaction:
        """Decide if every needed presentation is final (or finish a decision whose lease ran
        out); otherwise leave it as it is."""
        now = self.presentations.now()
        if av.status != TxStatus.PENDING and not holds_expired_lease(av, now=now):
            return av
        verdict = await self._assess(av)
        if verdict is None:
            return (await self.store.get(av.id, kind=KIND)) or av
        return await self._decide(av, verdict)

    async def _assess(self, av: Transaction) -> _Verdict | None:
        """The verdict once it can be given; None while a presentation is outstanding."""
        policy = self.policies.get(av.meta["policy"])
        if policy is None:
            return _Verdict([Reason("policy_removed", "the policy no longer exists")])
        action = AgentAction.model_validate(av.meta["action"])
        agent = await self._child(av.meta["agent_tx"])
        if agent is None or not agent.final:
            return None
        if agent.status != TxStatus.VERIFIED or not agent.result:
            return _Verdict([self._failure("agent", agent)])
        mandate = agent.result["credentials"]["mandate"][0]
        reasons = evaluate_mandate(mandate, action, policy, now=self.presentations.now())
        if reasons:
            return _Verdict(reasons, mandate, rule="mandate")
        if policy.identity is None or not await self._needs_human(av, policy, action, mandate):
            return _Verdict([], mandate, action=action)
        return await self._assess_human(av, policy, action, mandate)

    async def _assess_human(
        self, av: Transaction, policy: AgentPolicy, action: AgentAction, mandate: dict[str, Any]
    ) -> _Verdict | None:
        if av.meta["human_tx"] is None:
            await self._open_step_up(av, policy, action, trigger="first_use_of_principal")
            return None
        human = await self._child(av.meta["human_tx"])
        if human is None or not human.final:
            return None
        if human.status != TxStatus.VERIFIED or not human.result:
            return _Verdict([self._failure("human", human)], mandate)
        identity = human.result["credentials"]["identity"][0]
        reasons = evaluate_identity(identity, mandate, policy, now=self.presentations.now())
        return _Verdict(reasons, mandate, identity, action, "identity" if reasons else None)

    async def _needs_human(
        self, av: Transaction, policy: AgentPolicy, action: AgentAction, mandate: dict[str, Any]
    ) -> bool:
        if av.meta["human_tx"] is not None:
            return True
        return identity_required(policy, action, first_use=await self._first_use(av, mandate))

    async def _first_use(self, av: Transaction, mandate: dict[str, Any]) -> bool | None:
        principal = mandate.get("claims", {}).get("principal") or {}
        jkt = principal.get("jkt") if isinstance(principal, dict) else None
        if not isinstance(jkt, str):
            return None
        return not await principal_allowed_before(self.store, av.meta["policy"], jkt)

    @staticmethod
    def _failure(role: str, tx: Transaction) -> Reason:
        error = tx.error or {}
        code = str(error.get("code", tx.status))
        if tx.status == TxStatus.EXPIRED:
            return Reason(
                f"{role}_request_expired" if role == "agent" else "step_up_expired",
                "no answer in time",
            )
        if error.get("source") == "wallet":
            name = "agent_declined" if role == "agent" else "step_up_declined"
            who = "agent" if role == "agent" else "wallet"
            said = str(error.get("detail") or "").strip()
            # The holder's own words (its error_description), quoted and marked as such.
            words = f'; the {who} says: "{said}"' if said else ""
            return Reason(name, f"the {who} answered {code}{words}")
        return Reason(_RENAMED[role].get(code, code), str(error.get("detail", "")))

    async def _decide(self, av: Transaction, verdict: _Verdict) -> Transaction:
        reasons, mandate, identity = list(verdict.reasons), verdict.mandate, verdict.identity
        action, rule = verdict.action, verdict.rule
        taken_from = lease_of(av)
        claimed = await acquire(
            self.store, av, now=self.presentations.now(), seconds=self.lease_seconds
        )
        if claimed is None:  # another instance decides
            return (await self.store.get(av.id, kind=KIND)) or av
        if taken_from is not None:
            log.warning("agent decision taken over", extra={"tx": av.id})
            await self._event(av.id, "lease_taken_over", expired_at=taken_from["until"])
        if rule is not None:
            await self._event(
                av.id, "rule", rule=rule, outcome="fail", codes=[r.code for r in reasons]
            )
        elif mandate is not None:
            await self._event(av.id, "rule", rule="mandate", outcome="pass")
            if identity is not None:
                await self._event(av.id, "rule", rule="identity", outcome="pass")
        if not reasons and mandate is not None and action is not None:
            reasons = await self._consume(av, mandate, action, identity)
        decision = "deny" if reasons else "allow"
        await self._event(av.id, "decision", decision=decision, reasons=[r.code for r in reasons])
        policy = self.policies.get(av.meta["policy"])
        rp_domain = policy.transaction.payee_domain if policy is not None else None
        result = decision_summary(decision, reasons, mandate, identity, rp_domain=rp_domain)
        result["receipt"] = await self._receipt(av, result, mandate, identity)
        final = TxStatus.REJECTED if reasons else TxStatus.VERIFIED
        if self.pause:  # test only: a window in which to kill this instance mid-decision
            await asyncio.sleep(self.pause)
        done = await self.store.update_if(  # only while this attempt still holds the lease
            av.id,
            {"status": TxStatus.REQUEST_RETRIEVED, "meta": claimed.meta},
            {"status": final, "result": result},
            kind=KIND,
        )
        log.info("agent decision", extra={"tx": av.id, "decision": decision})
        if done is not None:
            await self.presentations.notify("final", done)  # webhooks, metrics
        return done or av

    async def _consume(
        self,
        av: Transaction,
        mandate: dict[str, Any],
        action: AgentAction,
        identity: dict[str, Any] | None,
    ) -> list[Reason]:
        """Uses and budget, atomically; only called when every other rule passed."""
        limits = limits_of(mandate_claims(mandate))
        amount = action.payment_amount.amount if action.payment_amount is not None else 0
        ttl = max(int(mandate.get("exp") or 0) - self.presentations.now(), 0) + 86400
        counters = await consume(
            self.store,
            mandate_key(mandate),
            amount=amount,
            max_uses=limits.max_uses,
            budget=limits.budget,
            ttl=ttl,
            once=av.id,
        )
        if isinstance(counters, Reason):
            await self._event(av.id, "rule", rule="counters", outcome="fail", codes=[counters.code])
            return [counters]
        await self._event(
            av.id,
            "rule",
            rule="counters",
            outcome="pass",
            uses=counters.get("uses"),
            spent=counters.get("spent"),
        )
        jkt = (mandate["claims"].get("principal") or {}).get("jkt")
        if identity is not None and isinstance(jkt, str):
            await remember_principal(self.store, av.meta["policy"], jkt)
        return []

    async def _receipt(
        self,
        av: Transaction,
        result: dict[str, Any],
        mandate: dict[str, Any] | None,
        identity: dict[str, Any] | None,
    ) -> str | None:
        if self.key is None:
            return None
        claims = receipt_claims(
            av.id,
            policy=av.meta["policy"],
            action_hash=av.meta["action_hash"],
            result=result,
            mandate=mandate,
            identity=identity,
            audit=chain(await self.store.read_events(f"audit:{av.id}")),
        )
        return sign_receipt(self.key, claims, issuer=self.issuer, now=self.presentations.now())
