"""The DCQL queries and transaction data an agent verification sends.

**Mandate** (to the agent holder). Required: ``jti``, ``authority.actions``, every constraint's
``type``, ``principal.type``, the agent's ``id`` and operator, and - when the human may be needed,
now or at any later decision about the grant (the policy has identity rules) - ``principal.jkt``.
Restrictive parts are all plain claims (a mandate where one is disclosable is refused): the
verifier sees them whether asked or not. Optional: only the allow-list members that concern
*this* action (agent-mandates open question 3) - the merchant matching the payee (``values`` on
``domain``), the category (``values`` on ``code``), the audience entry naming this RP
(``values`` on the member itself) and the principal's pairwise id for this RP (``values`` on
``aud``) - so the agent reveals no other member, and a mandate without such a list still answers.

A claims path applies a member name to every element it selected and *fails* when one is not an
object (OpenID4VP 1.0 §7, digest §2.3), so ``authority.constraints[*].allowed[*].domain`` can
never be satisfied by a mandate that also has an allow-list of strings (``mandate.audiences``).
The claim sets therefore come in three tiers, each most specific first (the wallet returns the
first it can satisfy):

1. index-free members (``constraints[*].allowed[*]``) - every mandate without a string list;
2. the audience entry, required, with the merchant and category members named by their
   constraint's *position* (``constraints[i].allowed[*]``), for every pair of positions. A
   mandate has at most one constraint of each known type (duplicates and unknown types are
   refused), so positions 0 to :data:`MAX_CONSTRAINTS` - 1 cover every mandate that can pass;
   its constraint objects are in clear, so positions are stable;
3. no allow-list member: the verifier then denies every allow-list the action needed.

Withholding a member never helps the agent: an undisclosed member matches nothing.

**Identity** (to the human's wallet): the framework and level, plus ``time``, evidence types and
required claims as the policy needs them.

Both carry the same action as ``transaction_data``; only ``credential_ids`` differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations, product
from typing import Any

from verifier.policy.rules import AgentPolicy
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.mandates.constraints import KNOWN_CONSTRAINTS

__all__ = ["MAX_CONSTRAINTS", "identity_query", "mandate_query", "transaction_data"]

VC = "verified_claims"
MAX_CONSTRAINTS = len(KNOWN_CONSTRAINTS)  # at most one constraint per known type
CONSTRAINTS = ("authority", "constraints")


def _claim(claim_id: str, *path: Any, values: list[str] | None = None) -> dict[str, Any]:
    claim: dict[str, Any] = {"id": claim_id, "path": list(path)}
    if values is not None:
        claim["values"] = values
    return claim


def _subsets(ids: Sequence[str]) -> list[tuple[str, ...]]:
    """Every subset of ``ids``, largest first (in the order of ``ids`` within one size)."""
    return [c for size in range(len(ids), -1, -1) for c in combinations(ids, size)]


def _member_claims(action: AgentAction, where: int | None) -> list[dict[str, Any]]:
    """The payee's merchant member and the category member under every constraint (``None``)
    or the one at position ``where``."""
    member = (*CONSTRAINTS, where, "allowed", None)
    suffix = "" if where is None else f"_{where}"
    claims = []
    if action.payee is not None:
        claims.append(_claim(f"payee{suffix}", *member, "domain", values=[action.payee.domain]))
    if action.category is not None:
        claims.append(_claim(f"category{suffix}", *member, "code", values=[action.category.code]))
    return claims


def _optional_claims(policy: AgentPolicy, action: AgentAction) -> list[dict[str, Any]]:
    rp_domain = policy.transaction.payee_domain
    claims = _member_claims(action, None)
    if rp_domain is None:
        return claims  # no RP domain: no pairwise id to ask for, no audience can match
    claims.append(_claim("pairwise", "principal", "pairwise_ids", None, "aud", values=[rp_domain]))
    claims.append(_claim("audience", *CONSTRAINTS, None, "allowed", None, values=[rp_domain]))
    for position in range(MAX_CONSTRAINTS):
        claims += _member_claims(action, position)
    return claims


@lru_cache(maxsize=8)
def _tails(kinds: tuple[str, ...], rp_domain: bool) -> tuple[tuple[str, ...], ...]:
    """The optional part of each claim set, in order of preference (see the module docstring):
    ``kinds`` are the member claims the action needs (``payee``, ``category``)."""
    pairwise = ("pairwise",) if rp_domain else ()
    free = [s for s in _subsets([*kinds, *pairwise]) if set(s) - set(pairwise)]
    if not rp_domain:
        return (*free, ())
    positioned = []
    for picked in product(*[[None, *range(MAX_CONSTRAINTS)] for _ in kinds]):
        used = [i for i in picked if i is not None]
        if len(used) == len(set(used)):  # two kinds never share a position
            members = tuple(f"{k}_{i}" for k, i in zip(kinds, picked, strict=True) if i is not None)
            positioned += [(*members, "audience", *w) for w in _subsets(pairwise)]
    return (*free, *sorted(positioned, key=len, reverse=True), *_subsets(pairwise))


def mandate_query(policy: AgentPolicy, action: AgentAction, *, want_jkt: bool) -> dict[str, Any]:
    required = [
        _claim("jti", "jti"),
        _claim("actions", "authority", "actions"),
        _claim("constraint_types", *CONSTRAINTS, None, "type"),
        _claim("principal_type", "principal", "type"),
        _claim("agent_id", "agent", "id"),
        _claim("operator", "agent", "operator", "id"),
    ]
    if want_jkt:
        required.append(_claim("principal_jkt", "principal", "jkt"))
    kinds = tuple(k for k, v in (("payee", action.payee), ("category", action.category)) if v)
    ids = [c["id"] for c in required]
    return {
        "credentials": [
            {
                "id": "mandate",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": list(policy.mandate.accepted_vct)},
                "claims": required + _optional_claims(policy, action),
                "claim_sets": [
                    [*ids, *tail]
                    for tail in _tails(kinds, policy.transaction.payee_domain is not None)
                ],
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
