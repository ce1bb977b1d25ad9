"""SIOPv2 (draft 13) self-issued ID token, as OpenID4VP 1.0 combines it (digest §6).

With ``response_type=vp_token id_token`` and ``scope=openid`` the wallet returns, next to the
``vp_token``, an ID token it signed itself (SIOPv2 §11): ``iss`` equals ``sub`` (that is what
makes it self-issued), ``sub`` is the RFC 7638 SHA-256 thumbprint of the public key in
``sub_jwk`` (the "JWK Thumbprint" subject syntax type, SIOPv2 §8), ``aud`` the verifier's full
``client_id``, ``nonce`` the request nonce, ``iat``/``exp`` as OpenID Connect Core §2.

[gap] SIOPv2 prose makes ``sub`` the bare base64url thumbprint, while its example and its
validation step use the RFC 9278 URN ``urn:ietf:params:oauth:jwk-thumbprint:sha-256:<tp>``.
[impl] :func:`create_id_token` emits the URN by default; :func:`verify_id_token` accepts both
forms and compares against a thumbprint recomputed from ``sub_jwk``. DID subjects are not
supported.

Validation (SIOPv2 §11.1, in this order; the first failing check raises): compact JWS;
``alg`` allowed (``none``/``HS*`` never); ``iss`` == ``sub``; ``sub_jwk`` a public key;
``sub`` matches its thumbprint; signature by ``sub_jwk``; ``aud``; ``nonce`` (constant time);
``exp`` (with leeway); ``iat`` neither in the future nor older than ``max_age``. A required
claim that is absent or of the wrong JSON type raises ``id_token_claim_missing`` when its check
is reached. Replay of a nonce across sessions is the caller's concern (the nonce is per request).
Self-issued claims are self-attested only: the result proves possession of a key, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import IDTokenError, MalformedError, SignatureError
from ..jose import SigningKey, check_alg, jwk_thumbprint, parse_unverified_jws, public_key_from_jwk
from ..jose.jws import same_text

__all__ = [
    "JWK_THUMBPRINT_URN_PREFIX",
    "SelfIssuedSubject",
    "create_id_token",
    "thumbprint_subject",
    "verify_id_token",
]

JWK_THUMBPRINT_URN_PREFIX = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:"  # RFC 9278 §3
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True, slots=True)
class SelfIssuedSubject:
    """A verified self-issued ID token: who (a key thumbprint) and when."""

    sub: str  # as sent: URN or bare thumbprint
    thumbprint: str  # the bare RFC 7638 SHA-256 thumbprint of ``jwk``
    jwk: Mapping[str, Any]  # the public members of ``sub_jwk``
    iat: int
    exp: int


def thumbprint_subject(jwk: Mapping[str, Any], *, urn: bool = True) -> str:
    """The ``sub`` for a public JWK: RFC 9278 URN (default) or the bare RFC 7638 thumbprint."""
    thumbprint = jwk_thumbprint(jwk)
    return JWK_THUMBPRINT_URN_PREFIX + thumbprint if urn else thumbprint


def create_id_token(
    *,
    key: SigningKey,
    audience: str,
    nonce: str,
    iat: int,
    lifetime: int = 600,
    urn_subject: bool = True,
) -> str:
    """Sign a self-issued ID token for ``audience`` (the full ``client_id``) and ``nonce``.

    The header is ``{"alg": "ES256", "typ": "JWT"}`` for a P-256 key (plus ``kid`` when the key
    has one, as :meth:`SigningKey.sign_jws` does).
    """
    if lifetime <= 0:
        raise ValueError("lifetime must be positive")
    public_jwk = dict(key.public_key.jwk)  # the RFC 7638 members only: never "d"
    subject = thumbprint_subject(public_jwk, urn=urn_subject)
    payload: dict[str, Any] = {
        "iss": subject,
        "sub": subject,
        "sub_jwk": public_jwk,
        "aud": audience,
        "nonce": nonce,
        "iat": iat,
        "exp": iat + lifetime,
    }
    return key.sign_jws({"alg": key.alg, "typ": "JWT"}, payload)


def _missing(name: str, kind: str) -> IDTokenError:
    return IDTokenError("id_token_claim_missing", f"ID token claim {name!r} missing or not {kind}")


def _str_claim(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise _missing(name, "a string")
    return value


def _int_claim(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _missing(name, "a number")
    if isinstance(value, float) and not math.isfinite(value):  # "1e400" parses as inf
        raise _missing(name, "a finite number")
    return int(value)


def _audience_ok(aud: Any, audience: str) -> bool:
    if isinstance(aud, str):
        return aud == audience
    if isinstance(aud, list):
        return audience in aud
    return False


def verify_id_token(
    token: str,
    *,
    audience: str,
    nonce: str,
    now: int,
    leeway: int = 60,
    max_age: int = 600,
    allowed_algs: Collection[str] = frozenset({"ES256"}),
) -> SelfIssuedSubject:
    """Verify a self-issued ID token; raise the first failing check (see module docstring)."""
    if not token:
        raise IDTokenError("id_token_missing", "the response has no id_token")
    jws = parse_unverified_jws(token, what="ID token")
    check_alg(jws.alg, allowed_algs, what="ID token")
    payload = jws.payload_json(what="ID token payload")

    iss = _str_claim(payload, "iss")
    sub = _str_claim(payload, "sub")
    if iss != sub:
        raise IDTokenError("id_token_not_self_issued", "ID token iss differs from sub")

    sub_jwk = payload.get("sub_jwk")
    if sub_jwk is None:
        raise _missing("sub_jwk", "a JWK (only JWK-thumbprint subjects are supported)")
    if not isinstance(sub_jwk, dict):
        raise MalformedError("malformed_jwk", "ID token sub_jwk is not a JSON object")
    if _PRIVATE_JWK_MEMBERS & sub_jwk.keys():
        raise MalformedError("malformed_jwk", "ID token sub_jwk carries private key members")
    public_key = public_key_from_jwk(sub_jwk)

    thumbprint = public_key.thumbprint
    if sub not in (thumbprint, JWK_THUMBPRINT_URN_PREFIX + thumbprint):
        raise IDTokenError("id_token_sub_mismatch", "ID token sub is not the sub_jwk thumbprint")

    if not public_key.verify(jws.alg, jws.signing_input, jws.signature):
        raise SignatureError("id_token_signature_invalid", "ID token is not signed by sub_jwk")

    if "aud" not in payload:
        raise _missing("aud", "present")
    if not _audience_ok(payload["aud"], audience):
        raise IDTokenError("id_token_aud_mismatch", f"ID token aud is not {audience!r}")

    if not same_text(_str_claim(payload, "nonce"), nonce):
        raise IDTokenError("id_token_nonce_mismatch", "ID token nonce is not this request's nonce")

    exp = _int_claim(payload, "exp")
    if exp <= now - leeway:
        raise IDTokenError("id_token_expired", f"ID token expired at {exp} (now {now})")

    iat = _int_claim(payload, "iat")
    if iat > now + leeway or iat < now - max_age:
        raise IDTokenError(
            "id_token_iat_invalid", f"ID token iat {iat} outside [{now - max_age}, {now + leeway}]"
        )

    return SelfIssuedSubject(
        sub=sub, thumbprint=thumbprint, jwk=dict(public_key.jwk), iat=iat, exp=exp
    )
