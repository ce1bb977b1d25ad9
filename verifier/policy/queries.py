"""The DCQL queries and transaction data an agent verification sends.

**Mandate** (to the agent holder). Required: ``jti``, ``authority.actions``, every constraint's
``type``, ``principal.type``, the agent's ``id`` and operator, and - when the human may be needed -
``principal.jkt``. Optional, as claim sets (most specific first): the allow-list member matching
*this* payee (``values`` on ``domain``), the one matching *this* category (``values`` on
``code``), and the pairwise principal id for this RP (``values`` on ``aud``). The wallet thus
reveals only the members that concern this action (agent-mandates open question 3), and a
mandate without such a list still answers. Restrictive parts are all plain claims: the verifier
sees them whether asked or not.

**Identity** (to the human's wallet): the framework and level, plus ``time``, evidence types and
required claims as the policy needs them.

Both carry the same action as ``transaction_data``; only ``credential_ids`` differ.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from verifier.policy.rules import AgentPolicy
from verifier.protocol.mandates.authority import AgentAction

__all__ = ["identity_query", "mandate_query", "transaction_data"]

VC = "verified_claims"


def _claim(claim_id: str, *path: Any, values: list[str] | None = None) -> dict[str, Any]:
    claim: dict[str, Any] = {"id": claim_id, "path": list(path)}
    if values is not None:
        claim["values"] = values
    return claim


def mandate_query(policy: AgentPolicy, action: AgentAction, *, want_jkt: bool) -> dict[str, Any]:
    required = [
        _claim("jti", "jti"),
        _claim("actions", "authority", "actions"),
        _claim("constraint_types", "authority", "constraints", None, "type"),
        _claim("principal_type", "principal", "type"),
        _claim("agent_id", "agent", "id"),
        _claim("operator", "agent", "operator", "id"),
    ]
    if want_jkt:
        required.append(_claim("principal_jkt", "principal", "jkt"))
    member = ("authority", "constraints", None, "allowed", None)
    optional = []
    if action.payee is not None:
        optional.append(_claim("payee", *member, "domain", values=[action.payee.domain]))
    if action.category is not None:
        optional.append(_claim("category", *member, "code", values=[action.category.code]))
    rp_domain = policy.transaction.payee_domain
    if rp_domain is not None:
        optional.append(
            _claim("pairwise", "principal", "pairwise_ids", None, "aud", values=[rp_domain])
        )
    claim_sets = [
        [c["id"] for c in required] + [c["id"] for c in chosen]
        for size in range(len(optional), -1, -1)
        for chosen in combinations(optional, size)
    ]
    return {
        "credentials": [
            {
                "id": "mandate",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": list(policy.mandate.accepted_vct)},
                "claims": required + optional,
                "claim_sets": claim_sets,
            }
        ]
    }


def identity_query(policy: AgentPolicy) -> dict[str, Any]:
    rules = policy.identity
    assert rules is not None
    claims: list[dict[str, list[str | None]]] = [
        {"path": [VC, "verification", "trust_framework"]},
        {"path": [VC, "verification", "assurance_level"]},
    ]
    if rules.max_verification_age is not None:
        claims.append({"path": [VC, "verification", "time"]})
    if rules.accepted_evidence_types is not None:
        claims.append({"path": [VC, "verification", "evidence", None, "type"]})
    claims += [{"path": [VC, "claims", name]} for name in rules.required_claims]
    return {
        "credentials": [
            {
                "id": "identity",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": list(rules.accepted_vct)},
                "claims": claims,
            }
        ]
    }


def transaction_data(policy: AgentPolicy, action: AgentAction, query_id: str) -> dict[str, Any]:
    return {
        "type": policy.transaction.td_type,
        "credential_ids": [query_id],
        "transaction_data_hashes_alg": [policy.transaction.hash_alg],
        "payload": action.model_dump(exclude_none=True),
    }
