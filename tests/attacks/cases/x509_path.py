"""X.509 path validation of an issuer's ``x5c`` per RFC 5280 (digest §10 #21, #46): the leaf
must be a certificate for signing, and every name constraint on its path must hold. Each
credential is signed by the leaf's key and chains to the configured anchor through certificates
that are otherwise valid, so the response is processed and rejected with the check's code.

On main each of these was accepted: a TLS server certificate (extendedKeyUsage serverAuth only)
signed identity credentials, and an intermediate's non-critical nameConstraints were ignored."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.attacks.cases.issuer import x5c_attack
from tests.attacks.harness import X5C_ISS, Case, Rejected, World, now
from verifier.protocol import SigningKey
from verifier.protocol.x509.chain import x5c_header
from verifier.protocol.x509.devpki import make_intermediate, make_leaf

HOST = "x5c-issuer.attack.example"
SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
EKU = "RFC 5280 §4.2.1.12; digest §10 #21, #46"
NC = "RFC 5280 §4.2.1.10, §6.1.3 (b); digest §10 #21, #46"


def leaf_for(
    *purposes: x509.ObjectIdentifier,
) -> Callable[[World, SigningKey], list[str]]:
    """An issuer leaf of the world's PKI whose extendedKeyUsage is ``purposes``."""

    def chain(world: World, key: SigningKey) -> list[str]:
        leaf = world.pki.issue_leaf(
            X5C_ISS, key, now=now(), dns=(HOST,), uris=(X5C_ISS,), extended_key_usage=purposes
        )
        return world.x5c(leaf)

    return chain


def via_ca(
    *,
    dns: Sequence[str] = (HOST,),
    purposes: Sequence[x509.ObjectIdentifier] | None = None,
    permitted: Sequence[x509.GeneralName] | None = None,
    excluded: Sequence[x509.GeneralName] | None = None,
) -> Callable[[World, SigningKey], list[str]]:
    """A leaf issued by a fresh intermediate under the anchor, with that CA's
    extendedKeyUsage and non-critical nameConstraints as given."""

    def chain(world: World, key: SigningKey) -> list[str]:
        ca_key = SigningKey.generate()
        constraints = None
        if permitted or excluded:
            constraints = x509.NameConstraints(
                permitted_subtrees=list(permitted) if permitted else None,
                excluded_subtrees=list(excluded) if excluded else None,
            )
        ca = make_intermediate(
            "attack constrained CA",
            ca_key,
            world.pki.root,
            world.pki.root_key,
            now=now(),
            extended_key_usage=purposes,
            name_constraints=constraints,
            name_constraints_critical=False,
        )
        leaf = make_leaf(X5C_ISS, key, ca, ca_key, now=now(), dns=dns, uris=(X5C_ISS,))
        return x5c_header([leaf, ca])

    return chain


def _r(name: str, source: str, chain: Callable[[World, SigningKey], list[str]], code: str) -> Case:
    return Case(name, source, x5c_attack(chain), Rejected(code))


ORG = x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Attack")]))
CASES = [
    _r("x5c_leaf_server_auth_only", EKU, leaf_for(SERVER), "x5c_extended_key_usage"),
    _r("x5c_leaf_tls_purposes_only", EKU, leaf_for(SERVER, CLIENT), "x5c_extended_key_usage"),
    _r(
        "x5c_ca_tls_purposes_only", EKU, via_ca(purposes=(SERVER, CLIENT)), "x5c_extended_key_usage"
    ),
    _r(
        "x5c_leaf_dns_outside_permitted_subtree",
        NC,
        via_ca(permitted=[x509.DNSName("other.attack.example")]),
        "x5c_name_constraints",
    ),
    _r(
        "x5c_leaf_dns_in_excluded_subtree",
        NC,
        via_ca(excluded=[x509.DNSName("attack.example")]),
        "x5c_name_constraints",
    ),
    _r(
        "x5c_leaf_issuer_uri_outside_dns_constraints",
        NC + "; issuer named by URI SAN",
        via_ca(
            dns=("signer.good.attack.example",), permitted=[x509.DNSName("good.attack.example")]
        ),
        "x5c_name_constraints",
    ),
    _r("x5c_directory_name_constraints", NC, via_ca(permitted=[ORG]), "x5c_name_constraints"),
]
