"""JWE (RFC 7516/7518): ECDH-ES direct key agreement with AES-GCM, as OpenID4VP/HAIP encrypted
responses use it - and nothing else, on ``cryptography`` alone (no second JOSE parser).

Decryption (:func:`decrypt_jwe`) checks, in this order, each failure with its code:

- five segments, at most ``max_bytes`` (``malformed_jwe`` / ``input_too_large``); every
  segment strict, canonical base64url (``malformed_base64url`` / ``base64url_not_canonical``),
  so one ciphertext has exactly one text;
- the protected header: a JSON object without duplicate members; ``alg`` ``ECDH-ES`` and an
  ``enc`` the caller offered (``alg_not_allowed``), ``kid`` naming the caller's key, no ``zip``
  or ``crit`` (``malformed_jwe``), ``epk`` an EC P-256 point on the curve (``malformed_jwe`` /
  ``malformed_jwk``), ``apu``/``apv`` strings of at most 512 bytes when present; other members
  are authenticated and otherwise ignored (RFC 7516 §4);
- no encrypted key (RFC 7518 §4.6: direct key agreement; ``jwe_decryption_failed``), a 96-bit
  IV (RFC 7518 §5.3; ``jwe_iv_invalid``) and a 128-bit tag (``jwe_tag_invalid``);
- the content key from ECDH and the Concat KDF with ``apu``/``apv`` as PartyUInfo/PartyVInfo
  (RFC 7518 §4.6.2), and AES-GCM with the *received* protected-header text as the additional
  authenticated data (RFC 7516 §5.2 step 14); a wrong tag is ``jwe_decryption_failed``.

:func:`encrypt_jwe` is the wallet side (the simulator) of the same profile.

:func:`new_decryption_jwk` makes a verifier's per-transaction key as a private JWK (for the
store) and keeps the parsed key in this process, bounded, for the one :func:`decrypt_jwe` with
exactly that JWK (``x``, ``y`` and ``d`` equal) that takes it back out: loading a private key
from its JWK costs about a third of an ECDH exchange. Any other JWK (another process's, or one
asked for twice) is loaded and checked as ever.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import jsonutil
from ..errors import AlgorithmError, MalformedError, SignatureError
from .base64url import b64url_decode, b64url_encode
from .jwk import coordinate, public_key_from_jwk

__all__ = [
    "JWE_ALGS",
    "JWE_ENCS",
    "decrypt_jwe",
    "encrypt_jwe",
    "new_decryption_jwk",
    "parse_unverified_jwe_header",
]

JWE_ALGS = frozenset({"ECDH-ES"})
JWE_ENCS = frozenset({"A128GCM", "A256GCM"})
_KEY_BYTES = {"A128GCM": 16, "A256GCM": 32}
_IV_BYTES = 12  # RFC 7518 §5.3: "Use of an IV of size 96 bits is REQUIRED"
_TAG_BYTES = 16  # RFC 7518 §5.3: "the Authentication Tag ... MUST be 128 bits"
_MAX_PARTY_INFO = 512

# (x, y, d) of a key new_decryption_jwk made -> the key, until decrypt_jwe takes it; at most
# _FRESH_KEYS of them (the oldest dropped first: its response, if one comes, loads the JWK).
_FRESH_KEYS = 4096
_fresh: dict[tuple[str, str, str], ec.EllipticCurvePrivateKey] = {}


def parse_unverified_jwe_header(token: str, *, max_bytes: int) -> dict[str, Any]:
    """Read the protected header of a compact JWE without decrypting anything."""
    if len(token) > max_bytes:
        raise MalformedError("input_too_large", f"JWE is {len(token)} bytes, limit {max_bytes}")
    parts = token.split(".")
    if len(parts) != 5:
        raise MalformedError("malformed_jwe", f"JWE has {len(parts)} parts, expected 5")
    header = jsonutil.loads(b64url_decode(parts[0], what="JWE header"), what="JWE header")
    if not isinstance(header, dict):
        raise MalformedError("malformed_jwe", "JWE header is not a JSON object")
    return header


def _concat_kdf(shared: bytes, enc: str, party_u: bytes, party_v: bytes) -> bytes:
    """RFC 7518 §4.6.2 (NIST SP 800-56A Concat KDF, SHA-256, one round): the content key for
    direct key agreement, AlgorithmID = ``enc``, SuppPubInfo = key length in bits."""
    size = _KEY_BYTES[enc]
    other_info = b"".join(
        len(field).to_bytes(4, "big") + field for field in (enc.encode(), party_u, party_v)
    )
    other_info += (size * 8).to_bytes(4, "big")
    return hashlib.sha256(b"\x00\x00\x00\x01" + shared + other_info).digest()[:size]


def _party_info(header: Mapping[str, Any], name: str) -> bytes:
    value = header.get(name)
    if value is None:
        return b""
    if not isinstance(value, str):
        raise MalformedError("malformed_jwe", f"JWE {name!r} is not a base64url string")
    raw = b64url_decode(value, what=f"JWE {name}")
    if len(raw) > _MAX_PARTY_INFO:
        raise MalformedError("malformed_jwe", f"JWE {name!r} is longer than {_MAX_PARTY_INFO}")
    return raw


def _p256_public(jwk: Any, what: str) -> ec.EllipticCurvePublicKey:
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise MalformedError("malformed_jwe", f"{what} must be an EC P-256 public key")
    key: ec.EllipticCurvePublicKey = public_key_from_jwk(jwk).key  # checks the point
    return key


def encrypt_jwe(
    plaintext: bytes,
    recipient_jwk: Mapping[str, Any],
    *,
    enc: str,
    alg: str = "ECDH-ES",
    apu: bytes | None = None,
    apv: bytes | None = None,
) -> str:
    """Encrypt to a verifier's P-256 public JWK; ``kid`` is copied when the JWK has one."""
    if alg not in JWE_ALGS or enc not in JWE_ENCS:
        raise AlgorithmError("alg_not_allowed", f"JWE {alg}/{enc} is not supported")
    peer = _p256_public(recipient_jwk, "JWE recipient key")
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    numbers = ephemeral.public_key().public_numbers()
    epk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }
    protected: dict[str, Any] = {"alg": alg, "enc": enc, "epk": epk}
    if "kid" in recipient_jwk:
        protected["kid"] = recipient_jwk["kid"]
    for name, value in (("apu", apu), ("apv", apv)):
        if value is not None:
            protected[name] = b64url_encode(value)
    head = b64url_encode(jsonutil.dumps_compact(protected).encode())
    cek = _concat_kdf(ephemeral.exchange(ec.ECDH(), peer), enc, apu or b"", apv or b"")
    iv = secrets.token_bytes(_IV_BYTES)
    sealed = AESGCM(cek).encrypt(iv, plaintext, head.encode("ascii"))
    ciphertext, tag = sealed[:-_TAG_BYTES], sealed[-_TAG_BYTES:]
    return ".".join((head, "", b64url_encode(iv), b64url_encode(ciphertext), b64url_encode(tag)))


