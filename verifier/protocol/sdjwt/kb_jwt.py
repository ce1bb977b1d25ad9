"""Key-binding JWT (RFC 9901 §4.3, §7.3) with OpenID4VP transaction data (VP §B.3.3.1).

Verification order follows digest §10 checks 34-40: header ``typ`` ``kb+jwt`` and an allowed
``alg``; signature by the credential's ``cnf`` key; required claims; ``nonce``; ``aud`` (one
string, the full client_id); ``iat`` inside the acceptance window; ``exp`` if present;
``sd_hash`` over exactly what was presented; then the shape of ``transaction_data_hashes``.
Over the Digital Credentials API the audience is ``origin:<origin>`` (VP A.4), signed request or
not: an ``aud`` without that prefix there fails as ``kb_aud_not_origin``.
Whether every transaction_data entry is covered is a vp_token-level question
(:mod:`verifier.protocol.oid4vp.vp_token`), because an entry may be authorised by one of several
credentials.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from math import isfinite
from typing import Any

from ..errors import AlgorithmError, KeyBindingError, SignatureError
from ..frozen import slot_setters
from ..jose import PublicKey, SigningKey, check_alg, hash_b64, parse_unverified_jws
from ..jose.base64url import continued_hash_b64
from ..jose.jws import same_text

__all__ = [
    "KB_TYP",
    "KeyBindingClaims",
    "create_kb_jwt",
    "transaction_data_claims",
    "transaction_data_hash",
    "verify_kb_jwt",
]

KB_TYP = "kb+jwt"
ORIGIN_AUDIENCE_PREFIX = "origin:"  # OpenID4VP A.4: the audience of a DC API response
TD_HASH_ALGS = frozenset({"sha-256", "sha-384", "sha-512"})


@dataclass(frozen=True, slots=True)
class KeyBindingClaims:
    """The verified KB-JWT payload."""

    iat: int
    aud: str
    nonce: str
    sd_hash: str
    transaction_data_hashes: tuple[str, ...]
    transaction_data_hashes_alg: str | None
    payload: dict[str, Any]

    def __init__(
        self,
        iat: int,
        aud: str,
        nonce: str,
        sd_hash: str,
        transaction_data_hashes: tuple[str, ...],
        transaction_data_hashes_alg: str | None,
        payload: dict[str, Any],
    ) -> None:
        # The __init__ @dataclass would generate (it keeps one the class defines), written out
        # so that the compiled build runs it natively: a generated one is interpreted Python.
        # Each field through its slot's setter, in field order (:mod:`..frozen`);
        # tests/unit/test_result_inits.py holds it to the fields.
        put = _KEY_BINDING_CLAIMS_SETTERS
        put[0](self, iat)
        put[1](self, aud)
        put[2](self, nonce)
        put[3](self, sd_hash)
        put[4](self, transaction_data_hashes)
        put[5](self, transaction_data_hashes_alg)
        put[6](self, payload)


_KEY_BINDING_CLAIMS_SETTERS = slot_setters(KeyBindingClaims)


def transaction_data_hash(transaction_data: str, alg: str = "sha-256") -> str:
    """Hash of one ``transaction_data`` entry over its base64url text as received."""
    if alg not in TD_HASH_ALGS:
        raise AlgorithmError("hash_alg_unsupported", f"transaction data hash alg {alg!r}")
    return hash_b64(transaction_data, alg)


def create_kb_jwt(
    *,
    presented: str,
    holder_key: SigningKey,
    audience: str,
    nonce: str,
    iat: int,
    sd_alg: str = "sha-256",
    transaction_data: Sequence[str] = (),
    transaction_data_hashes_alg: str | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a KB-JWT over ``presented`` (``<issuer JWT>~<disclosures>~``)."""
    payload: dict[str, Any] = {
        "iat": iat,
        "aud": audience,
        "nonce": nonce,
        "sd_hash": hash_b64(presented, sd_alg),
    }
    if transaction_data:
        alg = transaction_data_hashes_alg or "sha-256"
        payload["transaction_data_hashes"] = [
            transaction_data_hash(t, alg) for t in transaction_data
        ]
        if transaction_data_hashes_alg is not None:
            payload["transaction_data_hashes_alg"] = transaction_data_hashes_alg
    if extra_claims:
        payload.update(extra_claims)
    return holder_key.sign_jws({"typ": KB_TYP, "alg": holder_key.alg}, payload)


