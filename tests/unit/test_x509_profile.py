"""RFC 5280 profile checks of x5c signer paths (verifier.protocol.x509.profile): what the leaf
and its CAs may be used for (keyUsage, extendedKeyUsage) and name constraints, including the
checks cryptography's path builder does not make. Each refusal has its own code."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from verifier.protocol import SigningKey, TrustError
from verifier.protocol.x509.chain import validate_chain
from verifier.protocol.x509.devpki import DevPKI, make_intermediate, make_leaf
from verifier.protocol.x509.profile import DOCUMENT_SIGNING

NOW = 1_750_000_000
SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
ANY = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE
ISSUER_URL = "https://issuer.good.example/tenant"


@pytest.fixture(scope="module")
def pki() -> DevPKI:
    return DevPKI.create(now=NOW, name="profile")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def refused(code: str, chain: Sequence[x509.Certificate], anchors: list[x509.Certificate]) -> str:
    with pytest.raises(TrustError) as info:
        validate_chain(chain, anchors, now=NOW)
    assert info.value.code == code, info.value.reason
    return info.value.reason


def test_dev_pki_leaves_carry_the_signing_purpose(pki: DevPKI, key: SigningKey) -> None:
    leaf = pki.issuer_leaf(ISSUER_URL, key, now=NOW)
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(usage.value) == [DOCUMENT_SIGNING] and not usage.critical
    keys = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert keys.digital_signature and not keys.key_cert_sign
    assert validate_chain(pki.chain(leaf), pki.anchors, now=NOW) is leaf


@pytest.mark.parametrize(
    "purposes",
    [None, (DOCUMENT_SIGNING,), (ANY,), (SERVER, DOCUMENT_SIGNING), (CLIENT, ANY)],
    ids=["absent", "documentSigning", "any", "server+documentSigning", "client+any"],
)
def test_leaf_purposes_that_allow_signing(
    pki: DevPKI, key: SigningKey, purposes: tuple[x509.ObjectIdentifier, ...] | None
) -> None:
    leaf = pki.issue_leaf("signer", key, now=NOW, extended_key_usage=purposes)
    assert validate_chain(pki.chain(leaf), pki.anchors, now=NOW) is leaf


@pytest.mark.parametrize(
    "purposes",
    [(SERVER,), (SERVER, CLIENT), (ExtendedKeyUsageOID.CODE_SIGNING,)],
    ids=["serverAuth", "serverAuth+clientAuth", "codeSigning"],
)
def test_leaf_restricted_to_other_purposes_is_refused(
    pki: DevPKI, key: SigningKey, purposes: tuple[x509.ObjectIdentifier, ...]
) -> None:
    """RFC 5280 §4.2.1.12: a certificate with extendedKeyUsage is for those purposes only -
    a TLS server certificate does not sign credentials or request objects."""
    leaf = pki.issuer_leaf(ISSUER_URL, key, now=NOW)
    tls = pki.issue_leaf(ISSUER_URL, key, now=NOW, uris=(ISSUER_URL,), extended_key_usage=purposes)
    assert validate_chain(pki.chain(leaf), pki.anchors, now=NOW) is leaf
    assert "names no signing purpose" in refused(
        "x5c_extended_key_usage", pki.chain(tls), pki.anchors
    )


def test_ca_restricted_to_tls_purposes_issues_no_signer(pki: DevPKI, key: SigningKey) -> None:
    ca_key = SigningKey.generate()
    for purposes, accepted in (
        ((SERVER, CLIENT), False),
        ((DOCUMENT_SIGNING,), True),
        ((ANY,), True),
    ):
        ca = make_intermediate(
            "eku ca", ca_key, pki.root, pki.root_key, now=NOW, extended_key_usage=purposes
        )
        chain = [make_leaf("signer", key, ca, ca_key, now=NOW), ca]
        if accepted:
            assert validate_chain(chain, pki.anchors, now=NOW) is chain[0]
        else:
            assert "does not allow signing" in refused("x5c_extended_key_usage", chain, pki.anchors)


def test_ca_without_key_usage_is_refused(pki: DevPKI, key: SigningKey) -> None:
    """RFC 5280 §4.2.1.3: CAs MUST carry keyUsage (the builder requires keyCertSign)."""
    ca_key = SigningKey.generate()
    ca = make_intermediate("bare ca", ca_key, pki.root, pki.root_key, now=NOW, key_usage=None)
    refused("x5c_key_usage", [make_leaf("signer", key, ca, ca_key, now=NOW), ca], pki.anchors)


# --------------------------------------------------------------------------------------------
# Name constraints


def constrained(
    pki: DevPKI,
    *,
    permitted: Sequence[x509.GeneralName] | None = None,
    excluded: Sequence[x509.GeneralName] | None = None,
    critical: bool = False,
) -> tuple[x509.Certificate, SigningKey]:
    ca_key = SigningKey.generate()
    constraints = x509.NameConstraints(
        permitted_subtrees=list(permitted) if permitted else None,
        excluded_subtrees=list(excluded) if excluded else None,
    )
    ca = make_intermediate(
        "constrained ca",
        ca_key,
        pki.root,
        pki.root_key,
        now=NOW,
        name_constraints=constraints,
        name_constraints_critical=critical,
    )
    return ca, ca_key


GOOD = [x509.DNSName("good.example")]


@pytest.mark.parametrize("critical", [False, True], ids=["non-critical", "critical"])
def test_leaf_inside_dns_constraints_is_accepted(
    pki: DevPKI, key: SigningKey, critical: bool
) -> None:
    ca, ca_key = constrained(pki, permitted=GOOD, critical=critical)
    leaf = make_leaf(
        "in", key, ca, ca_key, now=NOW, dns=("issuer.good.example",), uris=(ISSUER_URL,)
    )
    assert validate_chain([leaf, ca], pki.anchors, now=NOW) is leaf


@pytest.mark.parametrize("critical", [False, True], ids=["non-critical", "critical"])
def test_leaf_dns_name_outside_permitted_subtree_is_refused(
    pki: DevPKI, key: SigningKey, critical: bool
) -> None:
    """RFC 5280 §6.1.3 (b): also when the CA marked nameConstraints non-critical."""
    ca, ca_key = constrained(pki, permitted=GOOD, critical=critical)
    leaf = make_leaf("out", key, ca, ca_key, now=NOW, dns=("issuer.evil.example",))
    refused("x5c_name_constraints", [leaf, ca], pki.anchors)


def test_leaf_dns_name_in_excluded_subtree_is_refused(pki: DevPKI, key: SigningKey) -> None:
    ca, ca_key = constrained(pki, excluded=[x509.DNSName("evil.example")])
    leaf = make_leaf("out", key, ca, ca_key, now=NOW, dns=("issuer.evil.example",))
    refused("x5c_name_constraints", [leaf, ca], pki.anchors)


@pytest.mark.parametrize(
    ("dns", "uri"),
    [
        (("issuer.good.example",), "https://issuer.evil.example/"),  # only the URI is outside
        ((), "https://issuer.evil.example/"),  # no dNSName at all
        (("issuer.good.example",), "https://ISSUER.good.example.evil.example/"),
    ],
)
def test_uri_san_host_outside_dns_constraints_is_refused(
    pki: DevPKI, key: SigningKey, dns: tuple[str, ...], uri: str
) -> None:
    """The issuer is trusted under its URI SAN: a CA constrained to good.example cannot name
    an issuer elsewhere through a URI (the builder applies dNSName subtrees to dNSNames only)."""
    ca, ca_key = constrained(pki, permitted=GOOD)
    leaf = make_leaf("uri", key, ca, ca_key, now=NOW, dns=dns, uris=(uri,))
    assert "outside the dNSName constraints" in refused(
        "x5c_name_constraints", [leaf, ca], pki.anchors
    )


def test_uri_san_host_in_excluded_dns_subtree_is_refused(pki: DevPKI, key: SigningKey) -> None:
    ca, ca_key = constrained(pki, excluded=[x509.DNSName("evil.example")])
    leaf = make_leaf("uri", key, ca, ca_key, now=NOW, uris=("https://evil.example/",))
    refused("x5c_name_constraints", [leaf, ca], pki.anchors)


@pytest.mark.parametrize("critical", [False, True], ids=["non-critical", "critical"])
def test_directory_name_constraints_fail_closed(
    pki: DevPKI, key: SigningKey, critical: bool
) -> None:
    """Subtree types neither the builder nor we evaluate refuse the path, whatever the flag
    (the builder skips them when non-critical)."""
    good_org = x509.DirectoryName(
        x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Good")])
    )
    ca, ca_key = constrained(pki, permitted=[good_org], critical=critical)
    leaf = make_leaf("dn", key, ca, ca_key, now=NOW, dns=("issuer.good.example",))
    refused("x5c_name_constraints", [leaf, ca], pki.anchors)


def test_uri_constraints_are_refused_as_unsupported(pki: DevPKI, key: SigningKey) -> None:
    ca, ca_key = constrained(pki, permitted=[x509.UniformResourceIdentifier("good.example")])
    leaf = make_leaf("uri", key, ca, ca_key, now=NOW, uris=(ISSUER_URL,))
    refused("x5c_name_constraints", [leaf, ca], pki.anchors)


# --------------------------------------------------------------------------------------------
# The validated path is the x5c chain


def test_path_must_be_the_x5c_chain_itself(pki: DevPKI, key: SigningKey) -> None:
    """A leaf the anchor issued directly, sent with a look-alike of the anchor (same name,
    another key) as 'intermediate': the builder finds leaf -> anchor, which is not x5c."""
    look_alike_key = SigningKey.generate()
    look_alike = _same_name_ca(pki, look_alike_key)
    leaf = make_leaf("direct", key, pki.root, pki.root_key, now=NOW)
    assert validate_chain([leaf], pki.anchors, now=NOW) is leaf
    assert "not the x5c chain" in refused("x5c_invalid", [leaf, look_alike], pki.anchors)


def _same_name_ca(pki: DevPKI, ca_key: SigningKey) -> x509.Certificate:
    start = datetime.datetime.fromtimestamp(NOW - 60, datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(pki.root.subject)
        .issuer_name(pki.root.subject)
        .public_key(ca_key.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(pki.root_key.private_key, hashes.SHA256())
    )