def _check_header(
    header: Mapping[str, Any], *, expected_kid: str | None, allowed_enc: Collection[str]
) -> str:
    """The header checks of RFC 7516 §5.2 steps 2-5 for our one profile; returns ``enc``."""
    alg, enc = header.get("alg"), header.get("enc")  # any JSON value, maybe not hashable
    if not isinstance(alg, str) or alg not in JWE_ALGS:
        raise AlgorithmError("alg_not_allowed", f"JWE alg {alg!r} is not ECDH-ES")
    if not isinstance(enc, str) or enc not in allowed_enc or enc not in JWE_ENCS:
        raise AlgorithmError("alg_not_allowed", f"JWE enc {enc!r} was not offered")
    if expected_kid is not None and header.get("kid") != expected_kid:
        raise MalformedError("malformed_jwe", "JWE kid does not name this transaction's key")
    if "zip" in header or "crit" in header:
        raise MalformedError("malformed_jwe", "JWE 'zip'/'crit' headers are refused")
    return enc


def _segment(text: str, what: str, size: int | None, code: str) -> bytes:
    raw = b64url_decode(text, what=f"JWE {what}")
    if size is not None and len(raw) != size:
        raise MalformedError(
            code, f"JWE {what} is {len(raw) * 8} bits; RFC 7518 §5.3 requires {size * 8}"
        )
    return raw


