# cython: boundscheck=False, wraparound=False
"""Canonical base64url as plain loops over bytes, for the compiled build of :mod:`.base64url`.

:mod:`.base64url` encodes with ``binascii`` and decodes with pybase64's SIMD decoder, each
wrapped in a translation between the two alphabets, padding and a spare-bits check: four or
five C calls and as many new objects per text. Most texts a presentation carries are short
(six ~100-character disclosures, seven 43-character digests, the JWS signatures), and for them
those calls cost more than the decoding. Compiled with Cython (``b64codec.pxd`` types every
local as a C integer or a byte pointer), this module does the same work in one pass and one
new object, and :mod:`.base64url` uses it then. It is faster at every length measured, from a
43-character digest (0.15 against 0.28 µs to decode) to 1.3 MB (0.5 against 1.2 ms): the
standard path's translation copies the text before the SIMD decoder reads it. As Python it
is correct but slow, so :mod:`.base64url` keeps its standard path when this module is not
compiled.

:func:`decode` accepts exactly what :func:`.base64url.b64url_decode_ascii` accepts - the
URL-safe alphabet, no padding, a length that is not 1 modulo 4, zero spare bits in the last
character - and returns the same bytes; for anything else it returns ``None`` and the caller
runs its standard path, which raises the precise error. :func:`decode_text` is the same
followed by strict UTF-8 decoding, for a JSON text (a disclosure): the text comes from the
decoder's own buffer, one copy fewer than ``bytes`` and then ``str``. :func:`encode` returns
the unpadded base64url text of any bytes. ``tests/unit/test_b64codec.py`` holds both builds to the
standard path.

The first line turns Cython's own index checks off in the compiled build: every read of
``src[i]`` is behind a bound on ``i`` derived from the length, every table index is a byte
(0-255) or a 6-bit value, and every ``dst[k]`` is below the size the output was made with.
"""

from __future__ import annotations

__all__ = ["COMPILED", "decode", "decode_text", "encode"]

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Each byte's 6-bit value; 64 (a bit no value has) for every byte outside the alphabet.
_VALUES = bytes(_ALPHABET.index(c) if c in _ALPHABET else 64 for c in range(256))


def decode(raw: bytes) -> bytes | None:
    """The bytes the canonical unpadded base64url text ``raw`` spells, or ``None``."""
    if len(raw) & 3 == 1:
        return None
    out = bytearray((len(raw) * 3) >> 2)
    return bytes(out) if _decode_into(raw, out) else None


def decode_text(raw: bytes) -> str | None:
    """:func:`decode`, then the bytes as UTF-8 text; ``None`` if either step fails."""
    if len(raw) & 3 == 1:
        return None
    out = bytearray((len(raw) * 3) >> 2)
    if not _decode_into(raw, out):
        return None
    try:
        return out.decode()
    except UnicodeDecodeError:
        return None


def _decode_into(raw: bytes, out: bytearray) -> bool:
    """Decode ``raw`` (length not 1 modulo 4) into ``out`` (its size); False if not canonical."""
    n = len(raw)
    tail = n & 3
    table = _VALUES  # held locally: the byte pointer below reads this object
    values = table
    src = raw
    dst = out
    full = n - tail
    bad = 0
    i = 0
    k = 0
    while i < full:
        a = values[src[i]]
        b = values[src[i + 1]]
        c = values[src[i + 2]]
        d = values[src[i + 3]]
        bad |= a | b | c | d
        dst[k] = ((a << 2) | (b >> 4)) & 0xFF
        dst[k + 1] = ((b << 4) | (c >> 2)) & 0xFF
        dst[k + 2] = ((c << 6) | d) & 0xFF
        i += 4
        k += 3
    if tail:
        a = values[src[i]]
        b = values[src[i + 1]]
        bad |= a | b
        dst[k] = ((a << 2) | (b >> 4)) & 0xFF
        if tail == 3:
            c = values[src[i + 2]]
            bad |= c
            if c & 0x03:  # two spare bits set: not canonical
                return False
            dst[k + 1] = ((b << 4) | (c >> 2)) & 0xFF
        elif b & 0x0F:  # four spare bits set: not canonical
            return False
    return not bad & 64  # else a byte outside the alphabet


def encode(data: bytes) -> str:
    """The unpadded base64url text of ``data``."""
    n = len(data)
    rest = n % 3
    full = n - rest
    out = bytearray((n * 4 + 2) // 3)
    alphabet = _ALPHABET  # held locally: the byte pointer below reads this object
    chars = alphabet
    src = data
    dst = out
    i = 0
    k = 0
    while i < full:
        a = src[i]
        b = src[i + 1]
        c = src[i + 2]
        dst[k] = chars[a >> 2]
        dst[k + 1] = chars[((a & 0x03) << 4) | (b >> 4)]
        dst[k + 2] = chars[((b & 0x0F) << 2) | (c >> 6)]
        dst[k + 3] = chars[c & 0x3F]
        i += 3
        k += 4
    if rest:
        a = src[i]
        b = src[i + 1] if rest == 2 else 0
        dst[k] = chars[a >> 2]
        dst[k + 1] = chars[((a & 0x03) << 4) | (b >> 4)]
        if rest == 2:
            dst[k + 2] = chars[(b & 0x0F) << 2]
    return out.decode("ascii")


COMPILED = __file__.endswith((".so", ".pyd"))
