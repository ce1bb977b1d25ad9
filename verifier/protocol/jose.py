"""JOSE helpers: base64url, compact JWS (RFC 7515), JWK (RFC 7517/7638), JWE (RFC 7516/7518).

Signatures are verified directly on ``cryptography`` (the ES256 fast path: parsed public keys are
cached, raw ``r||s`` signatures are converted to DER without a round trip through a JOSE
library). JWE uses ``jwcrypto``; this is the only module that imports it.

Algorithm policy is explicit: callers pass the allow-list; ``none`` and every ``HS*`` algorithm
are refused for signatures whatever the caller allows (RFC 8725 §3.1/§3.2 - an HMAC "signature"
keyed with a public key is the classic key-confusion forgery).
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from jwcrypto import jwe, jwk
from jwcrypto.common import JWException

from . import jsonutil
from .errors import AlgorithmError, MalformedError, SignatureError

__all__ = [
    "SIGNING_ALGS",
    "CompactJWS",
    "PublicKey",
    "SigningKey",
    "b64url_decode",
    "b64url_encode",
    "decrypt_jwe",
    "encrypt_jwe",
    "hash_b64",
    "jwk_thumbprint",
    "parse_unverified_jwe_header",
    "parse_unverified_jws",
    "public_key_from_jwk",
    "verify_jws",
]

# Algorithms we can verify. Callers narrow this with their own allow-list.
SIGNING_ALGS = frozenset({"ES256", "ES384", "ES512", "EdDSA", "Ed25519", "PS256", "RS256"})
_FORBIDDEN_ALGS = frozenset({"none", "HS256", "HS384", "HS512"})

_EC_CURVES: dict[str, tuple[ec.EllipticCurve, int, str]] = {
    "P-256": (ec.SECP256R1(), 32, "ES256"),
    "P-384": (ec.SECP384R1(), 48, "ES384"),
    "P-521": (ec.SECP521R1(), 66, "ES512"),
}
_EC_HASH: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "ES256": hashes.SHA256,
    "ES384": hashes.SHA384,
    "ES512": hashes.SHA512,
}
_ECDSA = {alg: ec.ECDSA(hash_cls()) for alg, hash_cls in _EC_HASH.items()}
_ALG_KTY = {
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "EdDSA": "OKP",
    "Ed25519": "OKP",
    "RS256": "RSA",
    "PS256": "RSA",
}
_HASHES = {"sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512}
_TO_STANDARD_STRICT = bytes.maketrans(b"-_+/=", b"+/!!!")
_FROM_STANDARD = bytes.maketrans(b"+/", b"-_")
_MIN_RSA_BITS = 2048
_MAX_HEADER = 16 * 1024  # x5c chains included


# --------------------------------------------------------------------------------------------
# base64url (RFC 4648 §5, no padding, as JOSE and SD-JWT use it)


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


# --------------------------------------------------------------------------------------------
# Compact JWS


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
        value = jsonutil.loads(self.payload, what=what)
        if not isinstance(value, dict):
            raise MalformedError("malformed_jwt", f"{what} is not a JSON object")
        return value


@lru_cache(maxsize=1024)
def _parse_header(header_b64: str, what: str) -> dict[str, Any]:
    """Headers repeat across tokens of one issuer or holder; parse each distinct one once."""
    header = jsonutil.loads(b64url_decode(header_b64, what=f"{what} header"), what=f"{what} header")
    if not isinstance(header, dict):
        raise MalformedError("malformed_jwt", f"{what} header is not a JSON object")
    if not isinstance(header.get("alg"), str):
        raise MalformedError("malformed_jwt", f"{what} header has no string 'alg'")
    if "crit" in header:
        raise MalformedError("malformed_jwt", f"{what} header 'crit' names extensions we refuse")
    return header


def parse_unverified_jws(token: str, *, what: str = "JWT") -> CompactJWS:
    """Split a compact JWS; check the header is a JSON object with a string ``alg``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError("malformed_jwt", f"{what} has {len(parts)} parts, expected 3")
    header_b64, payload_b64, sig_b64 = parts
    if len(header_b64) > _MAX_HEADER:
        raise MalformedError("input_too_large", f"{what} header is longer than {_MAX_HEADER}")
    return CompactJWS(
        header=dict(_parse_header(header_b64, what)),  # a copy: the cached one stays pristine
        payload=b64url_decode(payload_b64, what=what),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=b64url_decode(sig_b64, what=what),
    )


