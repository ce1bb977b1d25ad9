"""base64url (RFC 4648 §5, unpadded, as JOSE and SD-JWT use it) and the hashes over it.

Decoding is strict: only the URL-safe alphabet, no padding, no whitespace.
"""

from __future__ import annotations

import binascii
import hashlib

from ..errors import AlgorithmError, MalformedError

__all__ = ["b64url_decode", "b64url_encode", "hash_b64"]

_HASHES = {"sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512}
_TO_STANDARD_STRICT = bytes.maketrans(b"-_+/=", b"+/!!!")
_FROM_STANDARD = bytes.maketrans(b"+/", b"-_")


def b64url_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_FROM_STANDARD).rstrip(b"=").decode()


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Strict decode: only the URL-safe alphabet, no padding, no whitespace."""
    try:
        raw = text.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise MalformedError("malformed_base64url", f"{what} is not ASCII base64url") from None
    try:
        # One pass: "-_" become "+/", and "+", "/", "=" become "!", which strict mode refuses.
        return binascii.a2b_base64(
            raw.translate(_TO_STANDARD_STRICT) + b"=" * (-len(raw) % 4), strict_mode=True
        )
    except binascii.Error:
        if b"+" in raw or b"/" in raw or b"=" in raw:
            raise MalformedError(
                "malformed_base64url", f"{what} is not unpadded base64url"
            ) from None
        raise MalformedError("malformed_base64url", f"{what} is not valid base64url") from None


def hash_b64(data: str, alg: str = "sha-256") -> str:
    """base64url(H(ASCII(data))) with ``alg`` an IANA Named Information hash name."""
    hasher = _HASHES.get(alg)
    if hasher is None:
        raise AlgorithmError("hash_alg_unsupported", f"hash algorithm {alg!r} is not supported")
    try:
        raw = data.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedError("malformed_base64url", "hash input is not ASCII base64url") from None
    return b64url_encode(hasher(raw).digest())
