"""What an agent verification's decision says (its ``result``): the decision, a reason code per
failed rule with its details, and - from what was verified - the mandate, the agent, the
principal (with its pairwise id at this relying party) and the verified identity."""

from __future__ import annotations

from typing import Any

from verifier.protocol.mandates.authority import Reason

__all__ = ["decision_summary", "pairwise_sub"]


def decision_summary(
    decision: str,
    reasons: list[Reason],
    mandate: dict[str, Any] | None,
    identity: dict[str, Any] | None,
    *,
    rp_domain: str | None = None,
) -> dict[str, Any]:
    """The ``result`` of a decision: ``decision``, ``reasons`` (one code per failed rule) and
    their ``details``; with a verified mandate its ``mandate``, ``agent`` and ``principal``
    (its pairwise id here only for ``rp_domain``, the policy's payee); with a verified identity
    its issuer, claims and holder key thumbprint."""
    result: dict[str, Any] = {
        "decision": decision,
        "reasons": [r.code for r in reasons],
        "details": [r.as_dict() for r in reasons],
    }
    if mandate:
        claims = mandate["claims"]
        agent = claims.get("agent") or {}
        principal = claims.get("principal") or {}
        result["mandate"] = {
            "jti": claims.get("jti"),
            "iss": mandate.get("iss"),
            "status": mandate.get("status"),
        }
        result["agent"] = {
            "id": agent.get("id"),
            "operator": (agent.get("operator") or {}).get("id"),
        }
        result["principal"] = {
            "type": principal.get("type"),
            "jkt": principal.get("jkt"),
            "pairwise_sub": pairwise_sub(principal, rp_domain),
        }
    if identity:
        result["identity"] = {
            "iss": identity.get("iss"),
            "claims": identity.get("claims"),
            "holder_jkt": identity.get("holder_jkt"),
        }
    return result


def pairwise_sub(principal: dict[str, Any], rp_domain: str | None) -> str | None:
    """The principal's pairwise id at *this* RP (agent-mandates §6.3): the disclosed
    ``pairwise_ids`` element whose ``aud`` is the policy's payee domain. An element for another
    RP (over-disclosed by the holder) is never used: it would correlate, and name the principal
    by another RP's account id."""
    elements = principal.get("pairwise_ids")
    for element in elements if isinstance(elements, list) else ():
        if (
            isinstance(element, dict)
            and rp_domain is not None
            and element.get("aud") == rp_domain
            and isinstance(element.get("sub"), str)
        ):
            sub: str = element["sub"]
            return sub
    return None