def check_alg(alg: str, allowed: Collection[str], *, what: str) -> None:
    if alg in _FORBIDDEN_ALGS or alg not in allowed or alg not in SIGNING_ALGS:
        raise AlgorithmError("alg_not_allowed", f"{what} alg {alg!r} is not allowed")


# --------------------------------------------------------------------------------------------
# Keys


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A parsed public key with the JWK it came from."""

    key: Any
    jwk: Mapping[str, Any]
    kty: str
    crv: str | None = None

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """True when ``signature`` is valid; False on any mismatch (wrong alg/curve included)."""
        if _ALG_KTY.get(alg) != self.kty:
            return False
        try:
            if self.kty == "EC":
                return self._verify_ec(alg, signing_input, signature)
            if self.kty == "OKP":
                self.key.verify(signature, signing_input)
            elif alg == "RS256":
                self.key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            else:  # PS256
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                self.key.verify(signature, signing_input, pss, hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _verify_ec(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """ES256/384/512: raw ``r||s`` (RFC 7518 §3.4) checked on the key's own curve."""
        if self.crv is None or _EC_CURVES[self.crv][2] != alg:
            return False
        size = _EC_CURVES[self.crv][1]
        if len(signature) != 2 * size:
            return False
        der = encode_dss_signature(
            int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        )
        try:
            self.key.verify(der, signing_input, _ECDSA[alg])
        except InvalidSignature:
            return False
        return True

    @property
    def thumbprint(self) -> str:
        return jwk_thumbprint(self.jwk)


def _coord(jwk: Mapping[str, Any], name: str, size: int) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise MalformedError("malformed_jwk", f"JWK member {name!r} missing or not a string")
    raw = b64url_decode(value, what=f"JWK {name}")
    if len(raw) != size:
        raise MalformedError("malformed_jwk", f"JWK {name} has {len(raw)} bytes, expected {size}")
    return int.from_bytes(raw, "big")


@lru_cache(maxsize=4096)
def _cached_public_key(items: tuple[tuple[str, str], ...]) -> PublicKey:
    jwk = dict(items)
    kty = jwk.get("kty")
    if kty == "EC":
        crv = jwk.get("crv")
        if crv not in _EC_CURVES:
            raise MalformedError("malformed_jwk", f"unsupported EC curve {crv!r}")
        curve, size, _ = _EC_CURVES[crv]
        numbers = ec.EllipticCurvePublicNumbers(
            _coord(jwk, "x", size), _coord(jwk, "y", size), curve
        )
        try:
            key: Any = numbers.public_key()
        except ValueError:
            raise MalformedError("malformed_jwk", "EC point is not on the curve") from None
        return PublicKey(key=key, jwk=jwk, kty="EC", crv=crv)
    if kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise MalformedError("malformed_jwk", f"unsupported OKP curve {jwk.get('crv')!r}")
        raw = b64url_decode(str(jwk.get("x", "")), what="JWK x")
        if len(raw) != 32:
            raise MalformedError("malformed_jwk", "Ed25519 key must be 32 bytes")
        return PublicKey(
            key=ed25519.Ed25519PublicKey.from_public_bytes(raw), jwk=jwk, kty="OKP", crv="Ed25519"
        )
    if kty == "RSA":
        n = int.from_bytes(b64url_decode(str(jwk.get("n", "")), what="JWK n"), "big")
        e = int.from_bytes(b64url_decode(str(jwk.get("e", "")), what="JWK e"), "big")
        if n.bit_length() < _MIN_RSA_BITS or e < 3:
            raise MalformedError("malformed_jwk", "RSA key too small")
        return PublicKey(key=rsa.RSAPublicNumbers(e, n).public_key(), jwk=jwk, kty="RSA")
    raise MalformedError("malformed_jwk", f"unsupported JWK kty {kty!r}")


_PUBLIC_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}


