"""DPoP proofs at agentvp's own endpoints (RFC 9449 §4.3, §8, §11.1).

A request to the agent-authorize or the token endpoint proves possession of the client's key
with one ``DPoP`` header: :func:`check_dpop` verifies it for ``POST`` at that endpoint's URL
(:func:`verifier.protocol.oauth.dpop.verify_proof`), within ``dpop_max_age`` and ``leeway``,
wants one of the endpoint's server nonces when it has them (``use_dpop_nonce`` and a
``DPoP-Nonce`` header first, before anything is spent), and spends the proof's ``jti`` through
``store.claim`` so it is single-use. Every failure is an :class:`.errors.OAuthError`. The agent
grant and the wallet login's token endpoint (:mod:`.code_grant`) both check proofs here; a
resource server checks its own (:mod:`verifier.resource.tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence

from verifier.oauth.errors import OAuthError
from verifier.protocol.oauth.dpop import DPoPError, DPoPProof, verify_proof
from verifier.store.base import TransactionStore

__all__ = ["check_dpop"]


async def check_dpop(
    headers: Sequence[str],
    *,
    htu: str,
    now: int,
    max_age: int,
    leeway: int,
    store: TransactionStore,
    nonces: Sequence[str] = (),
) -> DPoPProof:
    """One DPoP proof for ``POST`` at the endpoint URL ``htu``, checked (RFC 9449 §4.3) and
    its ``jti`` spent in ``store``; :class:`OAuthError` ``invalid_dpop_proof`` otherwise. With
    ``nonces``, the proof must carry one of them, else ``use_dpop_nonce`` with the first in
    ``DPoP-Nonce`` (§8), before anything is spent."""
    if len(headers) != 1:
        raise OAuthError(400, "invalid_dpop_proof", "send exactly one DPoP header")
    try:
        proof = verify_proof(
            headers[0],
            htm="POST",
            htu=htu,
            now=now,
            max_age=max_age,
            leeway=leeway,
        )
    except DPoPError as exc:
        raise OAuthError(400, exc.error, f"{exc.code}: {exc.reason}") from None
    if nonces and proof.nonce not in nonces:
        raise OAuthError(
            400,
            "use_dpop_nonce",
            "dpop_nonce_missing: send the DPoP-Nonce value in the proof",
            headers={"DPoP-Nonce": nonces[0]},
        )
    if not await store.claim(f"dpop:{proof.replay_key}", ttl=max_age + leeway):
        raise OAuthError(400, "invalid_dpop_proof", "dpop_replayed: jti already used")
    return proof
