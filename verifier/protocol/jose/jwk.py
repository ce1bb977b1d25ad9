"""Keys: public JWKs (RFC 7517) parsed onto ``cryptography``, thumbprints (RFC 7638), and the
EC signing key every party of the simulator and the verifier signs with.

Parsed public keys are cached, so the ES256 fast path verifies raw ``r||s`` signatures (RFC 7518
§3.4) without a round trip through a JOSE library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from .. import jsonfast, jsonutil
from ..errors import MalformedError
from .base64url import b64url_decode, b64url_encode

# ES signatures straight on libcrypto, compiled only (verifier/native.py BINDINGS). Without it
# (not built, not current, AGENTVP_NATIVE=0, or a libcrypto lacking one of the three curves:
# RuntimeError at its import), cryptography verifies.
try:
    from .ecdsa_openssl import ECVerifyKey
except (ImportError, RuntimeError):
    ECVerifyKey = None  # type: ignore[assignment,misc]

__all__ = [
    "EC_CURVES",
    "PublicKey",
    "SigningKey",
    "coordinate",
    "jwk_thumbprint",
    "public_key_from_jwk",
    "signing_hash",
]

EC_CURVES: dict[str, tuple[ec.EllipticCurve, int, str]] = {
    "P-256": (ec.SECP256R1(), 32, "ES256"),
    "P-384": (ec.SECP384R1(), 48, "ES384"),
    "P-521": (ec.SECP521R1(), 66, "ES512"),
}
_EC_HASH: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "ES256": hashes.SHA256,
    "ES384": hashes.SHA384,
    "ES512": hashes.SHA512,
}
# Each curve's field prime: a coordinate is a field element, below it (RFC 7518 §6.2.1.2 gives
# its octets). cryptography reduces a larger one modulo the prime and accepts the point it
# lands on; libcrypto's EC_KEY refuses it; both paths refuse it here first.
_FIELD_PRIMES = {
    "P-256": 2**256 - 2**224 + 2**192 + 2**96 - 1,
    "P-384": 2**384 - 2**128 - 2**96 + 2**32 - 1,
    "P-521": 2**521 - 1,
}
# The signing input is hashed here (hashlib, a copy of a ready hash object) and OpenSSL is given
# the digest: cryptography's own hashing inside ``verify`` costs ~0.5 us more per call, and a
# caller that hashes the signing input anyway (the SD-JWT's sd_hash) can hand its digest over.
_EC_PREHASHED = {alg: ec.ECDSA(Prehashed(hash_cls())) for alg, hash_cls in _EC_HASH.items()}
_EC_SIGNING_HASH = {
    "ES256": hashlib.sha256(),
    "ES384": hashlib.sha384(),
    "ES512": hashlib.sha512(),
}
# crv -> (the one alg it signs, coordinate size, the ECDSA parameters): one lookup per verify.
_EC_VERIFY = {crv: (alg, size, _EC_PREHASHED[alg]) for crv, (_, size, alg) in EC_CURVES.items()}
_ALG_KTY = {
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "EdDSA": "OKP",
    "Ed25519": "OKP",
    "RS256": "RSA",
    "PS256": "RSA",
}
_MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A parsed public key with the JWK it came from."""

    key: Any
    jwk: Mapping[str, Any]
    kty: str
    crv: str | None = None
    # An EC key's ecdsa_openssl.ECVerifyKey, when that binding is compiled: verify_digest
    # checks through it instead of ``key`` (the same checks; ~4 us less a signature)
    native: Any = field(default=None, compare=False, repr=False)

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """True when ``signature`` is valid; False on any mismatch (wrong alg/curve included)."""
        if self.kty == "EC":
            return self._verify_ec(alg, signing_input, signature)
        if _ALG_KTY.get(alg) != self.kty:
            return False
        try:
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
        hashed = signing_hash(alg)
        if hashed is None:
            return False
        hashed.update(signing_input)
        return self.verify_digest(alg, hashed.digest(), signature)

    def verify_digest(self, alg: str, digest: bytes, signature: bytes) -> bool:
        """:meth:`verify` for an ES256/384/512 signature, given ``digest``: the hash of the
        signing input by ``alg``'s own hash (:func:`signing_hash`), which the caller computed.
        False for any other key or algorithm, and for a digest of the wrong length."""
        spec = _EC_VERIFY.get(self.crv)  # type: ignore[arg-type]
        if spec is None or spec[0] != alg:
            return False
        _, size, ecdsa = spec
        if len(signature) != 2 * size:
            return False
        native = self.native
        if native is not None:  # also False for a digest of the wrong length
            if type(digest) is not bytes or type(signature) is not bytes:
                digest, signature = bytes(digest), bytes(signature)  # it takes bytes alone
            return bool(native.verify(digest, signature))
        try:
            self.key.verify(der_signature(signature, size), digest, ecdsa)
        except (InvalidSignature, ValueError):  # ValueError: a digest of the wrong length
            return False
        return True

    @property
    def thumbprint(self) -> str:
        return jwk_thumbprint(self.jwk)


