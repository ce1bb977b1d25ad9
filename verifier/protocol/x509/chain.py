"""X.509 certificate chains as JOSE ``x5c`` carries them, and their validation to trust anchors.

Rules enforced (each check below names the one it implements):

- RFC 7515 §4.1.6: ``x5c`` is a JSON array of *standard* base64 (padded, not base64url,
  canonical) DER certificates, the one holding the signing key first, each next one certifying
  the previous.
- RFC 5280 §6.1 path validation by ``cryptography``'s maintained path builder
  (``cryptography.x509.verification``): name chaining and signatures (§6.1.3 a.1, a.4),
  validity at the given time (§6.1.3 a.2), name constraints on dNSName, iPAddress and
  rfc822Name (§6.1.3 b, c), CA certificates with basicConstraints ``cA`` (§6.1.4 k),
  ``pathLenConstraint`` (§6.1.4 l, m), keyUsage ``keyCertSign`` (§6.1.4 n), no unaccounted
  critical extension (§6.1.4 o, §6.1.5 f); signature algorithms and keys of the CA/B Forum
  profile (RSA >= 2048 bits, ECDSA P-256/P-384/P-521; no SHA-1, no Ed25519 issuers).
- What the builder lacks, in :mod:`.profile`: the leaf's keyUsage and extendedKeyUsage allow
  signing (RFC 5280 §4.2.1.3, §4.2.1.12), name constraints it does not evaluate refuse the
  path, and the leaf's URI SAN hosts meet the path's dNSName constraints.
- OpenID4VP 1.0 §5.9.3 client identifier prefixes: ``x509_san_dns`` (a dNSName SAN of the leaf)
  and ``x509_hash`` (base64url of the SHA-256 of the leaf's DER); the request object's ``x5c``
  chain validates to a trust anchor of the wallet.
- HAIP §5/§6: the trust anchor is *not* included in ``x5c``; the signing certificate is not
  self-signed; the validated path is exactly ``x5c`` plus the anchor.

The module is pure: certificates and the current time are passed in.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import re
from collections.abc import Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from ..errors import MalformedError, TrustError
from ..jose import PublicKey, b64url_encode, public_key_from_jwk
from .profile import Refusals, ca_policy, check_name_constraints, code_for, leaf_policy

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
_JWK_CURVES = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48)}
_MIN_RSA_BITS = 2048


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
    chain length, anchor inside the chain (HAIP), self-signed leaf (HAIP), name chaining of
    ``x5c``, then the path builder (signatures, issuance by an anchor, validity, CA
    constraints, name constraints, leaf usage and purpose), then the checks it lacks.
    """
    if leaf_key_usage not in _KEY_USAGES:
        raise ValueError(f"unknown keyUsage name {leaf_key_usage!r}")
    _check_x5c_shape(chain, anchors, require_leaf_not_self_signed=require_leaf_not_self_signed)
    path = _build_path(chain, anchors, now=now, leaf_key_usage=leaf_key_usage)
    if path[:-1] != list(chain):
        raise TrustError("x5c_invalid", "the validated path is not the x5c chain in its order")
    check_name_constraints(path)
    return chain[0]


def _check_x5c_shape(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    require_leaf_not_self_signed: bool,
) -> None:
    """RFC 7515 §4.1.6 and HAIP: length, no anchor inside, leaf not self-signed, each
    certificate issued (by name) by the next one."""
    if not chain:
        raise TrustError("x5c_invalid", "certificate chain is empty")
    if len(chain) > MAX_CHAIN_LENGTH:
        raise TrustError("x5c_invalid", f"chain has {len(chain)} certificates")
    for index, cert in enumerate(chain):
        if any(_same_certificate(cert, anchor) for anchor in anchors):
            raise TrustError(
                "x5c_anchor_included", f"x5c[{index}] is a trust anchor; HAIP excludes it"
            )
    if require_leaf_not_self_signed and _is_self_signed(chain[0]):
        raise TrustError("x5c_self_signed", f"leaf {_name(chain[0])} is self-signed")
    for index in range(len(chain) - 1):
        if chain[index].issuer != chain[index + 1].subject:
            raise TrustError(
                "x5c_invalid",
                f"x5c[{index}] is issued by {chain[index].issuer.rfc4514_string()!r}, "
                f"not by {_name(chain[index + 1])}",
            )


def _build_path(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: int,
    leaf_key_usage: str,
) -> list[x509.Certificate]:
    """RFC 5280 §6.1 on ``cryptography``'s path builder; the path from leaf to anchor."""
    usable = [anchor for anchor in anchors if _usable_key(anchor)]
    if not usable:
        raise TrustError("x5c_untrusted", "no usable trust anchor is configured")
    refusals = Refusals()
    verifier = (
        PolicyBuilder()
        .store(Store(usable))
        .time(datetime.datetime.fromtimestamp(now, datetime.UTC))
        .max_chain_depth(MAX_CHAIN_LENGTH)
        .extension_policies(
            ca_policy=ca_policy(refusals), ee_policy=leaf_policy(refusals, leaf_key_usage)
        )
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(chain[0], list(chain[1:])).chain)
    except VerificationError as exc:
        if refusals.first is not None:
            raise refusals.first from None
        raise _builder_failure(chain, str(exc)) from None
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:
        raise TrustError("x5c_invalid", f"{_name(chain[0])}: {exc}") from None


def _builder_failure(chain: Sequence[x509.Certificate], message: str) -> TrustError:
    """The builder's failure as a code: by its text, else a certificate of ``x5c`` that its
    successor did not sign (``x5c_invalid``), else no anchor issued the chain
    (``x5c_untrusted``). Runs on failure only, so the signatures are not checked twice."""
    code = code_for(message)
    if code is not None:
        return TrustError(code, f"{_name(chain[0])}: {message}")
    for index in range(len(chain) - 1):
        if not _signed_by(chain[index], chain[index + 1]):
            return TrustError(
                "x5c_invalid",
                f"x5c[{index}] signature does not verify with the key of {_name(chain[index + 1])}",
            )
    return TrustError("x5c_untrusted", f"no trust anchor issued {_name(chain[-1])} ({message})")


def _usable_key(anchor: x509.Certificate) -> bool:
    """An anchor whose key the builder accepts: EC P-256/P-384/P-521 or RSA >= 2048 bits."""
    try:
        key = anchor.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return False
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.name in ("secp256r1", "secp384r1", "secp521r1")
    return isinstance(key, rsa.RSAPublicKey) and key.key_size >= _MIN_RSA_BITS


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


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _is_self_signed(cert: x509.Certificate) -> bool:
    """Self-issued and its signature verifies with its own key."""
    return _is_self_issued(cert) and _signed_by(cert, cert)
