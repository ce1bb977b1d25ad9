"""JWE (RFC 7516/7518): ECDH-ES direct key agreement with AES-GCM, as OpenID4VP/HAIP encrypted
responses use it. Plain wallet tokens are decrypted on ``cryptography`` directly; anything else
falls back to ``jwcrypto`` (the only module that imports it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from jwcrypto import jwe, jwk
from jwcrypto.common import JWException

from .. import jsonutil
from ..errors import AlgorithmError, MalformedError, SignatureError
from .base64url import b64url_decode, b64url_encode
from .jwk import PublicKey, coordinate, public_key_from_jwk

__all__ = [
    "JWE_ALGS",
    "JWE_ENCS",
    "decrypt_jwe",
    "encrypt_jwe",
    "parse_unverified_jwe_header",
]

JWE_ALGS = frozenset({"ECDH-ES"})
JWE_ENCS = frozenset({"A128GCM", "A256GCM"})


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


def encrypt_jwe(
    plaintext: bytes, recipient_jwk: Mapping[str, Any], *, enc: str, alg: str = "ECDH-ES"
) -> str:
    """Encrypt to a verifier's public JWK; ``kid`` is copied when the JWK has one."""
    if alg not in JWE_ALGS or enc not in JWE_ENCS:
        raise AlgorithmError("alg_not_allowed", f"JWE {alg}/{enc} is not supported")
    public = {k: v for k, v in recipient_jwk.items() if k in ("kty", "crv", "x", "y", "kid")}
    protected: dict[str, Any] = {"alg": alg, "enc": enc}
    if "kid" in recipient_jwk:
        protected["kid"] = recipient_jwk["kid"]
    token = jwe.JWE(plaintext, protected=json.dumps(protected))
    token.add_recipient(jwk.JWK(**public))
    return str(token.serialize(compact=True))


_PLAIN_JWE_HEADER = frozenset({"alg", "enc", "kid", "epk", "typ", "cty"})
_PLAIN_EPK = frozenset({"kty", "crv", "x", "y"})
_GCM_KEY_BYTES = {"A128GCM": 16, "A256GCM": 32}


def _decrypt_ecdh_es_direct(
    token: str, header: Mapping[str, Any], peer: PublicKey, private_jwk: Mapping[str, Any]
) -> bytes | None:
    """ECDH-ES (direct key agreement, Concat KDF with SHA-256) + AES-GCM on ``cryptography``
    alone (RFC 7518 §4.6, §5.3): about a quarter of jwcrypto's cost, which rebuilds both keys
    as JWK objects on every call. It does exactly what jwcrypto does for the plain tokens
    wallets send - the AAD is the protected header re-encoded from its bytes and an empty
    plaintext is a failure, as in jwcrypto - and returns None (jwcrypto then decides) for
    anything else: ``apu``/``apv`` or other header members, an ``epk`` with extra members, a
    segment that is not strict base64url, a key that is not P-256."""
    if not header.keys() <= _PLAIN_JWE_HEADER or header["epk"].keys() != _PLAIN_EPK:
        return None
    if private_jwk.get("kty") != "EC" or private_jwk.get("crv") != "P-256":
        return None
    protected, encrypted_key, iv_b64, ciphertext_b64, tag_b64 = token.split(".")
    try:
        parts = [b64url_decode(p) for p in (protected, iv_b64, ciphertext_b64, tag_b64)]
        d = coordinate(private_jwk, "d", 32)
        x, y = coordinate(private_jwk, "x", 32), coordinate(private_jwk, "y", 32)
    except MalformedError:
        return None
    header_bytes, iv, ciphertext, tag = parts
    if encrypted_key:  # ECDH-ES direct has no encrypted key
        raise SignatureError("jwe_decryption_failed", "JWE does not decrypt with our key")
    enc = str(header["enc"])
    size = _GCM_KEY_BYTES[enc]
    algorithm_id = enc.encode()
    other_info = (
        len(algorithm_id).to_bytes(4, "big")
        + algorithm_id
        + bytes(8)  # empty PartyUInfo and PartyVInfo
        + (size * 8).to_bytes(4, "big")
    )
    try:
        private = ec.EllipticCurvePrivateNumbers(
            d, ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1())
        ).private_key()
        shared = private.exchange(ec.ECDH(), peer.key)
        cek = hashlib.sha256(b"\x00\x00\x00\x01" + shared + other_info).digest()[:size]
        decryptor = Cipher(algorithms.AES(cek), modes.GCM(iv, tag)).decryptor()
        decryptor.authenticate_additional_data(b64url_encode(header_bytes).encode("ascii"))
        plaintext = decryptor.update(ciphertext) + decryptor.finalize()
    except (InvalidTag, ValueError, TypeError):
        plaintext = b""
    if not plaintext:
        raise SignatureError("jwe_decryption_failed", "JWE does not decrypt with our key")
    return plaintext


def decrypt_jwe(
    token: str,
    private_jwk: Mapping[str, Any],
    *,
    expected_kid: str | None,
    allowed_enc: Collection[str],
    max_bytes: int = jsonutil.DEFAULT_MAX_BYTES,
) -> tuple[dict[str, Any], bytes]:
    """Decrypt a compact ECDH-ES JWE after checking ``alg``, ``enc``, ``kid``, ``epk``, ``zip``."""
    header = parse_unverified_jwe_header(token, max_bytes=max_bytes)
    alg, enc = header.get("alg"), header.get("enc")  # any JSON value, maybe not hashable
    if not isinstance(alg, str) or alg not in JWE_ALGS:
        raise AlgorithmError("alg_not_allowed", f"JWE alg {alg!r} is not ECDH-ES")
    if not isinstance(enc, str) or enc not in allowed_enc or enc not in JWE_ENCS:
        raise AlgorithmError("alg_not_allowed", f"JWE enc {enc!r} was not offered")
    if expected_kid is not None and header.get("kid") != expected_kid:
        raise MalformedError("malformed_jwe", "JWE kid does not name this transaction's key")
    if "zip" in header or "crit" in header:
        raise MalformedError("malformed_jwe", "JWE 'zip'/'crit' headers are refused")
    epk = header.get("epk")
    if not isinstance(epk, dict) or epk.get("kty") != "EC" or epk.get("crv") != "P-256":
        raise MalformedError("malformed_jwe", "JWE epk must be an EC P-256 public key")
    peer = public_key_from_jwk(epk)  # validates the point is on the curve
    fast = _decrypt_ecdh_es_direct(token, header, peer, private_jwk)
    if fast is not None:
        return header, fast
    key = jwk.JWK(**{k: v for k, v in private_jwk.items() if k in ("kty", "crv", "x", "y", "d")})
    try:
        obj = jwe.JWE()
        obj.allowed_algs = ["ECDH-ES", *sorted(JWE_ENCS)]
        obj.deserialize(token, key=key)
    except (JWException, ValueError, TypeError, KeyError):
        raise SignatureError("jwe_decryption_failed", "JWE does not decrypt with our key") from None
    return header, bytes(obj.payload)
