"""base64url (RFC 4648 §5, unpadded, as JOSE and SD-JWT use it) and the hashes over it.

Decoding is strict and canonical: only the URL-safe alphabet, no padding, no whitespace, and
the bits a final partial character does not use must be zero (RFC 4648 §3.5). Each byte string
then has exactly one text, so the text of a signature, a KB-JWT or a disclosure cannot be
changed without changing its bytes - ``decode(text)`` re-encodes to ``text`` or is refused
(``base64url_not_canonical``).

When :mod:`.b64codec` runs compiled, ``bytes`` are encoded and decoded by its loops (the same
bytes, the same texts accepted); a text it does not accept goes on to the standard path below,
which raises the precise error. When the :mod:`.sha2_openssl` binding is compiled, a digest in
base64url is one call into it (the same text as ``hashlib`` and the encoder give).
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Callable
from typing import Any

import pybase64

from ..errors import AlgorithmError, MalformedError
from . import b64codec

__all__ = [
    "b64url_decode",
    "b64url_decode_ascii",
    "b64url_decode_json_ascii",
    "b64url_encode",
    "continued_hash_b64",
    "digest_b64_function",
    "hash_b64",
    "hash_object",
]

# SHA-2 digests in base64url straight on libcrypto, compiled only (verifier/native.py BINDINGS).
# Without it (not built, not current, AGENTVP_NATIVE=0, or a libcrypto that will not fetch one
# of the three digests: RuntimeError at its import), hashlib and the encoder below: the same texts.
try:
    from .sha2_openssl import DIGESTS as _OPENSSL_DIGESTS
except (ImportError, RuntimeError):
    _OPENSSL_DIGESTS = {}

_b2a = binascii.b2a_base64
# pybase64's SIMD decoder (binascii-compatible; validate=True refuses every byte outside the
# standard alphabet and wrong padding): ~5 x faster than binascii's strict mode on a 2 KB JWT
# payload. The URL-safe and canonical rules stay ours, below.
_a2b_strict = pybase64.b64decode
# Empty hash objects, copied per use: hashlib.sha256() looks its algorithm up in OpenSSL by
# name on every call (py_evp_fromname, ~10 k instructions); .copy() of a ready one does not.
_HASHES = {
    "sha-256": hashlib.sha256(),
    "sha-384": hashlib.sha384(),
    "sha-512": hashlib.sha512(),
}
_TO_STANDARD_STRICT = bytes.maketrans(b"-_+/=", b"+/!!!")
_FROM_STANDARD = bytes.maketrans(b"+/", b"-_")
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The value of each alphabet character (other bytes never reach the lookup: decoding failed).
_VALUE = bytes(_ALPHABET.index(c) if c in _ALPHABET else 0 for c in range(256))
# Text length mod 4 -> the bits of the last character that carry no data: 2 characters hold
# one byte (4 spare bits), 3 characters hold two bytes (2 spare bits).
_SPARE_BITS = (0, 0, 0x0F, 0x03)
# Text length mod 4 -> the padding strict decoding wants (length 1 mod 4 is refused anyway).
_PAD = (b"", b"===", b"==", b"=")
# The one-pass codec, only when compiled (as Python it is slower than the C calls below).
_FAST = b64codec.COMPILED
_fast_decode = b64codec.decode
_fast_decode_text = b64codec.decode_text
_fast_encode = b64codec.encode


def b64url_encode(data: bytes) -> str:
    if _FAST and type(data) is bytes:
        return _fast_encode(data)
    return _b2a(data, newline=False).translate(_FROM_STANDARD).rstrip(b"=").decode()


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Strict, canonical decode: only the URL-safe alphabet, no padding, no whitespace, no
    non-zero spare bits in the last character."""
    try:
        raw = text.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise MalformedError("malformed_base64url", f"{what} is not ASCII base64url") from None
    return b64url_decode_ascii(raw, what)


