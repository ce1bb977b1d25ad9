"""X.509 certificate chains as JOSE ``x5c`` carries them, and their validation to trust anchors.

Rules enforced (each check below names the one it implements):

- RFC 7515 §4.1.6: ``x5c`` is a JSON array of *standard* base64 (padded, not base64url) DER
  certificates, the one holding the signing key first, each next one certifying the previous.
- RFC 5280 §6.1 (basic path validation, no policy or name-constraint processing): name chaining
  (§6.1.3 a.4), signatures (§6.1.3 a.1), validity at the given time (§6.1.3 a.2), CA
  certificates carry basicConstraints ``cA`` (§6.1.4 k), ``pathLenConstraint`` (§6.1.4 l/m),
  keyUsage ``keyCertSign`` on CA certificates when keyUsage is present (§6.1.4 n), no unknown
  critical extension (§6.1.4 o, §6.1.5 f).
- OpenID4VP 1.0 §5.9.3 client identifier prefixes: ``x509_san_dns`` (a dNSName SAN of the leaf)
  and ``x509_hash`` (base64url of the SHA-256 of the leaf's DER); the request object's ``x5c``
  chain validates to a trust anchor of the wallet.
- HAIP §5/§6: the trust anchor is *not* included in ``x5c``; the signing certificate is not
  self-signed.

The module is pure: certificates and the current time are passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, SignatureAlgorithmOID

from ..errors import MalformedError, TrustError
from ..jose import PublicKey, b64url_encode, public_key_from_jwk

__all__ = [
    "MAX_CHAIN_LENGTH",
    "cert_to_pem",
    "dns_sans",
    "load_pem_certificates",
    "parse_x5c",
    "public_key_of",
    "uri_sans",
    "validate_chain",
    "x5c_header",
    "x509_hash",
]

MAX_CHAIN_LENGTH = 10
_Ext = TypeVar("_Ext", bound=x509.ExtensionType)
_STD_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_KEY_USAGES = frozenset(
    {
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    }
)
# Signature algorithms we accept on certificates: SHA-2 family or EdDSA, never MD5/SHA-1.
_SIGNATURE_ALGS = frozenset(
    {
        SignatureAlgorithmOID.ECDSA_WITH_SHA256,
        SignatureAlgorithmOID.ECDSA_WITH_SHA384,
        SignatureAlgorithmOID.ECDSA_WITH_SHA512,
        SignatureAlgorithmOID.RSA_WITH_SHA256,
        SignatureAlgorithmOID.RSA_WITH_SHA384,
        SignatureAlgorithmOID.RSA_WITH_SHA512,
        SignatureAlgorithmOID.RSASSA_PSS,
        SignatureAlgorithmOID.ED25519,
    }
)
_PSS_HASHES = frozenset({"sha256", "sha384", "sha512"})
_EC_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_JWK_CURVES = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48)}
_MIN_RSA_BITS = 2048
# Extensions this validator understands; any other extension marked critical refuses the chain.
_KNOWN_CRITICAL = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.CERTIFICATE_POLICIES,
    }
)


# --------------------------------------------------------------------------------------------
# Encoding


def parse_x5c(x5c: object, *, max_certs: int = MAX_CHAIN_LENGTH) -> list[x509.Certificate]:
    """Decode a JOSE ``x5c`` value (RFC 7515 §4.1.6: array of padded standard-base64 DER).

    Anything else - not a non-empty list, more than ``max_certs`` entries, base64url, unpadded
    or non-canonical text (spare bits set), bytes that are not one DER certificate - raises
    ``x5c_invalid``.
    """
    if not isinstance(x5c, list) or not x5c:
        raise TrustError("x5c_invalid", "x5c is not a non-empty JSON array")
    if len(x5c) > max_certs:
        raise TrustError("x5c_invalid", f"x5c has {len(x5c)} certificates, limit {max_certs}")
    chain: list[x509.Certificate] = []
    for index, entry in enumerate(x5c):
        if not isinstance(entry, str) or not _STD_B64.fullmatch(entry) or len(entry) % 4:
            raise TrustError("x5c_invalid", f"x5c[{index}] is not padded standard base64")
        try:
            der = binascii.a2b_base64(entry.encode("ascii"), strict_mode=True)
            if binascii.b2a_base64(der, newline=False) != entry.encode("ascii"):
                raise TrustError("x5c_invalid", f"x5c[{index}] is not canonical base64")
            cert = x509.load_der_x509_certificate(der)
            _ = (cert.subject, cert.issuer)  # decoded lazily: a malformed name fails here
        except (binascii.Error, ValueError, x509.InvalidVersion):
            raise TrustError("x5c_invalid", f"x5c[{index}] is not a DER certificate") from None
        _extensions(cert)  # parse extensions now, so a malformed one fails here
        chain.append(cert)
    return chain


def x5c_header(chain: Sequence[x509.Certificate]) -> list[str]:
    """The JOSE ``x5c`` value for ``chain`` (inverse of :func:`parse_x5c`)."""
    return [
        base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
        for cert in chain
    ]


def load_pem_certificates(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (configured trust anchors); none at all is an error."""
    try:
        return x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (UnicodeEncodeError, ValueError):
        raise TrustError("x5c_invalid", "PEM text holds no valid certificate") from None


