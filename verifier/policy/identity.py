"""The relying party's identity policy (agent-mandates §6.1, §6.2 step 8) over IDA claims.

Over a verified identity presentation: accepted types and issuers; a ``verified_claims`` element
whose ``trust_framework`` the RP knows (others are ignored, digest check 50); the assurance level
compared *ordinally* in that framework's own order; ``verification.time`` within the maximum
age; disclosed evidence of an accepted type; the required claims disclosed; and the link: the
mandate's ``principal.jkt`` must be the RFC 7638 thumbprint of the identity credential's key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from verifier.policy.members import list_at, obj_at
from verifier.policy.rules import AgentPolicy, IdentityPolicy
from verifier.protocol.mandates.authority import AgentAction, Reason

__all__ = [
    "evaluate_identity",
    "identity_link_needed",
    "identity_required",
    "parse_ida_time",
]


def parse_ida_time(value: str) -> int | None:
    """IDA ``time`` (``YYYY-MM-DDThh:mm[:ss]TZD``, ISO 8601) as a UNIX time, or None."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # IDA requires a time zone designator
    return int(parsed.timestamp())


def _elements(claims: dict[str, Any]) -> list[dict[str, Any]]:
    vc = claims.get("verified_claims")
    items = vc if isinstance(vc, list) else [vc]
    return [e for e in items if isinstance(e, dict) and isinstance(e.get("verification"), dict)]


def _verification_reasons(
    verification: dict[str, Any], policy: IdentityPolicy, now: int
) -> list[Reason]:
    reasons: list[Reason] = []
    framework = verification["trust_framework"]
    rule = policy.trust_frameworks[framework]
    if rule.levels is not None and rule.min is not None:
        level = verification.get("assurance_level")
        if level not in rule.levels or rule.levels.index(level) < rule.levels.index(rule.min):
            reasons.append(Reason("assurance_too_low", f"{framework}/{level} is below {rule.min}"))
    if policy.max_verification_age is not None:
        when = verification.get("time")
        at = parse_ida_time(when) if isinstance(when, str) else None
        if at is None:
            reasons.append(
                Reason("verification_time_missing", "verification.time was not disclosed")
            )
        elif now - at > policy.max_verification_age:
            reasons.append(Reason("verification_too_old", f"verified at {when}"))
    if policy.accepted_evidence_types is not None:
        evidence = list_at(verification, "evidence")
        types = [e.get("type") for e in evidence if isinstance(e, dict)]
        if not types:
            reasons.append(Reason("evidence_missing", "no evidence was disclosed"))
        elif not any(t in policy.accepted_evidence_types for t in types):
            reasons.append(Reason("evidence_not_accepted", f"evidence types {types}"))
    return reasons


def evaluate_identity(
    identity: dict[str, Any], mandate: dict[str, Any] | None, policy: AgentPolicy, *, now: int
) -> list[Reason]:
    """Every identity rule broken (``policy.identity`` must be set); ``mandate`` for the link."""
    rules = policy.identity
    assert rules is not None
    reasons: list[Reason] = []
    if identity.get("vct") not in rules.accepted_vct:
        reasons.append(Reason("identity_vct_not_accepted", f"vct {identity.get('vct')!r}"))
    if rules.accepted_issuers is not None and identity.get("iss") not in rules.accepted_issuers:
        reasons.append(Reason("identity_issuer_not_accepted", f"issuer {identity.get('iss')!r}"))
    known = [
        e
        for e in _elements(identity["claims"])
        if e["verification"].get("trust_framework") in rules.trust_frameworks
    ]
    if not known:
        reasons.append(
            Reason("framework_not_accepted", "no verified_claims under an accepted framework")
        )
    else:
        element = known[0]
        reasons += _verification_reasons(element["verification"], rules, now)
        person = obj_at(element, "claims")
        for name in rules.required_claims:
            if name not in person:
                reasons.append(Reason("required_claim_missing", f"{name!r} was not disclosed"))
    if mandate is not None:
        principal = (
            mandate["claims"].get("principal")
            if isinstance(mandate["claims"].get("principal"), dict)
            else {}
        )
        jkt = principal.get("jkt")
        if jkt is None:
            reasons.append(
                Reason("principal_link_missing", "the mandate did not disclose principal.jkt")
            )
        elif jkt != identity.get("holder_jkt"):
            reasons.append(Reason("principal_mismatch", "the identity belongs to another person"))
        if principal.get("type") not in (None, "natural_person"):
            reasons.append(
                Reason("principal_type_mismatch", f"principal type {principal.get('type')!r}")
            )
    return reasons


def identity_required(policy: AgentPolicy, action: AgentAction, *, first_use: bool | None) -> bool:
    """Do the policy's ``required_when`` rules ask for the human? ``first_use`` None = unknown."""
    if policy.identity is None:
        return False
    for rule in policy.identity.required_when:
        if rule.always:
            return True
        amount = action.payment_amount
        if (
            rule.amount_minor_gt is not None
            and amount is not None
            and amount.amount > rule.amount_minor_gt
        ):
            return True
        if rule.first_use_of_principal and first_use is not False:
            return True
    return False


def identity_link_needed(policy: AgentPolicy) -> bool:
    """May the person be asked for under a grant of ``policy`` - at its verification or at any
    later decision about it (a PDP evaluation of another amount or action)? Then the mandate's
    ``principal.jkt`` must be disclosed up front: it is the only link between the mandate and an
    identity credential, and the agent is not there to present it again at a later step-up."""
    return policy.identity is not None and bool(policy.identity.required_when)