def new_decryption_jwk(kid: str) -> dict[str, Any]:
    """A new P-256 key for ECDH-ES as a private JWK (``kty``, ``crv``, ``x``, ``y``, ``kid``,
    ``d``); its parsed key is kept for the decryption that follows (module docstring)."""
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.private_numbers()  # the private value and the point, in one call
    point = numbers.public_numbers
    x, y = b64url_encode(point.x.to_bytes(32, "big")), b64url_encode(point.y.to_bytes(32, "big"))
    d = b64url_encode(numbers.private_value.to_bytes(32, "big"))
    _fresh[(x, y, d)] = key
    if len(_fresh) > _FRESH_KEYS:
        del _fresh[next(iter(_fresh))]
    return {"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "d": d}


def _private_p256(private_jwk: Mapping[str, Any]) -> ec.EllipticCurvePrivateKey:
    if private_jwk.get("kty") != "EC" or private_jwk.get("crv") != "P-256":
        raise MalformedError("malformed_jwk", "the decryption key is not an EC P-256 key")
    x, y, d = private_jwk.get("x"), private_jwk.get("y"), private_jwk.get("d")
    if type(x) is str and type(y) is str and type(d) is str:
        fresh = _fresh.pop((x, y, d), None)
        if fresh is not None:
            return fresh
    public = ec.EllipticCurvePublicNumbers(
        coordinate(private_jwk, "x", 32), coordinate(private_jwk, "y", 32), ec.SECP256R1()
    )
    secret = coordinate(private_jwk, "d", 32)
    try:
        return ec.EllipticCurvePrivateNumbers(secret, public).private_key()
    except ValueError:
        raise MalformedError("malformed_jwk", "the decryption key is not a valid key") from None


def decrypt_jwe(
    token: str,
    private_jwk: Mapping[str, Any],
    *,
    expected_kid: str | None,
    allowed_enc: Collection[str],
    max_bytes: int = jsonutil.DEFAULT_MAX_BYTES,
) -> tuple[dict[str, Any], bytes]:
    """Decrypt a compact ECDH-ES JWE with ``private_jwk`` (see the module docstring)."""
    header = parse_unverified_jwe_header(token, max_bytes=max_bytes)
    enc = _check_header(header, expected_kid=expected_kid, allowed_enc=allowed_enc)
    peer = _p256_public(header.get("epk"), "JWE epk")
    party_u, party_v = _party_info(header, "apu"), _party_info(header, "apv")
    protected, encrypted_key, iv_b64, ciphertext_b64, tag_b64 = token.split(".")
    if encrypted_key:
        raise SignatureError("jwe_decryption_failed", "ECDH-ES direct has no encrypted key")
    iv = _segment(iv_b64, "initialization vector", _IV_BYTES, "jwe_iv_invalid")
    tag = _segment(tag_b64, "authentication tag", _TAG_BYTES, "jwe_tag_invalid")
    ciphertext = _segment(ciphertext_b64, "ciphertext", None, "malformed_jwe")
    shared = _private_p256(private_jwk).exchange(ec.ECDH(), peer)
    cek = _concat_kdf(shared, enc, party_u, party_v)
    try:  # RFC 7516 §5.2 step 14: AAD = ASCII(the protected header as received)
        plaintext = AESGCM(cek).decrypt(iv, ciphertext + tag, protected.encode("ascii"))
    except InvalidTag:
        raise SignatureError("jwe_decryption_failed", "JWE does not decrypt with our key") from None
    return header, plaintext
