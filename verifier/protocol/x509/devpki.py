"""A small X.509 PKI for tests and development: keys in, certificates out (no file I/O).

Hierarchy: a self-signed root CA (the trust anchor, never sent in ``x5c``), an intermediate CA,
and end-entity certificates for

- a verifier host: dNSName SAN (OpenID4VP 1.0 §5.9.3 ``x509_san_dns``), optional URI SANs;
- a credential issuer: URI SAN with the issuer URL and dNSName SAN with its host;
- a Token Status List signer: URI SAN with the list URL (or issuer URL) and its host.

Certificates are signed with SHA-256 (EdDSA for Ed25519 keys), get random serial numbers and
carry subjectKeyIdentifier and authorityKeyIdentifier (RFC 5280 §4.2.1.1/§4.2.1.2; DCQL
``trusted_authorities`` of type ``aki`` matches on the latter). CAs assert ``keyCertSign`` and
``cRLSign``; leaves assert ``digitalSignature`` and the extended key usage
``id-kp-documentSigning`` (RFC 9336), the signing purpose :mod:`.profile` accepts. Every
profile rule can be broken on purpose through keyword arguments (validity window, ``cA`` flag,
path length, keyUsage, extendedKeyUsage, name constraints), so tests can build the bad chains
that :func:`verifier.protocol.x509.chain.validate_chain` refuses.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from ..jose import SigningKey
from .chain import x5c_header
from .profile import DOCUMENT_SIGNING

__all__ = [
    "CA_KEY_USAGE",
    "LEAF_EXTENDED_KEY_USAGE",
    "LEAF_KEY_USAGE",
    "DevPKI",
    "IssuerKey",
    "make_intermediate",
    "make_leaf",
    "make_root",
    "make_self_signed_leaf",
]

# A key that signs certificates: our EC SigningKey, or a raw key (RSA/Ed25519 chains in tests).
_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
IssuerKey = SigningKey | _PrivateKey

CA_KEY_USAGE: frozenset[str] = frozenset({"key_cert_sign", "crl_sign"})
LEAF_KEY_USAGE: frozenset[str] = frozenset({"digital_signature"})
LEAF_EXTENDED_KEY_USAGE: tuple[x509.ObjectIdentifier, ...] = (DOCUMENT_SIGNING,)
_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)
_BACKDATE = 300  # seconds notBefore lies before ``now``, for clocks slightly behind ours
_DAY = 86_400


def make_root(
    name: str,
    key: IssuerKey,
    *,
    now: int,
    days: int = 3650,
    not_before: int | None = None,
    not_after: int | None = None,
    ca: bool = True,
    path_length: int | None = None,
    key_usage: Collection[str] | None = CA_KEY_USAGE,
) -> x509.Certificate:
    """A self-signed root CA certificate (the trust anchor)."""
    subject = _name(name)
    return _build(
        subject=subject,
        subject_key=key,
        issuer=subject,
        issuer_key=key,
        issuer_cert=None,
        validity=_validity(now, days, not_before, not_after),
        ca=ca,
        path_length=path_length,
        key_usage=key_usage,
        dns=(),
        uris=(),
    )


def make_intermediate(
    name: str,
    key: IssuerKey,
    issuer_cert: x509.Certificate,
    issuer_key: IssuerKey,
    *,
    now: int,
    days: int = 1825,
    not_before: int | None = None,
    not_after: int | None = None,
    ca: bool = True,
    path_length: int | None = 0,
    key_usage: Collection[str] | None = CA_KEY_USAGE,
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None = None,
    name_constraints: x509.NameConstraints | None = None,
    name_constraints_critical: bool = True,
) -> x509.Certificate:
    """An intermediate CA certificate issued by ``issuer_cert`` (pathLen 0 by default),
    optionally with extendedKeyUsage and nameConstraints (RFC 5280 §4.2.1.10: critical)."""
    extra: list[tuple[x509.ExtensionType, bool]] = []
    if name_constraints is not None:
        extra.append((name_constraints, name_constraints_critical))
    return _build(
        subject=_name(name),
        subject_key=key,
        issuer=issuer_cert.subject,
        issuer_key=issuer_key,
        issuer_cert=issuer_cert,
        validity=_validity(now, days, not_before, not_after),
        ca=ca,
        path_length=path_length,
        key_usage=key_usage,
        dns=(),
        uris=(),
        extended_key_usage=extended_key_usage,
        extra=extra,
    )


def make_leaf(
    name: str,
    key: IssuerKey,
    issuer_cert: x509.Certificate,
    issuer_key: IssuerKey,
    *,
    now: int,
    days: int = 365,
    not_before: int | None = None,
    not_after: int | None = None,
    dns: Sequence[str] = (),
    uris: Sequence[str] = (),
    ca: bool = False,
    path_length: int | None = None,
    key_usage: Collection[str] | None = LEAF_KEY_USAGE,
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None = LEAF_EXTENDED_KEY_USAGE,
) -> x509.Certificate:
    """An end-entity certificate issued by ``issuer_cert`` with the given SANs.

    ``ca=True`` (a leaf that is a CA) and other ``key_usage`` or ``extended_key_usage`` sets
    (``None``: no such extension) exist to build bad leaves.
    """
    return _build(
        subject=_name(name),
        subject_key=key,
        issuer=issuer_cert.subject,
        issuer_key=issuer_key,
        issuer_cert=issuer_cert,
        validity=_validity(now, days, not_before, not_after),
        ca=ca,
        path_length=path_length,
        key_usage=key_usage,
        dns=dns,
        uris=uris,
        extended_key_usage=extended_key_usage,
    )


def make_self_signed_leaf(
    name: str,
    key: IssuerKey,
    *,
    now: int,
    days: int = 365,
    dns: Sequence[str] = (),
    uris: Sequence[str] = (),
    key_usage: Collection[str] | None = LEAF_KEY_USAGE,
) -> x509.Certificate:
    """A self-signed end-entity certificate (which HAIP forbids as an ``x5c`` signer)."""
    subject = _name(name)
    return _build(
        subject=subject,
        subject_key=key,
        issuer=subject,
        issuer_key=key,
        issuer_cert=None,
        validity=_validity(now, days, None, None),
        ca=False,
        path_length=None,
        key_usage=key_usage,
        dns=dns,
        uris=uris,
        extended_key_usage=LEAF_EXTENDED_KEY_USAGE,
    )


@dataclass(frozen=True, slots=True)
class DevPKI:
    """A root CA (trust anchor) and an intermediate CA that issues the leaves."""

    root: x509.Certificate
    root_key: SigningKey
    intermediate: x509.Certificate
    intermediate_key: SigningKey

    @classmethod
    def create(cls, *, now: int, name: str = "agentvp dev") -> DevPKI:
        """Fresh P-256 keys; root ``"<name> Root CA"`` and intermediate ``"<name> Issuing CA"``."""
        root_key = SigningKey.generate()
        intermediate_key = SigningKey.generate()
        root = make_root(f"{name} Root CA", root_key, now=now)
        intermediate = make_intermediate(
            f"{name} Issuing CA", intermediate_key, root, root_key, now=now
        )
        return cls(root, root_key, intermediate, intermediate_key)

    @property
    def anchors(self) -> list[x509.Certificate]:
        return [self.root]

    def issue_leaf(
        self,
        name: str,
        key: SigningKey,
        *,
        now: int,
        days: int = 365,
        dns: Sequence[str] = (),
        uris: Sequence[str] = (),
        key_usage: Collection[str] | None = LEAF_KEY_USAGE,
        extended_key_usage: Sequence[x509.ObjectIdentifier] | None = LEAF_EXTENDED_KEY_USAGE,
    ) -> x509.Certificate:
        """A leaf issued by the intermediate CA."""
        return make_leaf(
            name,
            key,
            self.intermediate,
            self.intermediate_key,
            now=now,
            days=days,
            dns=dns,
            uris=uris,
            key_usage=key_usage,
            extended_key_usage=extended_key_usage,
        )

    def verifier_leaf(
        self, host: str, key: SigningKey, *, now: int, uris: Sequence[str] = ()
    ) -> x509.Certificate:
        """A verifier (relying party) certificate: dNSName SAN ``host`` for ``x509_san_dns``."""
        return self.issue_leaf(host, key, now=now, dns=(host,), uris=uris)

    def issuer_leaf(self, issuer_url: str, key: SigningKey, *, now: int) -> x509.Certificate:
        """A credential issuer certificate: URI SAN ``issuer_url``, dNSName SAN its host."""
        return self.issue_leaf(issuer_url, key, now=now, dns=_host(issuer_url), uris=(issuer_url,))

    def status_list_leaf(self, list_url: str, key: SigningKey, *, now: int) -> x509.Certificate:
        """A Status List Token signer: URI SAN ``list_url`` (or the issuer URL), its host."""
        name = f"Status list signer {list_url}"
        return self.issue_leaf(name, key, now=now, dns=_host(list_url), uris=(list_url,))

    def chain(self, leaf: x509.Certificate) -> list[x509.Certificate]:
        """The chain to send: leaf then intermediate, without the root (HAIP)."""
        return [leaf, self.intermediate]

    def x5c(self, leaf: x509.Certificate) -> list[str]:
        """The JOSE ``x5c`` header value for ``leaf``."""
        return x5c_header(self.chain(leaf))


# --------------------------------------------------------------------------------------------
# Internals


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _host(url: str) -> tuple[str, ...]:
    host = urlsplit(url).hostname
    return (host,) if host else ()


def _validity(
    now: int, days: int, not_before: int | None, not_after: int | None
) -> tuple[datetime.datetime, datetime.datetime]:
    start = now - _BACKDATE if not_before is None else not_before
    end = now + days * _DAY if not_after is None else not_after
    return (
        datetime.datetime.fromtimestamp(start, datetime.UTC),
        datetime.datetime.fromtimestamp(end, datetime.UTC),
    )


def _private(key: IssuerKey) -> _PrivateKey:
    return key.private_key if isinstance(key, SigningKey) else key


def _ski_of(cert: x509.Certificate) -> x509.SubjectKeyIdentifier | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None


def _key_usage(names: Collection[str]) -> x509.KeyUsage:
    unknown = set(names) - set(_KEY_USAGE_BITS)
    if unknown:
        raise ValueError(f"unknown keyUsage bits {sorted(unknown)}")
    return x509.KeyUsage(**{bit: bit in names for bit in _KEY_USAGE_BITS})


def _build(
    *,
    subject: x509.Name,
    subject_key: IssuerKey,
    issuer: x509.Name,
    issuer_key: IssuerKey,
    issuer_cert: x509.Certificate | None,
    validity: tuple[datetime.datetime, datetime.datetime],
    ca: bool,
    path_length: int | None,
    key_usage: Collection[str] | None,
    dns: Sequence[str],
    uris: Sequence[str],
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None = None,
    extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> x509.Certificate:
    public = _private(subject_key).public_key()
    signer = _private(issuer_key)
    ski = x509.SubjectKeyIdentifier.from_public_key(public)
    issuer_ski = ski if issuer_cert is None else _ski_of(issuer_cert)  # self-signed: our own
    if issuer_ski is not None:
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
    else:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    if key_usage is not None:
        builder = builder.add_extension(_key_usage(key_usage), critical=True)
    if extended_key_usage is not None:
        usage = x509.ExtendedKeyUsage(list(extended_key_usage))
        builder = builder.add_extension(usage, critical=False)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.UniformResourceIdentifier(u) for u in uris]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signer, algorithm)