def cert_to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


# --------------------------------------------------------------------------------------------
# Identifiers


def x509_hash(cert: x509.Certificate) -> str:
    """OpenID4VP 1.0 §5.9.3 ``x509_hash``: base64url (no padding) SHA-256 of the DER encoding."""
    return b64url_encode(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def dns_sans(cert: x509.Certificate) -> list[str]:
    """dNSName entries of subjectAltName (OpenID4VP 1.0 §5.9.3 ``x509_san_dns``)."""
    san = _san(cert)
    return [] if san is None else san.get_values_for_type(x509.DNSName)


def uri_sans(cert: x509.Certificate) -> list[str]:
    """uniformResourceIdentifier entries of subjectAltName (e.g. an issuer URL)."""
    san = _san(cert)
    return [] if san is None else san.get_values_for_type(x509.UniformResourceIdentifier)


def public_key_of(cert: x509.Certificate) -> PublicKey:
    """The certificate's EC P-256/P-384 or Ed25519 key as a :class:`jose.PublicKey`."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _JWK_CURVES:
        crv, size = _JWK_CURVES[key.curve.name]
        numbers = key.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": crv,
            "x": b64url_encode(numbers.x.to_bytes(size, "big")),
            "y": b64url_encode(numbers.y.to_bytes(size, "big")),
        }
    elif isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    else:
        raise TrustError("x5c_invalid", f"certificate key type {type(key).__name__} unsupported")
    try:
        return public_key_from_jwk(jwk)
    except MalformedError as exc:
        raise TrustError("x5c_invalid", f"certificate key unusable: {exc.reason}") from None


# --------------------------------------------------------------------------------------------
# Path validation


def validate_chain(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: int,
    require_leaf_not_self_signed: bool = True,
    leaf_key_usage: str = "digital_signature",
) -> x509.Certificate:
    """Validate ``chain`` (leaf first, anchor excluded) to one of ``anchors``; return the leaf.

    ``now`` is seconds since the epoch. ``leaf_key_usage`` names the keyUsage bit (as the
    ``cryptography`` attribute, e.g. ``digital_signature``) the leaf must have when it carries
    keyUsage. Checks run in this order, each raising :class:`TrustError` with its own code:
    chain length, anchor inside the chain (HAIP), self-signed leaf (HAIP), name chaining and
    signatures inside the chain, issuance by an anchor, validity, CA constraints, leaf usage.
    """
    if leaf_key_usage not in _KEY_USAGES:
        raise ValueError(f"unknown keyUsage name {leaf_key_usage!r}")
    if not chain:
        raise TrustError("x5c_invalid", "certificate chain is empty")
    if len(chain) > MAX_CHAIN_LENGTH:
        raise TrustError("x5c_invalid", f"chain has {len(chain)} certificates")
    for index, cert in enumerate(chain):
        if any(_same_certificate(cert, anchor) for anchor in anchors):
            raise TrustError(
                "x5c_anchor_included", f"x5c[{index}] is a trust anchor; HAIP excludes it"
            )
    leaf = chain[0]
    if require_leaf_not_self_signed and _is_self_signed(leaf):
        raise TrustError("x5c_self_signed", f"leaf {_name(leaf)} is self-signed")
    for index in range(len(chain) - 1):
        _check_issued_by(chain[index], chain[index + 1], f"x5c[{index}]")
    anchor = _find_anchor(chain[-1], anchors)
    path = [anchor, *reversed(chain)]  # RFC 5280 §6.1: processed from the anchor down
    for cert in path:
        _check_validity(cert, now)
        _check_critical_extensions(cert)
    for depth, issuer in enumerate(path[:-1]):
        below = path[depth + 1 : -1]  # intermediates that follow this CA certificate
        _check_ca(issuer, sum(1 for c in below if not _is_self_issued(c)))
    _check_leaf(leaf, leaf_key_usage)
    return leaf


def _find_anchor(last: x509.Certificate, anchors: Sequence[x509.Certificate]) -> x509.Certificate:
    """RFC 5280 §6.1.1 (d): the path starts at a trust anchor that issued its first certificate."""
    why = ""
    for anchor in anchors:
        if anchor.subject != last.issuer:
            continue
        try:
            _check_issued_by(last, anchor, "last certificate")
        except TrustError as exc:
            why = f" ({exc.reason})"
            continue  # same name, other key: keep looking (anchors may be re-keyed)
        return anchor
    raise TrustError("x5c_untrusted", f"no trust anchor issued {_name(last)}{why}")


def _check_issued_by(cert: x509.Certificate, issuer: x509.Certificate, what: str) -> None:
    """RFC 5280 §6.1.3 (a.1, a.4): issuer name = issuer's subject; signature by issuer's key."""
    if cert.issuer != issuer.subject:
        raise TrustError(
            "x5c_invalid",
            f"{what} is issued by {cert.issuer.rfc4514_string()!r}, not by {_name(issuer)}",
        )
    oid = cert.signature_algorithm_oid
    if oid not in _SIGNATURE_ALGS:
        raise TrustError("x5c_invalid", f"{what} signature algorithm {oid.dotted_string} refused")
    if oid == SignatureAlgorithmOID.RSASSA_PSS:
        hash_alg = cert.signature_hash_algorithm
        if hash_alg is None or hash_alg.name not in _PSS_HASHES:
            raise TrustError("x5c_invalid", f"{what} RSASSA-PSS hash is not SHA-2")
    _check_key_strength(issuer)
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        raise TrustError(
            "x5c_invalid", f"{what} signature does not verify with the key of {_name(issuer)}"
        ) from None


def _check_key_strength(cert: x509.Certificate) -> None:
    """Issuer keys: EC on P-256/384/521, RSA of at least 2048 bits, or Ed25519."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise TrustError("x5c_invalid", f"{_name(cert)} key cannot be parsed") from None
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _EC_CURVES:
        return
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= _MIN_RSA_BITS:
        return
    if isinstance(key, ed25519.Ed25519PublicKey):
        return
    raise TrustError("x5c_invalid", f"{_name(cert)} key type or size is not accepted")


def _check_validity(cert: x509.Certificate, now: int) -> None:
    """RFC 5280 §6.1.3 (a.2): ``now`` lies within notBefore..notAfter (inclusive)."""
    not_before = int(cert.not_valid_before_utc.timestamp())
    not_after = int(cert.not_valid_after_utc.timestamp())
    if now < not_before:
        raise TrustError("x5c_expired", f"{_name(cert)} is not valid before {not_before}")
    if now > not_after:
        raise TrustError("x5c_expired", f"{_name(cert)} expired at {not_after}")


def _check_critical_extensions(cert: x509.Certificate) -> None:
    """RFC 5280 §6.1.4 (o): refuse critical extensions we do not process (name constraints...)."""
    for ext in _extensions(cert):
        if ext.critical and ext.oid not in _KNOWN_CRITICAL:
            raise TrustError(
                "x5c_invalid",
                f"{_name(cert)} has unsupported critical extension {ext.oid.dotted_string}",
            )


def _check_ca(cert: x509.Certificate, intermediates_below: int) -> None:
    """RFC 5280 §6.1.4 (k, l, m, n): issuing certificates are CAs allowed to sign certificates.

    basicConstraints with ``cA`` is required; ``pathLenConstraint`` bounds the number of
    non-self-issued intermediates below; keyUsage, when present, must assert ``keyCertSign``.
    """
    basic = _extension(cert, x509.BasicConstraints)
    if basic is None or not basic.ca:
        raise TrustError("x5c_not_ca", f"{_name(cert)} is not a CA (basicConstraints cA)")
    if basic.path_length is not None and intermediates_below > basic.path_length:
        raise TrustError(
            "x5c_not_ca",
            f"{_name(cert)} has pathLenConstraint {basic.path_length} but "
            f"{intermediates_below} intermediate certificate(s) follow it",
        )
    usage = _extension(cert, x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:
        raise TrustError("x5c_key_usage", f"{_name(cert)} keyUsage lacks keyCertSign")


def _check_leaf(leaf: x509.Certificate, key_usage: str) -> None:
    """The leaf is an end entity (not a CA) whose keyUsage, if present, allows ``key_usage``."""
    basic = _extension(leaf, x509.BasicConstraints)
    if basic is not None and basic.ca:
        raise TrustError("x5c_key_usage", f"leaf {_name(leaf)} is a CA certificate")
    usage = _extension(leaf, x509.KeyUsage)
    if usage is not None and not getattr(usage, key_usage):
        raise TrustError("x5c_key_usage", f"leaf {_name(leaf)} keyUsage lacks {key_usage}")


# --------------------------------------------------------------------------------------------
# Helpers


def _name(cert: x509.Certificate) -> str:
    return repr(cert.subject.rfc4514_string())


def _extensions(cert: x509.Certificate) -> x509.Extensions:
    try:
        return cert.extensions
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise TrustError("x5c_invalid", f"certificate extensions are malformed: {exc}") from None


def _extension(cert: x509.Certificate, cls: type[_Ext]) -> _Ext | None:
    try:
        return _extensions(cert).get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    return _extension(cert, x509.SubjectAlternativeName)


def _public_key_der(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, UnsupportedAlgorithm):
        return None


def _same_certificate(cert: x509.Certificate, anchor: x509.Certificate) -> bool:
    """Same DER, or the same subject and key (a re-issued anchor is still the anchor)."""
    if cert == anchor:
        return True
    if cert.subject != anchor.subject:
        return False
    key = _public_key_der(cert)
    return key is not None and key == _public_key_der(anchor)


def _is_self_issued(cert: x509.Certificate) -> bool:
    """RFC 5280 §6.1: issuer and subject names are identical."""
    return cert.issuer == cert.subject


def _is_self_signed(cert: x509.Certificate) -> bool:
    """Self-issued and its signature verifies with its own key."""
    if not _is_self_issued(cert):
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True