def _int_claim(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeyBindingError("kb_claim_missing", f"KB-JWT claim {name!r} missing or not a number")
    if isinstance(value, float) and not isfinite(value):  # "1e400" parses as inf
        raise KeyBindingError("kb_claim_missing", f"KB-JWT claim {name!r} is not a finite number")
    return int(value)


def _str_claim(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise KeyBindingError("kb_claim_missing", f"KB-JWT claim {name!r} missing or not a string")
    return value


def transaction_data_claims(payload: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """A KB-JWT payload's ``transaction_data_hashes`` and ``transaction_data_hashes_alg``
    (OpenID4VP 1.0 B.3.3.1), checked for shape: ``((), None)`` when it carries none. The
    delegated hops of :mod:`verifier.protocol.oid4vp.delegate` read theirs the same way."""
    hashes = payload.get("transaction_data_hashes")
    alg = payload.get("transaction_data_hashes_alg")
    if hashes is None:
        if alg is not None:
            raise KeyBindingError(
                "transaction_data_hash_alg_invalid",
                "transaction_data_hashes_alg without transaction_data_hashes",
            )
        return (), None
    if not isinstance(hashes, list) or not hashes or not all(isinstance(h, str) for h in hashes):
        raise KeyBindingError(
            "transaction_data_hash_missing",
            "transaction_data_hashes is not a non-empty string array",
        )
    if alg is not None and (not isinstance(alg, str) or alg not in TD_HASH_ALGS):
        raise KeyBindingError(
            "transaction_data_hash_alg_invalid", f"transaction_data_hashes_alg {alg!r} unsupported"
        )
    return tuple(hashes), alg


def verify_kb_jwt(
    token: str,
    *,
    holder_key: PublicKey,
    presented: str,
    sd_alg: str,
    audience: str,
    nonce: str,
    now: int,
    allowed_algs: Collection[str],
    max_age: int,
    leeway: int,
    presented_prefix: tuple[Any, int] | None = None,
) -> KeyBindingClaims:
    """Verify a KB-JWT for one presentation; raise the first failing check.

    ``presented_prefix``, when given, is a hashlib object of ``sd_alg`` that has been fed the
    first n characters of ``presented`` already, and n: ``sd_hash`` is checked against that hash
    continued with the rest, instead of a hash of ``presented`` from its start (the issuer JWT's
    signing input begins ``presented``, and :func:`~.vc.verify_presentation` has hashed it for
    the issuer signature). The object is updated here.
    """
    jws = parse_unverified_jws(token, what="KB-JWT")
    header, _, signing_input, signature = jws
    typ = header.get("typ")
    if typ != KB_TYP:
        raise KeyBindingError("kb_typ_invalid", f"KB-JWT typ {typ!r} != 'kb+jwt'")
    alg = jws.alg
    check_alg(alg, allowed_algs, what="KB-JWT")
    if not holder_key.verify(alg, signing_input, signature):
        raise SignatureError("kb_signature_invalid", "KB-JWT is not signed by the cnf key")
    payload = jws.payload_json(what="KB-JWT payload")
    iat = _int_claim(payload, "iat")
    aud = payload.get("aud")
    got_nonce = _str_claim(payload, "nonce")
    sd_hash = _str_claim(payload, "sd_hash")
    if not same_text(got_nonce, nonce):
        raise KeyBindingError("kb_nonce_mismatch", "KB-JWT nonce is not this request's nonce")
    if not isinstance(aud, str):
        raise KeyBindingError("kb_aud_mismatch", "KB-JWT aud is not a single string")
    if aud != audience:
        if audience.startswith(ORIGIN_AUDIENCE_PREFIX) and not aud.startswith(
            ORIGIN_AUDIENCE_PREFIX
        ):  # OpenID4VP A.4: over the DC API the client_id is never the audience
            raise KeyBindingError(
                "kb_aud_not_origin", f"KB-JWT aud {aud!r} is not origin:<origin> (DC API)"
            )
        raise KeyBindingError("kb_aud_mismatch", f"KB-JWT aud {aud!r} is not our audience")
    if iat > now + leeway or iat < now - max_age:
        raise KeyBindingError(
            "kb_iat_out_of_window", f"KB-JWT iat {iat} outside [{now - max_age}, {now + leeway}]"
        )
    if "exp" in payload and _int_claim(payload, "exp") <= now - leeway:
        raise KeyBindingError("kb_expired", "KB-JWT exp has passed")
    if presented_prefix is None:
        expected = hash_b64(presented, sd_alg)
    else:
        hashed, start = presented_prefix
        expected = continued_hash_b64(hashed, presented[start:])
    if sd_hash != expected:
        raise KeyBindingError(
            "kb_sd_hash_mismatch", "KB-JWT sd_hash does not match the presented SD-JWT"
        )
    hashes, td_alg = transaction_data_claims(payload)
    return KeyBindingClaims(
        iat=iat,
        aud=aud,
        nonce=got_nonce,
        sd_hash=sd_hash,
        transaction_data_hashes=hashes,
        transaction_data_hashes_alg=td_alg,
        payload=payload,
    )
