"""The relying party's mandate policy (agent-mandates §6.2 steps 2, 5-7) over a verified mandate.

Input is the stored result of a verified presentation (``result.credentials[...]`` entry), so an
agent verification can be decided by any instance. The stateless authority table is shared with the
agent holder (:mod:`verifier.protocol.mandates.authority`); this module adds what only the RP
decides: accepted types, issuers and operators, maximum validity, a required status list, required
actions, its own per-transaction limits, its own payee domain (anti-relay) and KB-JWT freshness.
Uses and budget are enforced afterwards, atomically, by the agent verification service.

Fail closed: the result's ``sd_layout`` must say where the disclosures were (else
``mandate_restriction_undisclosed``), a rule that needs a claim denies when it is absent
(``mandate_validity_unknown`` without ``nbf``/``iat``, ``mandate_unbounded`` without ``exp``,
``kb_iat_missing``), and a mandate that cannot be read exactly is refused before any RP rule.
"""

from __future__ import annotations

from typing import Any

from verifier.policy.members import list_at, obj_at
from verifier.policy.rules import AgentPolicy, MandatePolicy, TransactionPolicy
from verifier.protocol.mandates.authority import (
    AgentAction,
    Reason,
    evaluate_authority,
    mandate_problems,
)
from verifier.protocol.mandates.constraints import delegation_depth
from verifier.protocol.sdjwt.layout import SDLayout

__all__ = ["evaluate_mandate", "mandate_claims", "mandate_layout"]


def mandate_claims(result: dict[str, Any]) -> dict[str, Any]:
    """The mandate's processed claims with its validity claims put back."""
    return {
        **result["claims"],
        **{k: result[k] for k in ("iat", "nbf", "exp") if result.get(k) is not None},
    }


def mandate_layout(result: dict[str, Any]) -> SDLayout | None:
    """Where the presentation's disclosures were; None when the result does not say."""
    try:
        return SDLayout.from_json(result.get("sd_layout"))
    except ValueError:
        return None


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


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _validity_reasons(claims: dict[str, Any], rules: MandatePolicy) -> list[Reason]:
    """``max_validity`` needs a start (``nbf``, else ``iat``): without one it denies."""
    start = _number(claims.get("nbf"))
    start = start if start is not None else _number(claims.get("iat"))
    exp = _number(claims.get("exp"))
    if start is None:
        return [Reason("mandate_validity_unknown", "neither nbf nor iat: max_validity unchecked")]
    if exp is not None and exp - start > rules.max_validity:
        return [
            Reason("mandate_validity_too_long", f"{int(exp - start)} s > {rules.max_validity} s")
        ]
    return []


def _issuer_reasons(result: dict[str, Any], rules: MandatePolicy) -> list[Reason]:
    reasons = []
    if result.get("vct") not in rules.accepted_vct:
        reasons.append(Reason("mandate_vct_not_accepted", f"vct {result.get('vct')!r}"))
    if rules.accepted_issuers is not None and result.get("iss") not in rules.accepted_issuers:
        reasons.append(Reason("mandate_issuer_not_accepted", f"issuer {result.get('iss')!r}"))
    return reasons


def _grant_reasons(claims: dict[str, Any], rules: MandatePolicy) -> list[Reason]:
    """Required actions, accepted operators and delegation depth."""
    granted = list_at(obj_at(claims, "authority"), "actions")
    reasons = [
        Reason("required_action_missing", f"{required!r} is not granted")
        for required in rules.required_actions
        if required not in granted
    ]
    operator = obj_at(obj_at(claims, "agent"), "operator").get("id")
    if rules.accepted_operators is not None and operator not in rules.accepted_operators:
        reasons.append(Reason("operator_not_accepted", f"operator {operator!r}"))
    if delegation_depth(claims) > rules.max_delegation_depth:
        reasons.append(Reason("delegation_not_supported", "re-delegated mandates are not accepted"))
    return reasons


def _transaction_reasons(
    result: dict[str, Any], action: AgentAction, tx: TransactionPolicy, now: int, kb_age: bool
) -> list[Reason]:
    """The RP's own payee domain (anti-relay), per-transaction limits and KB-JWT freshness."""
    reasons = []
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
    if not kb_age:
        return reasons
    if isinstance(kb_iat, bool) or not isinstance(kb_iat, int):
        reasons.append(Reason("kb_iat_missing", "no KB-JWT iat: its freshness is unchecked"))
    elif now - kb_iat > tx.kb_max_age:
        reasons.append(
            Reason("kb_too_old", f"KB-JWT is {now - kb_iat} s old (max {tx.kb_max_age})")
        )
    return reasons


def evaluate_mandate(
    result: dict[str, Any],
    action: AgentAction,
    policy: AgentPolicy,
    *,
    now: int,
    leeway: int = 60,
    kb_age: bool = True,
) -> list[Reason]:
    """Every rule the mandate presentation breaks for ``action`` under ``policy``. A mandate
    that cannot be evaluated (a restriction not in clear, a malformed, unknown or duplicated
    constraint) gets that reason alone, after the issuer rules. ``kb_age=False`` skips the
    KB-JWT freshness rule, for a later decision about a presentation already accepted (an
    AuthZEN evaluation of a grant: the proof of possession then is the caller's token)."""
    rules = policy.mandate
    claims = mandate_claims(result)
    reasons = _issuer_reasons(result, rules)
    layout = mandate_layout(result)
    if layout is None:
        unknown = "the presentation does not say which claims were disclosed"
        return [*reasons, Reason("mandate_restriction_undisclosed", unknown)]
    problems = mandate_problems(claims, layout)
    if problems:
        return reasons + problems
    reasons += _validity_reasons(claims, rules)
    reasons += _status_reasons(result, rules.status_required)
    reasons += _grant_reasons(claims, rules)
    tx = policy.transaction
    reasons += evaluate_authority(
        claims, action, layout=layout, now=now, rp_domain=tx.payee_domain, leeway=leeway
    )
    return reasons + _transaction_reasons(result, action, tx, now, kb_age)
