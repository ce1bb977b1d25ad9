"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): verifying one presentation end to end.

:func:`verify_presentation` runs digest §10 checks 19-39 in order on one ``dc+sd-jwt``
presentation: split; issuer header ``typ``/``alg``; issuer key by a resolver the caller injects
(trust policy lives outside the core); signature; disclosures (:mod:`.sdjwt`); validity claims
with an injected clock and leeway; ``vct``; ``cnf``; then the KB-JWT (:mod:`.kb_jwt`) whenever
one is present, and a refusal when binding is required but none was sent. Whether binding is
required comes from the caller (the DCQL query), never from what the wallet chose to send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import inf, isfinite
from typing import Any, Protocol

from ..errors import (
    CredentialError,
    KeyBindingError,
    MalformedError,
    SignatureError,
    TrustError,
)
from ..frozen import slot_setters
from ..jose import (
    CompactJWS,
    PublicKey,
    check_alg,
    jwk_thumbprint,
    parse_unverified_jws,
    public_key_from_jwk,
)
from ..jose.base64url import hash_object
from ..jose.jwk import signing_hash
from .disclosures import SUPPORTED_SD_ALGS, Disclosure, reconstruct, split_sd_jwt
from .kb_jwt import KeyBindingClaims, verify_kb_jwt
from .layout import NOTHING_SELECTIVE, SDLayout

__all__ = [
    "FORMAT",
    "IssuerKeyResolver",
    "StaticKeyResolver",
    "StatusReference",
    "VerificationPolicy",
    "VerifiedCredential",
    "verify_presentation",
]

FORMAT = "dc+sd-jwt"
LEGACY_TYP = "vc+sd-jwt"
# Claims that decide validity or binding; an issuer must never make them selectively
# disclosable (RFC 9901 §9.7, SD-JWT VC §3.2.2), so a disclosure that introduces one is refused.
_NEVER_DISCLOSED = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "aka_vcts"}
)


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    """What a verifier accepts. Defaults follow HAIP and digest §9."""

    issuer_algs: frozenset[str] = frozenset({"ES256"})
    kb_algs: frozenset[str] = frozenset({"ES256"})
    sd_algs: frozenset[str] = SUPPORTED_SD_ALGS
    accept_legacy_typ: bool = False
    leeway: int = 60
    kb_max_age: int = 300
    max_disclosures: int = 128
    max_presentation_bytes: int = 64 * 1024
    required_claims: frozenset[str] = frozenset()


DEFAULT_POLICY = VerificationPolicy()


class IssuerKeyResolver(Protocol):
    """Finds the keys an issuer may sign this credential with, or raises :class:`TrustError`.

    Called with the *unverified* ``iss``, header and ``vct``; the signature check that follows
    authenticates them. Must not perform network I/O (pre-fetch outside the core).
    """

    def resolve(
        self, *, iss: str | None, header: Mapping[str, Any], vct: str | None
    ) -> Sequence[PublicKey]: ...


