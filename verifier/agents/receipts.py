"""Decision receipts: JWTs signed by the verifier key, checkable against its published JWKS.

Header ``{"alg": "ES256", "typ": "agentvp-receipt+jwt", "kid": …}``; claims: ``iss`` (the
verifier's public URL), ``iat``, ``jti``, ``sub`` (the verification id), ``decision``,
``reasons``, ``policy``, ``mandate_jti``, ``agent_id``, ``action_hash`` (base64url SHA-256 of the
action's transaction-data string, the same bytes the agent's KB-JWT hashed),
``presentation_hashes`` (SHA-256 of each presentation as received), ``audit_head`` and
``audit_len`` (the audit chain at the decision). Shape after the AP2 Mandate Receipt (result,
reference to what was presented, error).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from verifier.protocol import AgentVPError, PublicKey, SigningKey, public_key_from_jwk
from verifier.protocol.jose import check_alg, parse_unverified_jws

__all__ = ["RECEIPT_TYP", "ReceiptError", "receipt_claims", "sign_receipt", "verify_receipt"]

RECEIPT_TYP = "agentvp-receipt+jwt"


class ReceiptError(Exception):
    """A receipt that does not verify, with the reason."""


def receipt_claims(
    verification_id: str,
    *,
    policy: str,
    action_hash: str,
    result: Mapping[str, Any],
    mandate: Mapping[str, Any] | None,
    identity: Mapping[str, Any] | None,
    audit: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """A decision's receipt claims (the module docstring lists them; :func:`sign_receipt` adds
    ``iss``, ``iat`` and ``jti``): from the decision's ``result`` (see
    :func:`~verifier.agents.decision_summary.decision_summary`), the verified mandate and
    identity presentations, and the audit chain as it stands."""
    return {
        "sub": verification_id,
        "decision": result["decision"],
        "reasons": result["reasons"],
        "policy": policy,
        "mandate_jti": (mandate or {}).get("claims", {}).get("jti"),
        "agent_id": (result.get("agent") or {}).get("id"),
        "action_hash": action_hash,
        "presentation_hashes": [p.get("presentation_sha256") for p in (mandate, identity) if p],
        "audit_head": audit[-1]["hash"] if audit else "",
        "audit_len": len(audit),
    }


def sign_receipt(key: SigningKey, claims: Mapping[str, Any], *, issuer: str, now: int) -> str:
    body = {"iss": issuer, "iat": now, "jti": secrets.token_urlsafe(16), **claims}
    return key.sign_jws({"typ": RECEIPT_TYP}, body)


def verify_receipt(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The receipt's claims if it is signed by a key in ``jwks``; :class:`ReceiptError` if not."""
    try:
        jws = parse_unverified_jws(token.strip(), what="receipt")
        check_alg(jws.alg, {"ES256"}, what="receipt")
        keys: Sequence[Mapping[str, Any]] = jwks.get("keys") or []
        candidates: list[PublicKey] = [
            public_key_from_jwk(k) for k in keys if jws.header.get("kid") in (None, k.get("kid"))
        ]
        if jws.header.get("typ") != RECEIPT_TYP:
            raise ReceiptError(f"typ is {jws.header.get('typ')!r}, not {RECEIPT_TYP}")
        if not any(k.verify(jws.alg, jws.signing_input, jws.signature) for k in candidates):
            raise ReceiptError("the signature does not verify")
        return jws.payload_json(what="receipt")
    except AgentVPError as exc:
        raise ReceiptError(exc.reason) from None