def b64url_decode_ascii(raw: bytes, what: str = "value") -> bytes:
    """:func:`b64url_decode` of text already encoded to ASCII bytes (the same checks)."""
    size = len(raw)
    if _FAST and type(raw) is bytes:
        data = _fast_decode(raw)
        if data is not None:
            return data
    try:
        # One pass: "-_" become "+/", and "+", "/", "=" become "!", which strict mode refuses.
        # (altchars=None, validate=True) passed by position: its keyword parsing costs more
        # than a ~100-byte disclosure's decoding
        data = _a2b_strict(raw.translate(_TO_STANDARD_STRICT) + _PAD[size & 3], None, True)
    except (binascii.Error, ValueError):
        if b"+" in raw or b"/" in raw or b"=" in raw:
            raise MalformedError(
                "malformed_base64url", f"{what} is not unpadded base64url"
            ) from None
        raise MalformedError("malformed_base64url", f"{what} is not valid base64url") from None
    if size and _VALUE[raw[-1]] & _SPARE_BITS[size & 3]:
        raise MalformedError(
            "base64url_not_canonical",
            f"{what} is not canonical base64url: its last character sets bits that carry no "
            "data (RFC 4648 §3.5), so another text spells the same bytes",
        )
    return data


def b64url_decode_json_ascii(raw: bytes, max_bytes: int, what: str = "value") -> str | bytes:
    """:func:`b64url_decode_ascii` for a JSON text: what it decodes to, as ``str`` when the
    compiled codec decodes it, it is valid UTF-8 and at most ``max_bytes`` bytes long (so a
    parser's byte limit reads the same for both forms), saving the copy :func:`.jsonutil.loads`
    makes to decode it; else as the ``bytes`` (the same checks; ``loads`` reports bad UTF-8)."""
    if _FAST and type(raw) is bytes and (len(raw) * 3) >> 2 <= max_bytes:
        text = _fast_decode_text(raw)
        if text is not None:
            return text
    return b64url_decode_ascii(raw, what)


def hash_object(alg: str) -> Any:
    """The empty hash object of ``alg`` (an IANA Named Information hash name): ``.copy()`` it
    per use, never update it."""
    hasher = _HASHES.get(alg)
    if hasher is None:
        raise AlgorithmError("hash_alg_unsupported", f"hash algorithm {alg!r} is not supported")
    return hasher


def digest_b64_function(alg: str) -> Callable[[bytes], str]:
    """The function ``raw -> base64url(H(raw))`` of ``alg`` (an IANA Named Information hash
    name): the :mod:`.sha2_openssl` binding's when compiled, else ``hashlib``'s; for a loop
    over many inputs (the disclosures of a presentation)."""
    native = _OPENSSL_DIGESTS.get(alg)
    if native is not None:
        return native.b64url
    hasher = hash_object(alg)
    return lambda raw: _finished_b64(hasher.copy(), raw)


def hash_b64(data: str, alg: str = "sha-256") -> str:
    """base64url(H(ASCII(data))) with ``alg`` an IANA Named Information hash name."""
    native = _OPENSSL_DIGESTS.get(alg)
    if native is not None:
        return native.b64url(_hash_input(data))
    return continued_hash_b64(hash_object(alg).copy(), data)


def continued_hash_b64(hashed: Any, data: str) -> str:
    """base64url of the digest of ``hashed`` (a hashlib object, updated here) fed ASCII(data)
    after whatever it was fed before: :func:`hash_b64` of a text whose start is hashed already."""
    return _finished_b64(hashed, _hash_input(data))


def _hash_input(data: str) -> bytes:
    try:
        return data.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedError("malformed_base64url", "hash input is not ASCII base64url") from None


def _finished_b64(hashed: Any, raw: bytes) -> str:
    """base64url of the digest of ``hashed`` (a hashlib object) once fed ``raw``."""
    hashed.update(raw)
    return b64url_encode(hashed.digest())
