"""DPoP proofs (RFC 9449): create them (agent side) and check them (authorization and resource
servers).

:func:`create_proof` builds the proof JWT of RFC 9449 §4.2: header ``typ`` ``dpop+jwt``, an
asymmetric ``alg`` and the public ``jwk``; claims ``jti``, ``htm``, ``htu`` (without query and
fragment), ``iat`` and, when a token is presented, ``ath`` = base64url(SHA-256(token)) (§4.2,
§7.1).

:func:`verify_proof` applies the checks of RFC 9449 §4.3 that need no state, each failing with
its own :class:`DPoPError` code:

1. one well-formed compact JWS, at most :data:`MAX_PROOF_BYTES` (``dpop_malformed``);
2. ``typ`` is ``dpop+jwt`` (``dpop_typ_invalid``);
3. ``alg`` is an allowed asymmetric algorithm (``dpop_alg_not_allowed``);
4. ``jwk`` is a public key - no private members (``dpop_jwk_invalid``);
5. the signature verifies with that ``jwk`` (``dpop_signature_invalid``);
6. ``jti`` is a non-empty string (``dpop_jti_missing``);
7. ``htm`` equals the request method (``dpop_htm_mismatch``);
8. ``htu`` equals the request URI, compared after RFC 3986 §6.2.2/§6.2.3 normalisation and
   without query and fragment (``dpop_htu_mismatch``);
9. ``iat`` is within ``max_age`` seconds in the past and ``leeway`` in the future
   (``dpop_iat_invalid``);
10. when a token is presented: ``ath`` equals its hash (``dpop_ath_mismatch``).

Step 11 (``jti`` seen before within the window) needs state and is done by the caller with the
returned :attr:`DPoPProof.replay_key`; step 12 (the key is the token's ``cnf.jkt``) is the
caller's too, with :attr:`DPoPProof.jkt`; so is a server-provided nonce (§8, §9), returned as
:attr:`DPoPProof.nonce`.

Pure: no I/O, no clock reads (``now`` is passed in).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlsplit, urlunsplit

from ..errors import AgentVPError
from ..jose import SigningKey, hash_b64, jwk_thumbprint, parse_unverified_jws, public_key_from_jwk

__all__ = [
    "DPOP_ALGS",
    "DPOP_TYP",
    "DPoPError",
    "DPoPProof",
    "create_proof",
    "normalize_htu",
    "verify_proof",
]

DPOP_TYP = "dpop+jwt"
DPOP_ALGS = frozenset({"ES256", "ES384", "ES512", "EdDSA"})
MAX_PROOF_BYTES = 8 * 1024
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DPoPError(Exception):
    """A DPoP proof that fails a check; ``error`` is ``invalid_dpop_proof`` (RFC 9449 §5, §7.1)."""

    error = "invalid_dpop_proof"

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A proof that passed the stateless checks."""

    jkt: str  # RFC 7638 thumbprint of the proof's key
    jti: str
    iat: int
    htm: str
    htu: str
    jwk: Mapping[str, Any]
    nonce: str | None = None  # the server-provided nonce it carries (§8), checked by the caller

    @property
    def replay_key(self) -> str:
        """A short, fixed-length key for the caller's replay cache (key and ``jti``)."""
        return hashlib.sha256(f"{self.jkt} {self.jti}".encode()).hexdigest()[:40]


