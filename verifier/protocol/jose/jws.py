"""Compact JWS (RFC 7515): split, check the algorithm against an explicit allow-list, verify.

``none`` and every ``HS*`` algorithm are refused for signatures whatever the caller allows
(RFC 8725 §3.1/§3.2 - an HMAC "signature" keyed with a public key is the classic key-confusion
forgery). Nothing returned by :func:`parse_unverified_jws` has been verified.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from functools import lru_cache
from typing import Any, NamedTuple

from ..errors import AlgorithmError, MalformedError, SignatureError
from ..jsonutil import loads
from .base64url import b64url_decode, b64url_decode_ascii
from .jwk import PublicKey

__all__ = [
    "SIGNING_ALGS",
    "CompactJWS",
    "check_alg",
    "parse_unverified_jws",
    "same_text",
    "verify_jws",
]

# Algorithms we can verify. Callers narrow this with their own allow-list.
SIGNING_ALGS = frozenset({"ES256", "ES384", "ES512", "EdDSA", "Ed25519", "PS256", "RS256"})
_FORBIDDEN_ALGS = frozenset({"none", "HS256", "HS384", "HS512"})
_MAX_HEADER = 16 * 1024  # x5c chains included
_tuple_new = tuple.__new__  # see parse_unverified_jws


class CompactJWS(NamedTuple):
    """A compact JWS split into its parts. Nothing here has been verified."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    def payload_json(self, *, what: str = "JWT payload") -> dict[str, Any]:
        value = loads(self.payload, what=what)
        if not isinstance(value, dict):
            raise MalformedError("malformed_jwt", f"{what} is not a JSON object")
        return value


@lru_cache(maxsize=1024)
def _parse_header(header_b64: str, what: str) -> dict[str, Any]:
    """Headers repeat across tokens of one issuer or holder; parse each distinct one once."""
    header = loads(b64url_decode(header_b64, what=f"{what} header"), what=f"{what} header")
    if not isinstance(header, dict):
        raise MalformedError("malformed_jwt", f"{what} header is not a JSON object")
    if not isinstance(header.get("alg"), str):
        raise MalformedError("malformed_jwt", f"{what} header has no string 'alg'")
    if "crit" in header:
        raise MalformedError("malformed_jwt", f"{what} header 'crit' names extensions we refuse")
    return header


def parse_unverified_jws(token: str, *, what: str = "JWT") -> CompactJWS:
    """Split a compact JWS; check the header is a JSON object with a string ``alg``."""
    # Exactly two dots, found by searching (memchr) instead of splitting the whole token.
    first, last = token.find("."), token.rfind(".")
    if first == last or token.find(".", first + 1, last) != -1:  # one, none, or more than two
        raise MalformedError(
            "malformed_jwt", f"{what} has {token.count('.') + 1} parts, expected 3"
        )
    header_b64 = token[:first]
    if first > _MAX_HEADER:
        raise MalformedError("input_too_large", f"{what} header is longer than {_MAX_HEADER}")
    header = dict(_parse_header(header_b64, what))  # a copy: the cached one stays pristine
    if not token.isascii():  # the strict decoder refuses the payload or the signature
        return CompactJWS(
            header=header,
            payload=b64url_decode(token[first + 1 : last], what=what),
            signing_input=token[:last].encode("ascii"),
            signature=b64url_decode(token[last + 1 :], what=what),
        )
    # One ASCII copy of the token; the signing input and both decodes are slices of it.
    raw = token.encode("ascii")
    payload = b64url_decode_ascii(raw[first + 1 : last], what)
    signature = b64url_decode_ascii(raw[last + 1 :], what)
    # CompactJWS(header, payload, signing_input, signature) without the named tuple's generated
    # __new__ (Python code, interpreted even in the compiled build): the same object.
    return _tuple_new(CompactJWS, (header, payload, raw[:last], signature))


def same_text(a: str, b: str) -> bool:
    """Whether a JWT claim's text equals what was expected (a nonce, a hash), in constant time.
    ASCII texts are compared as they are (``str.isascii()`` reads a flag: O(1)); others as UTF-8,
    lone surrogates kept, so any two texts compare as ``==`` does."""
    if a.isascii() and b.isascii():
        return hmac.compare_digest(a, b)
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def check_alg(alg: str, allowed: Collection[str], *, what: str) -> None:
    if alg in _FORBIDDEN_ALGS or alg not in allowed or alg not in SIGNING_ALGS:
        raise AlgorithmError("alg_not_allowed", f"{what} alg {alg!r} is not allowed")


def verify_jws(
    jws: CompactJWS,
    key: PublicKey,
    *,
    allowed_algs: Collection[str],
    code: str = "signature_invalid",
    what: str = "JWT",
) -> None:
    """Raise unless ``jws`` carries an allowed ``alg`` and a valid signature by ``key``."""
    check_alg(jws.alg, allowed_algs, what=what)
    if not key.verify(jws.alg, jws.signing_input, jws.signature):
        raise SignatureError(code, f"{what} signature does not verify with the expected key")
