"""How a verified credential is reported to the relying party (``result.credentials``)."""

from __future__ import annotations

from typing import Any

from verifier.protocol import VerifiedCredential
from verifier.protocol.jose import hash_b64

__all__ = ["credential_result"]

# Members that describe the token rather than the subject; kept out of `claims`.
_TOKEN_MEMBERS = ("cnf", "status", "iss", "vct", "iat", "nbf", "exp")


def credential_result(
    credential: VerifiedCredential, status: dict[str, Any] | None
) -> dict[str, Any]:
    """``{vct, iss, claims, holder_jkt, status, iat, exp, nbf, disclosed, sd_layout, kb_iat,
    presentation_sha256}`` for one presentation. ``sd_layout`` says which claims came from
    disclosures and where undisclosed digests remain (claims path pointers; see
    :class:`~verifier.protocol.sdjwt.layout.SDLayout`)."""
    claims = {k: v for k, v in credential.claims.items() if k not in _TOKEN_MEMBERS}
    kb = credential.key_binding
    result = {
        "vct": credential.vct,
        "iss": credential.iss,
        "claims": claims,
        "holder_jkt": credential.holder_jkt,
        "status": status,
        "iat": credential.claims.get("iat"),
        "exp": credential.claims.get("exp"),
        "nbf": credential.claims.get("nbf"),
        "disclosed": len(credential.disclosures),
        "sd_layout": credential.layout.as_json(),
        "kb_iat": kb.iat if kb is not None else None,
        "presentation_sha256": hash_b64(credential.raw) if credential.raw else None,
    }
    if credential.delegated:  # AP2: the mandates the holder signed, for the agent to hold
        result["ap2"] = {
            "mandate": credential.raw,
            "items": [item.claims for item in credential.delegated],
        }
    return result
