"""What an ``x5c`` signer's certificate path must meet beyond what ``cryptography`` checks.

Path validation itself (RFC 5280 §6.1: name chaining, signatures, validity, basicConstraints,
pathLenConstraint, keyUsage ``keyCertSign`` on CAs, dNSName/iPAddress/rfc822Name name
constraints, unknown critical extensions, algorithm and key-size allow-lists) is
``cryptography.x509.verification``'s path builder, run by :func:`.chain.validate_chain`. This
module supplies its extension policies and the checks it lacks:

- the leaf (end-entity policy): not a CA; keyUsage, when present, asserts the bit the caller
  needs (``digitalSignature`` for signing); extendedKeyUsage, when present, names a signing
  purpose - :data:`SIGNING_PURPOSES` (RFC 5280 §4.2.1.12: "If the extension is present, then
  the certificate MUST only be used for one of the purposes indicated"; a TLS server or client
  certificate does not sign credentials or request objects);
- CAs (the builder's CA/B Forum CA policy, with one change): extendedKeyUsage on a CA, when
  present, must allow a signing purpose too, instead of the builder's TLS client purpose;
- name constraints (RFC 5280 §4.2.1.10) the builder does not evaluate: a ``directoryName``,
  ``otherName``, ``registeredID`` or other subtree the builder skips when the extension is
  not critical refuses the path (fail closed), and the host of every URI SAN of the leaf - the
  name an issuer is trusted under - must meet the path's dNSName constraints as a dNSName
  SAN would (the builder, per RFC 5280, applies them to dNSName SANs only).

Each failure is a :class:`~verifier.protocol.errors.TrustError` with its own code; the
builder's own failures are mapped to codes by :func:`code_for`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from cryptography.x509.verification import Criticality, ExtensionPolicy, Policy

from ..errors import TrustError

__all__ = [
    "DOCUMENT_SIGNING",
    "SIGNING_PURPOSES",
    "Refusals",
    "ca_policy",
    "check_name_constraints",
    "code_for",
    "leaf_policy",
]

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, RFC 9336
SIGNING_PURPOSES = frozenset({DOCUMENT_SIGNING, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE})
# Subtree types the builder evaluates (or refuses as unsupported, which fails closed).
_BUILDER_SUBTREES = (
    x509.DNSName,
    x509.IPAddress,
    x509.RFC822Name,
    x509.UniformResourceIdentifier,
)
# The builder's failure texts (cryptography-x509-verification), most specific first; a
# signature mismatch is told apart by :func:`.chain.validate_chain` (inside x5c or not).
_CODES = (
    ("not valid at validation time", "x5c_expired"),
    ("name constraint", "x5c_name_constraints"),
    ("nameConstraints", "x5c_name_constraints"),
    ("basicConstraints.cA must be asserted", "x5c_not_ca"),
    ("path length constraint", "x5c_not_ca"),
    ("keyCertSign", "x5c_key_usage"),
    ("2.5.29.15", "x5c_key_usage"),  # keyUsage missing on a CA
    ("EKU", "x5c_extended_key_usage"),
    ("Forbidden", "x5c_invalid"),  # signature or key algorithm off the allow-list
    ("too weak", "x5c_invalid"),
    ("critical extension", "x5c_invalid"),
)


def code_for(message: str) -> str | None:
    """Our code for a failure text of the path builder, or None when the text says only
    that no path to an anchor verified (see :func:`.chain.validate_chain`)."""
    for fragment, code in _CODES:
        if fragment in message:
            return code
    return None


class Refusals:
    """The first failure our extension validators found during one path build: the builder
    reports a Python validator's failure only as text, so the code travels here."""

    def __init__(self) -> None:
        self.first: TrustError | None = None

    def refuse(self, code: str, reason: str) -> None:
        error = TrustError(code, reason)
        if self.first is None:
            self.first = error
        raise error


Validator = Callable[[Policy, x509.Certificate, Any], None]


def _name(cert: x509.Certificate) -> str:
    return repr(cert.subject.rfc4514_string())


def _purposes(usage: x509.ExtendedKeyUsage) -> str:
    return ", ".join(getattr(oid, "_name", oid.dotted_string) for oid in usage)


def leaf_policy(refusals: Refusals, key_usage: str) -> ExtensionPolicy:
    """End-entity extension policy: any extension may be present; these three are checked."""

    def basic(_: Policy, cert: x509.Certificate, ext: x509.BasicConstraints | None) -> None:
        if ext is not None and ext.ca:
            refusals.refuse("x5c_key_usage", f"leaf {_name(cert)} is a CA certificate")

    def usage(_: Policy, cert: x509.Certificate, ext: x509.KeyUsage | None) -> None:
        if ext is not None and not getattr(ext, key_usage):
            refusals.refuse("x5c_key_usage", f"leaf {_name(cert)} keyUsage lacks {key_usage}")

    def purposes(_: Policy, cert: x509.Certificate, ext: x509.ExtendedKeyUsage | None) -> None:
        if ext is not None and not SIGNING_PURPOSES & set(ext):
            refusals.refuse(
                "x5c_extended_key_usage",
                f"leaf {_name(cert)} extendedKeyUsage ({_purposes(ext)}) names no signing "
                "purpose (documentSigning or anyExtendedKeyUsage)",
            )

    return (
        ExtensionPolicy.permit_all()
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, basic)
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, usage)
        .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, purposes)
    )


def ca_policy(refusals: Refusals) -> ExtensionPolicy:
    """The builder's CA policy, except that a CA's extendedKeyUsage must allow signing."""

    def purposes(_: Policy, cert: x509.Certificate, ext: x509.ExtendedKeyUsage | None) -> None:
        if ext is not None and not SIGNING_PURPOSES & set(ext):
            refusals.refuse(
                "x5c_extended_key_usage",
                f"CA {_name(cert)} extendedKeyUsage ({_purposes(ext)}) does not allow signing",
            )

    return ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, purposes
    )


def _within(host: str, constraint: str) -> bool:
    """RFC 5280 §4.2.1.10 dNSName subtree: the name itself or any name below it."""
    host, constraint = host.lower().rstrip("."), constraint.lower().strip(".")
    return not constraint or host == constraint or host.endswith("." + constraint)


def _uri_hosts(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    return [host for host in (urlsplit(uri).hostname for uri in uris) if host]


def check_name_constraints(path: Sequence[x509.Certificate]) -> None:
    """The name-constraint checks the builder lacks, over a built path (leaf first)."""
    leaf, hosts = path[0], None
    for ca in path[1:]:
        try:
            constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
        except x509.ExtensionNotFound:
            continue
        permitted = list(constraints.permitted_subtrees or ())
        excluded = list(constraints.excluded_subtrees or ())
        skipped = sorted(
            {type(n).__name__ for n in permitted + excluded if not isinstance(n, _BUILDER_SUBTREES)}
        )
        if skipped:
            raise TrustError(
                "x5c_name_constraints",
                f"CA {_name(ca)} has {'/'.join(skipped)} name constraints, which are not evaluated",
            )
        allowed = [n.value for n in permitted if isinstance(n, x509.DNSName)]
        denied = [n.value for n in excluded if isinstance(n, x509.DNSName)]
        hosts = _uri_hosts(leaf) if hosts is None else hosts
        for host in hosts:
            if (allowed and not any(_within(host, c) for c in allowed)) or any(
                _within(host, c) for c in denied
            ):
                raise TrustError(
                    "x5c_name_constraints",
                    f"leaf {_name(leaf)} URI host {host!r} is outside the dNSName "
                    f"constraints of CA {_name(ca)}",
                )