def _der_integer(value: bytes) -> bytes:
    """A non-negative big-endian integer as a DER INTEGER: no leading zero octets, one 0x00
    in front when the first octet has its high bit set (so it does not read as negative)."""
    octets = value.lstrip(b"\0") or b"\0"
    if octets[0] & 0x80:
        octets = b"\0" + octets
    return b"\x02" + len(octets).to_bytes(1, "big") + octets


def _der_sequence_header(length: int) -> bytes:
    if length < 0x80:  # P-256 and P-384; P-521's may need the long form
        return b"\x30" + length.to_bytes(1, "big")
    return b"\x30\x81" + length.to_bytes(1, "big")


def _der_frames(size: int) -> list[tuple[bytes, bytes]]:
    """For r and s of ``size`` octets without a leading zero octet, indexed by (r's first
    octet >> 7) * 2 + (s's first octet >> 7): the DER before r's octets and between r's and s's."""
    frames = []
    for r_pad in (0, 1):
        for s_pad in (0, 1):
            r_len, s_len = size + r_pad, size + s_pad
            head = _der_sequence_header(2 + r_len + 2 + s_len)
            frames.append(
                (
                    head + b"\x02" + r_len.to_bytes(1, "big") + bytes(r_pad),
                    b"\x02" + s_len.to_bytes(1, "big") + bytes(s_pad),
                )
            )
    return frames


_DER_FRAMES = {size: _der_frames(size) for _, size, _ in EC_CURVES.values()}


def signing_hash(alg: str) -> Any:
    """A new, empty hashlib object of the hash an ES256/384/512 signature covers its signing
    input with (SHA-256/384/512); None for any other ``alg``."""
    hashed = _EC_SIGNING_HASH.get(alg)
    return None if hashed is None else hashed.copy()


def der_signature(signature: bytes, size: int) -> bytes:
    """Raw ``r||s`` (two ``size``-octet integers, RFC 7518 §3.4) as the DER ``ECDSA-Sig-Value``
    (RFC 3279 §2.2.3) OpenSSL verifies: the bytes ``encode_dss_signature`` returns for
    ``int(r), int(s)``, built from the octets without the two integer conversions. Unless r or
    s starts with a zero octet (1 in 256), every length is known from ``size`` and two bits."""
    r_first, s_first = signature[0], signature[size]
    if r_first and s_first:
        head, middle = _DER_FRAMES[size][(r_first >> 7) * 2 + (s_first >> 7)]
        return b"".join((head, signature[:size], middle, signature[size:]))
    body = _der_integer(signature[:size]) + _der_integer(signature[size:])
    return _der_sequence_header(len(body)) + body


def coordinate(jwk: Mapping[str, Any], name: str, size: int) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise MalformedError("malformed_jwk", f"JWK member {name!r} missing or not a string")
    raw = b64url_decode(value, what=f"JWK {name}")
    if len(raw) != size:
        raise MalformedError("malformed_jwk", f"JWK {name} has {len(raw)} bytes, expected {size}")
    return int.from_bytes(raw, "big")