class StaticKeyResolver:
    """Issuer keys given as JWKS per issuer, optionally limited to some ``vct`` values.

    Keys are parsed once, at construction.
    """

    def __init__(
        self,
        issuers: Mapping[str, Sequence[Mapping[str, Any]]],
        vcts: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._keys = {
            iss: [(k.get("kid"), public_key_from_jwk(k)) for k in jwks]
            for iss, jwks in issuers.items()
        }
        self._vcts = dict(vcts or {})

    def resolve(
        self, *, iss: str | None, header: Mapping[str, Any], vct: str | None
    ) -> Sequence[PublicKey]:
        if iss is None or iss not in self._keys:
            raise TrustError("issuer_untrusted", f"issuer {iss!r} is not trusted")
        allowed = self._vcts.get(iss)
        if allowed is not None and vct not in allowed:
            raise TrustError(
                "vct_not_trusted_for_issuer", f"issuer {iss!r} is not trusted for {vct!r}"
            )
        keys = self._keys[iss]
        kid = header.get("kid")
        if kid is None:
            return [key for _, key in keys]
        found = [key for key_id, key in keys if key_id == kid]
        if not found:
            raise TrustError("issuer_key_unknown", f"issuer {iss!r} has no key with kid {kid!r}")
        return found


@dataclass(frozen=True, slots=True)
class StatusReference:
    """``status.status_list`` of a Referenced Token (Token Status List §6)."""

    uri: str
    idx: int


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """A verified SD-JWT VC presentation: the processed payload and its bindings."""

    vct: str
    iss: str | None
    claims: dict[str, Any]
    header: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    key_binding: KeyBindingClaims | None
    presented: str
    holder_jwk: dict[str, Any] | None
    status: StatusReference | None
    raw: str = ""  # the presentation exactly as received (for hashes in receipts)
    delegated: tuple[Any, ...] = ()  # delegate items its KB-SD-JWT signed (OpenID4VP delegate)
    # Which claims came from disclosures and where undisclosed digests remain (the default
    # says "nothing was selectively disclosable": only for credentials built in code).
    layout: SDLayout = NOTHING_SELECTIVE

    def __init__(
        self,
        vct: str,
        iss: str | None,
        claims: dict[str, Any],
        header: dict[str, Any],
        disclosures: tuple[Disclosure, ...],
        key_binding: KeyBindingClaims | None,
        presented: str,
        holder_jwk: dict[str, Any] | None,
        status: StatusReference | None,
        raw: str = "",
        delegated: tuple[Any, ...] = (),
        layout: SDLayout = NOTHING_SELECTIVE,
    ) -> None:
        # The __init__ @dataclass would generate (it keeps one the class defines), written out
        # so that the compiled build runs it natively: a generated one is interpreted Python.
        # Each field through its slot's setter, in field order (:mod:`..frozen`);
        # tests/unit/test_result_inits.py holds it to the fields.
        put = _VERIFIED_CREDENTIAL_SETTERS
        put[0](self, vct)
        put[1](self, iss)
        put[2](self, claims)
        put[3](self, header)
        put[4](self, disclosures)
        put[5](self, key_binding)
        put[6](self, presented)
        put[7](self, holder_jwk)
        put[8](self, status)
        put[9](self, raw)
        put[10](self, delegated)
        put[11](self, layout)

    @property
    def holder_jkt(self) -> str | None:
        return jwk_thumbprint(self.holder_jwk) if self.holder_jwk is not None else None


_VERIFIED_CREDENTIAL_SETTERS = slot_setters(VerifiedCredential)


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CredentialError("validity_claim_invalid", f"claim {name!r} is not a NumericDate")
    try:
        number = float(value)  # an integer beyond the float range overflows
    except OverflowError:
        number = inf
    if not isfinite(number):  # also "1e400", which parses as inf
        raise CredentialError("validity_claim_invalid", f"claim {name!r} is not a finite number")
    return number


def _check_validity(claims: Mapping[str, Any], now: int, policy: VerificationPolicy) -> None:
    for name in policy.required_claims:
        if name not in claims:
            raise CredentialError("validity_claim_invalid", f"required claim {name!r} is missing")
    exp = _number(claims, "exp")
    if exp is not None and now >= exp + policy.leeway:
        raise CredentialError("credential_expired", f"credential expired at {int(exp)}")
    nbf = _number(claims, "nbf")
    if nbf is not None and now + policy.leeway < nbf:
        raise CredentialError("credential_not_yet_valid", f"credential not valid before {int(nbf)}")
    iat = _number(claims, "iat")
    if iat is not None and now + policy.leeway < iat:
        raise CredentialError(
            "credential_iat_in_future", f"credential iat {int(iat)} is in the future"
        )


def _status_reference(claims: Mapping[str, Any]) -> StatusReference | None:
    status = claims.get("status")
    if status is None:
        return None
    if not isinstance(status, dict):
        raise CredentialError("status_reference_malformed", "'status' is not an object")
    entry = status.get("status_list")
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise CredentialError("status_reference_malformed", "'status.status_list' is not an object")
    idx, uri = entry.get("idx"), entry.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise CredentialError(
            "status_reference_malformed", "status_list.idx is not a non-negative integer"
        )
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise CredentialError("status_reference_malformed", "status_list.uri is not an http(s) URI")
    return StatusReference(uri=uri, idx=idx)


def _holder_key(claims: Mapping[str, Any]) -> PublicKey | None:
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise CredentialError("cnf_invalid", "'cnf' carries no 'jwk' object")
    if "d" in jwk:
        raise CredentialError("cnf_invalid", "'cnf.jwk' contains a private key")
    try:
        return public_key_from_jwk(jwk)
    except MalformedError as exc:
        raise CredentialError("cnf_invalid", f"'cnf.jwk' is unusable: {exc.reason}") from None


def _check_issuer_signature(
    jws: CompactJWS, alg: str, candidates: Sequence[PublicKey], iss: Any
) -> Any:
    """Raise unless one of ``candidates`` signed the issuer JWT (``alg`` is its header's). For
    ES256/384/512 the signing input is hashed once, here, and the hashlib object is returned
    (None for other algs)."""
    _, _, signing_input, signature = jws
    hashed = signing_hash(alg)
    if hashed is None:
        for key in candidates:
            if key.verify(alg, signing_input, signature):
                return None
    else:
        hashed.update(signing_input)
        digest = hashed.digest()
        for key in candidates:
            if key.verify_digest(alg, digest, signature):
                return hashed
    raise SignatureError("issuer_signature_invalid", f"issuer JWT signature by {iss!r} is invalid")


def verify_presentation(
    presentation: str,
    *,
    keys: IssuerKeyResolver,
    audience: str,
    nonce: str,
    now: int,
    require_key_binding: bool = True,
    policy: VerificationPolicy = DEFAULT_POLICY,
) -> VerifiedCredential:
    """Verify one SD-JWT VC presentation (``SD-JWT`` or ``SD-JWT+KB``); raise on any failure."""
    if not isinstance(presentation, str):
        raise MalformedError("malformed_sd_jwt", "presentation is not a string")
    if len(presentation) > policy.max_presentation_bytes:
        raise MalformedError(
            "input_too_large",
            f"presentation is {len(presentation)} bytes, limit {policy.max_presentation_bytes}",
        )
    # Named tuples are unpacked once (each attribute read is a lookup on the class).
    issuer_jwt, sent, kb_jwt = split_sd_jwt(presentation, max_disclosures=policy.max_disclosures)
    # ``SDJWTParts.presented`` re-joined, without re-joining: everything up to the last "~".
    presented = presentation[: len(presentation) - len(kb_jwt or "")]
    if require_key_binding and kb_jwt is None:
        raise KeyBindingError("kb_missing", "key binding is required but no KB-JWT was presented")

    jws = parse_unverified_jws(issuer_jwt, what="issuer JWT")
    header, alg = jws.header, jws.alg
    typ = header.get("typ")
    if typ != FORMAT and not (policy.accept_legacy_typ and typ == LEGACY_TYP):
        raise CredentialError("issuer_typ_invalid", f"issuer JWT typ {typ!r} is not 'dc+sd-jwt'")
    check_alg(alg, policy.issuer_algs, what="issuer JWT")
    payload = jws.payload_json(what="issuer JWT payload")
    iss, vct = payload.get("iss"), payload.get("vct")
    if iss is not None and not isinstance(iss, str):
        raise CredentialError("iss_missing", "'iss' is not a string")
    if iss is None and "x5c" not in header:
        raise CredentialError("iss_missing", "credential has neither 'iss' nor an 'x5c' header")
    candidates = keys.resolve(iss=iss, header=header, vct=vct if isinstance(vct, str) else None)
    hashed = _check_issuer_signature(jws, alg, candidates, iss)

    claims, disclosures, top_level_disclosed, sd_alg, layout = reconstruct(
        payload, sent, accepted_sd_algs=policy.sd_algs
    )
    illegal = top_level_disclosed & _NEVER_DISCLOSED
    if illegal:
        raise CredentialError(
            "reserved_claim_disclosed", f"claim {sorted(illegal)[0]!r} must never be disclosable"
        )
    _check_validity(claims, now, policy)
    if not isinstance(vct, str) or not vct:
        raise CredentialError("vct_missing", "'vct' is missing or not a string")
    holder_key = _holder_key(claims)
    status = _status_reference(claims)

    key_binding = None
    if kb_jwt is not None:
        if holder_key is None:
            raise CredentialError(
                "cnf_missing", "a KB-JWT was sent but the credential has no 'cnf'"
            )
        key_binding = verify_kb_jwt(
            kb_jwt,
            holder_key=holder_key,
            presented=presented,
            sd_alg=sd_alg,
            audience=audience,
            nonce=nonce,
            now=now,
            allowed_algs=policy.kb_algs,
            max_age=policy.kb_max_age,
            leeway=policy.leeway,
            # The signing input's hash, continued over the rest of ``presented`` (which the
            # signing input begins) when _sd_alg names the signature's own hash.
            presented_prefix=(hashed, len(jws.signing_input))
            if hashed is not None and hashed.name == hash_object(sd_alg).name
            else None,
        )
    return VerifiedCredential(
        vct=vct,
        iss=iss,
        claims=claims,
        header=header,
        disclosures=disclosures,
        key_binding=key_binding,
        presented=presented,
        holder_jwk=dict(holder_key.jwk) if holder_key is not None else None,
        status=status,
        raw=presentation,
        layout=layout,
    )
