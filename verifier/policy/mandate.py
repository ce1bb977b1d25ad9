"""The relying party's mandate policy (agent-mandates §6.2 steps 2, 5-7) over a verified mandate.

Input is the stored result of a verified presentation (``result.credentials[...]`` entry), so an
agent verification can be decided by any instance. The stateless authority table is shared with the
agent holder (:mod:`verifier.protocol.mandates.authority`); this module adds what only the RP
decides: accepted types, issuers and operators, maximum validity, a required status list, required
actions, its own per-transaction limits, its own payee domain (anti-relay) and KB-JWT freshness.
Uses and budget are enforced afterwards, atomically, by the agent verification service.
"""

from __future__ import annotations

from typing import Any

from verifier.policy.members import list_at, obj_at
from verifier.policy.rules import AgentPolicy
from verifier.protocol.mandates.authority import AgentAction, Reason, evaluate_authority

__all__ = ["evaluate_mandate", "mandate_claims"]


def mandate_claims(result: dict[str, Any]) -> dict[str, Any]:
    """The mandate's processed claims with its validity claims put back."""
    return {
        **result["claims"],
        **{k: result.get(k) for k in ("iat", "nbf", "exp") if result.get(k)},
    }


def _status_reasons(result: dict[str, Any], required: bool) -> list[Reason]:
    status = result.get("status")
    if status is None:
        return (
            [Reason("mandate_status_missing", "the mandate has no status list entry")]
            if required
            else []
        )
    if status.get("status") != "valid":
        return [Reason("mandate_status_unknown", f"mandate status is {status.get('status')!r}")]
    return []


def evaluate_mandate(
    result: dict[str, Any],
    action: AgentAction,
    policy: AgentPolicy,
    *,
    now: int,
    leeway: int = 60,
) -> list[Reason]:
    """Every rule the mandate presentation breaks for ``action`` under ``policy``."""
    rules = policy.mandate
    claims = mandate_claims(result)
    reasons: list[Reason] = []
    if result.get("vct") not in rules.accepted_vct:
        reasons.append(Reason("mandate_vct_not_accepted", f"vct {result.get('vct')!r}"))
    if rules.accepted_issuers is not None and result.get("iss") not in rules.accepted_issuers:
        reasons.append(Reason("mandate_issuer_not_accepted", f"issuer {result.get('iss')!r}"))
    start, exp = claims.get("nbf") or claims.get("iat"), claims.get("exp")
    if (
        isinstance(start, int | float)
        and isinstance(exp, int | float)
        and exp - start > rules.max_validity
    ):
        reasons.append(
            Reason("mandate_validity_too_long", f"{int(exp - start)} s > {rules.max_validity} s")
        )
    reasons += _status_reasons(result, rules.status_required)
    authority = obj_at(claims, "authority")
    granted = list_at(authority, "actions")
    for required in rules.required_actions:
        if required not in granted:
            reasons.append(Reason("required_action_missing", f"{required!r} is not granted"))
    agent = obj_at(claims, "agent")
    operator = (
        (agent.get("operator") or {}).get("id") if isinstance(agent.get("operator"), dict) else None
    )
    if rules.accepted_operators is not None and operator not in rules.accepted_operators:
        reasons.append(Reason("operator_not_accepted", f"operator {operator!r}"))
    delegation = obj_at(claims, "delegation")
    if (
        not isinstance(delegation.get("depth", 0), int)
        or delegation.get("depth", 0) > rules.max_delegation_depth
    ):
        reasons.append(Reason("delegation_not_supported", "re-delegated mandates are not accepted"))
    tx = policy.transaction
    reasons += evaluate_authority(claims, action, now=now, rp_domain=tx.payee_domain, leeway=leeway)
    if tx.payee_domain is not None and (
        action.payee is None or action.payee.domain != tx.payee_domain
    ):
        reasons.append(Reason("payee_domain_mismatch", f"the payee is not {tx.payee_domain}"))
    amount = action.payment_amount
    limit = tx.rp_limits.get(amount.currency) if amount is not None else None
    if amount is not None and limit is not None and amount.amount > limit.per_tx_max_minor:
        reasons.append(
            Reason(
                "amount_exceeds_rp_limit",
                f"{amount.amount} > {limit.per_tx_max_minor} {amount.currency}",
            )
        )
    kb_iat = result.get("kb_iat")
    if isinstance(kb_iat, int) and now - kb_iat > tx.kb_max_age:
        reasons.append(
            Reason("kb_too_old", f"KB-JWT is {now - kb_iat} s old (max {tx.kb_max_age})")
        )
    return reasons