@lru_cache(maxsize=4096)
def _cached_public_key(members: tuple[str, ...], values: tuple[str, ...]) -> PublicKey:
    jwk = dict(zip(members, values, strict=True))
    kty = jwk.get("kty")
    if kty == "EC":
        crv = jwk.get("crv")
        if crv not in EC_CURVES:
            raise MalformedError("malformed_jwk", f"unsupported EC curve {crv!r}")
        curve, size, _ = EC_CURVES[crv]
        x, y = coordinate(jwk, "x", size), coordinate(jwk, "y", size)
        if x >= _FIELD_PRIMES[crv] or y >= _FIELD_PRIMES[crv]:
            raise MalformedError("malformed_jwk", f"{crv} coordinate is not below the field prime")
        try:
            key: Any = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
            native = (
                None
                if ECVerifyKey is None
                else ECVerifyKey(crv, x.to_bytes(size, "big"), y.to_bytes(size, "big"))
            )
        except ValueError:  # either library's point check
            raise MalformedError("malformed_jwk", "EC point is not on the curve") from None
        return PublicKey(key=key, jwk=jwk, kty="EC", crv=crv, native=native)
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
    if type(jwk) is not dict and not isinstance(jwk, Mapping):  # parsed JSON is a dict
        raise MalformedError("malformed_jwk", "JWK is not a JSON object")
    members = _public_members(jwk)
    if members is None:
        raise MalformedError("malformed_jwk", f"unsupported JWK kty {jwk.get('kty')!r}")
    values = []
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise MalformedError("malformed_jwk", f"JWK member {name!r} missing or not a string")
        values.append(value)
    return _cached_public_key(members, tuple(values))


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint (base64url) over the required public members."""
    members = _public_members(jwk)
    if members is None:
        raise MalformedError("malformed_jwk", f"unsupported JWK kty {jwk.get('kty')!r}")
    if any(not isinstance(jwk.get(name), str) for name in members):
        raise MalformedError("malformed_jwk", "JWK lacks a required public member")
    canonical = _THUMBPRINT_INPUT({name: jwk[name] for name in members})
    return b64url_encode(hashlib.sha256(canonical).digest())


# ``json.dumps(members, separators=(",", ":")).encode("utf-8")``, the same bytes (jsonfast): the
# holder's thumbprint is in every result, and the standard encoder built per call was ~10 us.
_THUMBPRINT_INPUT = jsonfast.Encoder().bytes


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An EC private key used to sign (issuer, holder, agent, verifier)."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str | None = None
    public_jwk: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def generate(cls, *, kid: str | None = None, crv: str = "P-256") -> SigningKey:
        return cls.from_private_key(ec.generate_private_key(EC_CURVES[crv][0]), kid=kid)

    @classmethod
    def from_private_key(
        cls, private_key: ec.EllipticCurvePrivateKey, *, kid: str | None = None
    ) -> SigningKey:
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[
            private_key.curve.name
        ]
        size = EC_CURVES[crv][1]
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
        if jwk.get("kty") != "EC" or crv not in EC_CURVES:
            raise MalformedError("malformed_jwk", "only EC private keys are supported")
        curve, size, _ = EC_CURVES[crv]
        public = ec.EllipticCurvePublicNumbers(
            coordinate(jwk, "x", size), coordinate(jwk, "y", size), curve
        )
        private = ec.EllipticCurvePrivateNumbers(coordinate(jwk, "d", size), public).private_key()
        kid = jwk.get("kid")
        return cls.from_private_key(private, kid=kid if isinstance(kid, str) else None)

    def to_jwk(self) -> dict[str, Any]:
        """The private JWK (with ``d``) for storage on disk."""
        size = EC_CURVES[self.public_jwk["crv"]][1]
        d = self.private_key.private_numbers().private_value.to_bytes(size, "big")
        return {**self.public_jwk, "d": b64url_encode(d)}

    @property
    def alg(self) -> str:
        return EC_CURVES[self.public_jwk["crv"]][2]

    @property
    def public_key(self) -> PublicKey:
        return public_key_from_jwk(self.public_jwk)

    @property
    def thumbprint(self) -> str:
        return jwk_thumbprint(self.public_jwk)

    def sign(self, signing_input: bytes) -> bytes:
        der = self.private_key.sign(signing_input, ec.ECDSA(_EC_HASH[self.alg]()))
        r, s = decode_dss_signature(der)
        size = EC_CURVES[self.public_jwk["crv"]][1]
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