def _public_members(jwk: Mapping[str, Any]) -> tuple[str, ...] | None:
    kty = jwk.get("kty")  # any JSON value: a list or an object is not hashable
    return _PUBLIC_MEMBERS.get(kty) if isinstance(kty, str) else None


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """Parse a public JWK (private members are ignored, never used). Results are cached."""
    if not isinstance(jwk, Mapping):
        raise MalformedError("malformed_jwk", "JWK is not a JSON object")
    members = _public_members(jwk)
    if members is None:
        raise MalformedError("malformed_jwk", f"unsupported JWK kty {jwk.get('kty')!r}")
    items = []
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise MalformedError("malformed_jwk", f"JWK member {name!r} missing or not a string")
        items.append((name, value))
    return _cached_public_key(tuple(items))


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint (base64url) over the required public members."""
    members = _public_members(jwk)
    if members is None:
        raise MalformedError("malformed_jwk", f"unsupported JWK kty {jwk.get('kty')!r}")
    if any(not isinstance(jwk.get(name), str) for name in members):
        raise MalformedError("malformed_jwk", "JWK lacks a required public member")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


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


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An EC private key used to sign (issuer, holder, agent, verifier)."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str | None = None
    public_jwk: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def generate(cls, *, kid: str | None = None, crv: str = "P-256") -> SigningKey:
        return cls.from_private_key(ec.generate_private_key(_EC_CURVES[crv][0]), kid=kid)

    @classmethod
    def from_private_key(
        cls, private_key: ec.EllipticCurvePrivateKey, *, kid: str | None = None
    ) -> SigningKey:
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[
            private_key.curve.name
        ]
        size = _EC_CURVES[crv][1]
        numbers = private_key.public_key().public_numbers()
        jwk: dict[str, Any] = {
            "kty": "EC",
            "crv": crv,
            "x": b64url_encode(numbers.x.to_bytes(size, "big")),
            "y": b64url_encode(numbers.y.to_bytes(size, "big")),
        }
        if kid is not None:
            jwk["kid"] = kid
        return cls(private_key=private_key, kid=kid, public_jwk=jwk)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> SigningKey:
        crv = jwk.get("crv")
        if jwk.get("kty") != "EC" or crv not in _EC_CURVES:
            raise MalformedError("malformed_jwk", "only EC private keys are supported")
        curve, size, _ = _EC_CURVES[crv]
        public = ec.EllipticCurvePublicNumbers(
            _coord(jwk, "x", size), _coord(jwk, "y", size), curve
        )
        private = ec.EllipticCurvePrivateNumbers(_coord(jwk, "d", size), public).private_key()
        kid = jwk.get("kid")
        return cls.from_private_key(private, kid=kid if isinstance(kid, str) else None)

    def to_jwk(self) -> dict[str, Any]:
        """The private JWK (with ``d``) for storage on disk."""
        size = _EC_CURVES[self.public_jwk["crv"]][1]
        d = self.private_key.private_numbers().private_value.to_bytes(size, "big")
        return {**self.public_jwk, "d": b64url_encode(d)}

    @property
    def alg(self) -> str:
        return _EC_CURVES[self.public_jwk["crv"]][2]

    @property
    def public_key(self) -> PublicKey:
        return public_key_from_jwk(self.public_jwk)

    @property
    def thumbprint(self) -> str:
        return jwk_thumbprint(self.public_jwk)

    def sign(self, signing_input: bytes) -> bytes:
        der = self.private_key.sign(signing_input, ec.ECDSA(_EC_HASH[self.alg]()))
        r, s = decode_dss_signature(der)
        size = _EC_CURVES[self.public_jwk["crv"]][1]
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def sign_jws(self, header: Mapping[str, Any], payload: Mapping[str, Any] | bytes) -> str:
        """Compact JWS; ``alg`` is set from the key, ``kid`` added unless the header has one."""
        full = {"alg": self.alg, **header}
        if self.kid is not None and "kid" not in full and "x5c" not in full:
            full["kid"] = self.kid
        body = payload if isinstance(payload, bytes) else jsonutil.dumps_compact(payload).encode()
        head = b64url_encode(jsonutil.dumps_compact(full).encode())
        signing_input = f"{head}.{b64url_encode(body)}"
        return f"{signing_input}.{b64url_encode(self.sign(signing_input.encode('ascii')))}"


# --------------------------------------------------------------------------------------------
# JWE: ECDH-ES (direct key agreement) with AES-GCM, as OpenID4VP/HAIP encrypted responses use

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
        d = _coord(private_jwk, "d", 32)
        x, y = _coord(private_jwk, "x", 32), _coord(private_jwk, "y", 32)
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
