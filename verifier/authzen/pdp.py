"""The policy decision point: one AuthZEN evaluation over a grant, by the agent verification rules.

Mapping (AuthZEN §5 onto agentvp):

- ``subject`` - a grant (:mod:`verifier.authzen.subjects`);
- ``action.name`` - ``tools/call`` (an MCP tool call: the action is the one the token grants, the
  ``resource`` must be ``{"type": "tool", "id": <tool>, "properties": {"server": <the token's
  aud>}}``), or a mandate action such as ``payment.initiate``;
- ``resource`` of type ``payee`` (``id``, ``properties.domain``, ``properties.name``) names the
  payee; otherwise the payee is the grant's;
- ``context`` - ``amount`` (integer minor units) with ``currency``, ``transaction_id``; each
  missing one is the grant's own. ``execute: true`` asks to *perform* the action (below).

The decision runs the rules of an agent verification, never a copy of them: the mandate rules
(:func:`verifier.policy.mandate.evaluate_mandate`, without the KB-JWT age: the presentation was
accepted when the grant was made), revocation (the watcher's mark and the status list, afresh:
:func:`verifier.agents.revalidation.mandate_revoked`), the identity policy
(:func:`verifier.policy.identity.identity_required` / ``evaluate_identity``) and the counters
(:mod:`verifier.agents.counters`).

**Check versus execute.** Without ``context.execute`` an evaluation only *checks*: nothing is
consumed, the answer says whether the action would be allowed now. With ``"execute": true`` an
allowed action is consumed atomically in the store: the grant's own action (its
``transaction_id``) is single-use (a second execute is ``already_executed``), any other action
takes one use and its amount from the mandate's ``max_uses`` and ``budget``
(``uses_exhausted``/``budget_exhausted`` once they would be exceeded).

**Step-up.** When the identity policy wants the person for this action and the grant has no
identity presentation, the answer is ``false`` with ``context.step_up`` = ``{reason, url,
request_uri, expires_at}``: a wallet request for the identity credential bound to the action.
Once the person has answered it, the same evaluation is decided with that identity, linked to
the mandate by its ``principal.jkt`` (which an agent verification under a policy with identity
rules always asks for: :func:`verifier.policy.identity.identity_link_needed`). A grant whose
mandate did not disclose it (made before the policy had identity rules) is denied at once with
``principal_link_missing``: no answer of the person could be linked to it. The identity answered
is re-checked at every later decision resting on it (``identity_revoked``) and handed to the
grant watcher (:meth:`verifier.agents.grants.GrantIndex.watch_step_up`).

A denial carries one AuthZEN Reason Object per failed rule in ``context.reasons``
(``{"id": <code>, "reason_admin": {"en": <detail>}}``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from verifier.agents.counters import consume, mandate_key
from verifier.agents.grants import (
    GrantIndex,
    identity_revoked_mark,
    is_revoked,
    token_is_revoked,
)
from verifier.agents.revalidation import mandate_revoked, uses_spent_by_later_actions
from verifier.agents.step_up_dc_api import step_up_spec
from verifier.agents.verifications import AgentVerifications
from verifier.authzen.requests import Evaluation, Semantic
from verifier.authzen.subjects import Grant, SubjectResolver, UnknownSubjectError
from verifier.policy.identity import evaluate_identity, identity_required
from verifier.policy.mandate import evaluate_mandate, mandate_claims
from verifier.policy.rules import AgentPolicy
from verifier.protocol.mandates.authority import AgentAction, Reason, limits_of
from verifier.store.base import RecordKind, TxStatus

__all__ = ["PDP", "Decision"]

TOOL_CALL = "tools/call"


@dataclass(frozen=True)
class Decision:
    decision: bool
    context: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"decision": self.decision, **({"context": self.context} if self.context else {})}


def _deny(reasons: list[Reason], **extra: Any) -> Decision:
    objects = [{"id": r.code, "reason_admin": {"en": r.detail}} for r in reasons]
    return Decision(False, {"reasons": objects, **extra})


class PDP:
    def __init__(
        self,
        agents: AgentVerifications,
        subjects: SubjectResolver,
        grants: GrantIndex | None = None,
    ) -> None:
        self.agents = agents
        self.grants = grants  # watches the identities answered at step-ups
        self.presentations = agents.presentations
        self.store = agents.store
        self.subjects = subjects

    async def evaluate_all(
        self, evaluations: list[Evaluation], semantic: Semantic
    ) -> list[Decision]:
        """A batch in request order, short-circuited as ``semantic`` says (AuthZEN §7.1.2)."""
        answers = []
        for evaluation in evaluations:
            answer = await self.evaluate(evaluation)
            answers.append(answer)
            if semantic == "deny_on_first_deny" and not answer.decision:
                break
            if semantic == "permit_on_first_permit" and answer.decision:
                break
        return answers

    async def evaluate(self, ev: Evaluation) -> Decision:
        prepared = await self._prepare(ev)
        if isinstance(prepared, Decision):
            return prepared
        grant, policy, action, execute = prepared
        now = self.presentations.now()
        reasons = evaluate_mandate(grant.mandate, action, policy, now=now, kb_age=False)
        reasons += await self._revocation(grant, now)
        if reasons:
            return _deny(reasons)
        identity = await self._identity(grant, policy, action)
        if isinstance(identity, Decision):
            return identity
        if identity is not None:
            reasons = evaluate_identity(identity, grant.mandate, policy, now=now)
            if reasons:
                return _deny(reasons)
        return await self._counters(grant, action, execute=execute)

    async def _prepare(
        self, ev: Evaluation
    ) -> tuple[Grant, AgentPolicy, AgentAction, bool] | Decision:
        """The grant, its policy, the action asked about and whether to execute it; or the
        denial when one of them is missing."""
        subject = ev.subject
        try:
            grant = await self.subjects.resolve(subject.type, subject.id, subject.properties)
        except UnknownSubjectError as exc:
            return _deny([Reason(exc.code, exc.description)])
        if grant.expires_at is not None and self.presentations.now() >= grant.expires_at:
            return _deny([Reason("token_inactive", "the token has expired")])
        policy = self.agents.policies.get(grant.policy)
        if policy is None:
            return _deny([Reason("policy_removed", "the grant's policy no longer exists")])
        execute = ev.context.get("execute", False)
        if not isinstance(execute, bool):
            return _deny([Reason("invalid_context", "context.execute must be a boolean")])
        action = self._action(ev, grant)
        if isinstance(action, Reason):
            return _deny([action])
        return grant, policy, action, execute

    # ---------------------------------------------------------------- action

    def _action(self, ev: Evaluation, grant: Grant) -> AgentAction | Reason:
        base: dict[str, Any] = dict(grant.verification.meta["action"])
        name = ev.action
        if name == TOOL_CALL:
            if ev.resource.type != "tool":
                return Reason("resource_not_a_tool", "tools/call needs a resource of type tool")
            server = ev.resource.properties.get("server")
            if grant.audience is not None and server != grant.audience:
                return Reason("audience_mismatch", f"the token is for {grant.audience}")
            name = str(base["action"])
        action = {**base, "action": name}
        if ev.resource.type == "payee":
            props = ev.resource.properties
            action["payee"] = {
                "id": ev.resource.id,
                "domain": props.get("domain"),
                "name": props.get("name", ""),
            }
        context = ev.context
        if "amount" in context or "currency" in context:
            action["payment_amount"] = {
                "amount": context.get("amount"),
                "currency": context.get("currency"),
            }
        if "transaction_id" in context:
            action["transaction_id"] = context["transaction_id"]
        try:
            return AgentAction.model_validate(action)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return Reason("invalid_context", f"{where}: {first.get('msg')}")

    # ---------------------------------------------------------------- revocation

    async def _revocation(self, grant: Grant, now: int) -> list[Reason]:
        status = self.presentations.status
        key = mandate_key(grant.mandate)
        if await is_revoked(self.store, key) or await mandate_revoked(
            grant.mandate, status, now=now
        ):
            return [Reason("mandate_revoked", "the mandate's status is no longer valid")]
        if grant.token is not None and await token_is_revoked(self.store, grant.token.get("jti")):
            return [Reason("token_revoked", "the token was revoked")]
        if grant.identity is not None:
            return await self._identity_revoked(grant.identity, now)
        return []

    async def _identity_revoked(self, identity: dict[str, Any], now: int) -> list[Reason]:
        """The identity credential's revocation: the grant watcher's mark, or its list now."""
        status = self.presentations.status
        if await identity_revoked_mark(self.store, identity) or await mandate_revoked(
            identity, status, now=now
        ):
            return [
                Reason("identity_revoked", "the identity credential's status is no longer valid")
            ]
        return []

    # ---------------------------------------------------------------- identity / step-up

    async def _identity(
        self, grant: Grant, policy: AgentPolicy, action: AgentAction
    ) -> dict[str, Any] | Decision | None:
        """The identity to evaluate, None when the policy does not need one, or the step-up
        obligation when the person has not answered for this action yet."""
        if grant.identity is not None:
            return grant.identity
        if not identity_required(policy, action, first_use=False):
            return None
        principal = grant.mandate["claims"].get("principal")
        if not isinstance(principal, dict) or not isinstance(principal.get("jkt"), str):
            # No identity could ever be linked to this grant: do not send the person to a wallet.
            detail = "the grant's mandate did not disclose principal.jkt: verify the agent again"
            return _deny([Reason("principal_link_missing", detail)])
        digest = hashlib.sha256(
            json.dumps(action.model_dump(exclude_none=True), sort_keys=True).encode()
        ).hexdigest()[:32]
        stream = f"authzen:step_up:{grant.verification.id}:{digest}"
        for event in reversed(await self.store.read_events(stream)):
            tx = await self.store.get(str(event["tx"]), kind=RecordKind.PRESENTATION)
            if tx is None:
                continue
            if tx.status == TxStatus.VERIFIED and tx.result:
                identity: dict[str, Any] = tx.result["credentials"]["identity"][0]
                await self._watch_step_up(grant, tx.id, identity)
                revoked = await self._identity_revoked(identity, self.presentations.now())
                return _deny(revoked) if revoked else identity
            if not tx.final:
                return self._step_up(tx.id, tx.expires_at, tx)
        tx = await self.presentations.create(step_up_spec(policy, action, None), purpose="human")
        ttl = self.presentations.config.ttl + self.presentations.config.retention
        await self.store.append_event(stream, {"tx": tx.id}, ttl=ttl)
        return self._step_up(tx.id, tx.expires_at, tx)

    async def _watch_step_up(self, grant: Grant, tx_id: str, identity: dict[str, Any]) -> None:
        """Hand the step-up's identity to the grant watcher, once (whoever decides first)."""
        if self.grants is None:
            return
        marker = f"authzen:step_up_watched:{tx_id}"
        ttl = max(grant.verification.expires_at - self.presentations.now(), 0) + 86400
        if await self.store.add_within(marker, {"n": 1}, {"n": 1}, ttl=ttl) is not None:
            await self.grants.watch_step_up(grant.verification, identity)

    def _step_up(self, tx_id: str, expires_at: int, tx: Any) -> Decision:
        obligation = {
            "reason": "identity_required",
            "url": self.presentations.authorization_request_uri(tx),
            "request_uri": self.presentations.request_uri(tx),
            "expires_at": expires_at,
        }
        reason = Reason("step_up_required", "the policy needs the person for this action")
        return _deny([reason], step_up=obligation)

    # ---------------------------------------------------------------- counters

    async def _counters(self, grant: Grant, action: AgentAction, *, execute: bool) -> Decision:
        av = grant.verification
        allowed = {"verification_id": av.id, "mandate_jti": action.mandate_jti, "executed": execute}
        base = AgentAction.model_validate(av.meta["action"])
        if action.transaction_id == base.transaction_id:  # the grant's own, already counted
            if action != base.model_copy(update={"action": action.action}):
                return _deny([Reason("action_differs_from_grant", "not the action granted")])
            reason = await self._own_action(grant, execute=execute)
            return _deny([reason]) if reason else Decision(True, allowed)
        counters = await self._new_action(grant, action, execute=execute)
        if isinstance(counters, Reason):
            return _deny([counters])
        return Decision(True, {**allowed, **({"counters": counters} if execute else {})})

    async def _own_action(self, grant: Grant, *, execute: bool) -> Reason | None:
        """The granted action: still good unless later actions spent the mandate; single-use
        when executed."""
        av, mandate = grant.verification, grant.mandate
        if await uses_spent_by_later_actions(self.store, av.id, mandate):
            return Reason("uses_exhausted", "later actions used the mandate up")
        marker = f"authzen:executed:{av.id}"
        done = Reason("already_executed", "the granted action was executed already")
        if not execute:
            return done if (await self.store.get_counters(marker)).get("n") else None
        taken = await self.store.add_within(marker, {"n": 1}, {"n": 1}, ttl=self._ttl(mandate))
        return None if taken is not None else done

    async def _new_action(
        self, grant: Grant, action: AgentAction, *, execute: bool
    ) -> dict[str, int] | Reason:
        """Another action under the mandate: checked against, or taken from, its counters."""
        mandate = grant.mandate
        limits = limits_of(mandate_claims(mandate))
        amount = action.payment_amount.amount if action.payment_amount is not None else 0
        key = mandate_key(mandate)
        if execute:
            return await consume(
                self.store,
                key,
                amount=amount,
                max_uses=limits.max_uses,
                budget=limits.budget,
                ttl=self._ttl(mandate),
            )
        now = await self.store.get_counters(key)
        if limits.max_uses is not None and now.get("uses", 0) + 1 > limits.max_uses:
            return Reason("uses_exhausted", f"{limits.max_uses} uses already made")
        if limits.budget is not None and now.get("spent", 0) + amount > limits.budget:
            spent = now.get("spent", 0)
            return Reason("budget_exhausted", f"{spent} + {amount} > {limits.budget}")
        return now

    def _ttl(self, mandate: Mapping[str, Any]) -> int:
        return max(int(mandate.get("exp") or 0) - self.presentations.now(), 0) + 86400