def normalize_htu(uri: str) -> str:
    """Scheme and host lower-cased, default port dropped, empty path as ``/``, no query and no
    fragment (RFC 9449 §4.3 step 9)."""
    parts = urlsplit(uri.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def create_proof(
    key: SigningKey,
    *,
    htm: str,
    htu: str,
    now: int,
    access_token: str | None = None,
    jti: str | None = None,
    nonce: str | None = None,
) -> str:
    """A DPoP proof for one HTTP request (RFC 9449 §4.2; ``nonce`` from the server, §8)."""
    header = {"typ": DPOP_TYP, "jwk": {k: v for k, v in key.public_jwk.items() if k != "kid"}}
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": htm.upper(),
        "htu": normalize_htu(htu),
        "iat": now,
    }
    if access_token is not None:
        claims["ath"] = hash_b64(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return key.sign_jws(header, claims)


def _htu(claimed: Any, htu: str) -> str:
    """Step 8: the claimed ``htu`` (any JSON value; maybe no URL at all, ``https://[x``)
    normalised equals the request URI's."""
    try:
        same = isinstance(claimed, str) and normalize_htu(claimed) == normalize_htu(htu)
    except ValueError:  # urlsplit: "Invalid IPv6 URL"
        same = False
    if not same:
        raise DPoPError("dpop_htu_mismatch", f"htu {claimed!r} is not {normalize_htu(htu)}")
    return str(claimed)


def _numeric(value: Any) -> TypeGuard[int | float]:
    """An integer or a finite float: "1e400" is valid JSON but parses as infinity."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _public_jwk(header: Mapping[str, Any]) -> Mapping[str, Any]:
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise DPoPError("dpop_jwk_invalid", "the proof header has no 'jwk' object")
    if _PRIVATE_MEMBERS & set(jwk):
        raise DPoPError("dpop_jwk_invalid", "the proof's 'jwk' contains private key members")
    return jwk


def _ath(access_token: str) -> str | None:
    try:
        return hash_b64(access_token)
    except AgentVPError:  # not ASCII: cannot be a token we issued
        return None


def verify_proof(
    proof: str,
    *,
    htm: str,
    htu: str,
    now: int,
    max_age: int = 60,
    leeway: int = 5,
    access_token: str | None = None,
    algs: Collection[str] = DPOP_ALGS,
) -> DPoPProof:
    """Run RFC 9449 §4.3 steps 1-10 on ``proof``; raise :class:`DPoPError` on the first failure."""
    if not proof or len(proof) > MAX_PROOF_BYTES:
        raise DPoPError("dpop_malformed", "the DPoP proof is empty or too large")
    try:
        jws = parse_unverified_jws(proof.strip(), what="DPoP proof")
        claims = jws.payload_json(what="DPoP proof")
    except AgentVPError as exc:
        raise DPoPError("dpop_malformed", exc.reason) from None
    if jws.header.get("typ") != DPOP_TYP:
        raise DPoPError("dpop_typ_invalid", f"typ is {jws.header.get('typ')!r}, not {DPOP_TYP}")
    if jws.alg not in algs or jws.alg not in DPOP_ALGS:
        raise DPoPError("dpop_alg_not_allowed", f"alg {jws.alg!r} is not allowed")
    jwk = _public_jwk(jws.header)
    try:
        key = public_key_from_jwk(jwk)
        jkt = jwk_thumbprint(jwk)
    except AgentVPError as exc:
        raise DPoPError("dpop_jwk_invalid", exc.reason) from None
    if not key.verify(jws.alg, jws.signing_input, jws.signature):
        raise DPoPError("dpop_signature_invalid", "the proof is not signed by its 'jwk'")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise DPoPError("dpop_jti_missing", "the proof has no usable 'jti'")
    if claims.get("htm") != htm.upper():
        raise DPoPError("dpop_htm_mismatch", f"htm {claims.get('htm')!r} is not {htm.upper()}")
    claimed = _htu(claims.get("htu"), htu)
    iat = claims.get("iat")
    if not _numeric(iat):
        raise DPoPError("dpop_iat_invalid", "the proof has no numeric 'iat'")
    if iat > now + leeway or iat < now - max_age:
        raise DPoPError("dpop_iat_invalid", f"iat {int(iat)} is outside the accepted window")
    if access_token is not None and claims.get("ath") != _ath(access_token):
        raise DPoPError("dpop_ath_mismatch", "ath is not the hash of the presented access token")
    nonce = claims.get("nonce")
    return DPoPProof(
        jkt=jkt,
        jti=jti,
        iat=int(iat),
        htm=htm.upper(),
        htu=claimed,
        jwk=jwk,
        nonce=nonce if isinstance(nonce, str) else None,
    )
