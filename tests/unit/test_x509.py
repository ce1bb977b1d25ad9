"""X.509 chains for x5c: parsing, identifiers, and RFC 5280 / HAIP path validation."""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

from verifier.protocol import SignatureError, SigningKey, TrustError
from verifier.protocol.jose import b64url_encode, parse_unverified_jws, verify_jws
from verifier.protocol.x509.chain import (
    cert_to_pem,
    dns_sans,
    load_pem_certificates,
    parse_x5c,
    public_key_of,
    uri_sans,
    validate_chain,
    x5c_header,
    x509_hash,
)
from verifier.protocol.x509.devpki import (
    DevPKI,
    make_intermediate,
    make_leaf,
    make_root,
    make_self_signed_leaf,
)

NOW = 1_750_000_000
DAY = 86_400


@pytest.fixture(scope="module")
def pki() -> DevPKI:
    return DevPKI.create(now=NOW, name="test")


@pytest.fixture(scope="module")
def leaf_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def leaf(pki: DevPKI, leaf_key: SigningKey) -> x509.Certificate:
    return pki.verifier_leaf("localhost", leaf_key, now=NOW, uris=("https://localhost:8443",))


def _common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def refused(code: str, chain: list[x509.Certificate], anchors: list[x509.Certificate]) -> None:
    with pytest.raises(TrustError) as info:
        validate_chain(chain, anchors, now=NOW)
    assert info.value.code == code, info.value.reason


# --------------------------------------------------------------------------------------------
# Accepted paths


def test_root_intermediate_leaf_is_accepted_and_returns_the_leaf(
    pki: DevPKI, leaf: x509.Certificate
) -> None:
    assert validate_chain(pki.chain(leaf), pki.anchors, now=NOW) is leaf


def test_x5c_round_trip_validates(pki: DevPKI, leaf: x509.Certificate) -> None:
    chain = parse_x5c(pki.x5c(leaf))
    assert chain == [leaf, pki.intermediate]
    assert validate_chain(chain, [pki.root], now=NOW) == leaf


def test_leaf_issued_directly_by_the_anchor(pki: DevPKI, leaf_key: SigningKey) -> None:
    direct = make_leaf("direct", leaf_key, pki.root, pki.root_key, now=NOW)
    assert validate_chain([direct], [pki.root], now=NOW) is direct


def test_the_right_anchor_is_found_among_several(pki: DevPKI, leaf: x509.Certificate) -> None:
    other = DevPKI.create(now=NOW, name="other")
    assert validate_chain(pki.chain(leaf), [other.root, pki.root], now=NOW) is leaf


def test_leaf_without_key_usage_is_accepted(pki: DevPKI, leaf_key: SigningKey) -> None:
    bare = pki.issue_leaf("bare", leaf_key, now=NOW, key_usage=None)
    assert validate_chain(pki.chain(bare), pki.anchors, now=NOW) is bare


def test_path_lengths_allow_two_intermediates(leaf_key: SigningKey) -> None:
    root_key, ca1_key, ca2_key = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    root = make_root("root", root_key, now=NOW, path_length=2)
    ca1 = make_intermediate("ca1", ca1_key, root, root_key, now=NOW, path_length=1)
    ca2 = make_intermediate("ca2", ca2_key, ca1, ca1_key, now=NOW, path_length=0)
    end = make_leaf("leaf", leaf_key, ca2, ca2_key, now=NOW)
    assert validate_chain([end, ca2, ca1], [root], now=NOW) is end


def test_rsa_and_p384_issuers_and_an_ed25519_leaf_are_supported() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p384_key = SigningKey.generate(crv="P-384")
    root = make_root("rsa root", rsa_key, now=NOW)
    p384_ca = make_intermediate("p384 ca", p384_key, root, rsa_key, now=NOW)
    end = make_leaf("leaf", SigningKey.generate(), p384_ca, p384_key, now=NOW)
    assert validate_chain([end, p384_ca], [root], now=NOW) is end
    ed_leaf = make_leaf("ed leaf", ed25519.Ed25519PrivateKey.generate(), p384_ca, p384_key, now=NOW)
    assert validate_chain([ed_leaf, p384_ca], [root], now=NOW) is ed_leaf


def test_ed25519_issuers_are_outside_the_path_builders_algorithms() -> None:
    """cryptography's path builder verifies certificate signatures with the CA/B Forum
    algorithms only (RSA, ECDSA): an Ed25519 CA - in x5c or as the anchor - issues nothing."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    root = make_root("rsa root", rsa_key, now=NOW)
    ed_ca = make_intermediate("ed25519 ca", ed_key, root, rsa_key, now=NOW)
    end = make_leaf("leaf", SigningKey.generate(), ed_ca, ed_key, now=NOW)
    refused("x5c_invalid", [end, ed_ca], [root])
    ed_root = make_root("ed25519 root", ed_key, now=NOW)
    refused(
        "x5c_untrusted",
        [make_leaf("leaf", SigningKey.generate(), ed_root, ed_key, now=NOW)],
        [ed_root],
    )


# --------------------------------------------------------------------------------------------
# Refused paths, one fault each


def test_empty_and_too_long_chains(pki: DevPKI, leaf: x509.Certificate) -> None:
    refused("x5c_invalid", [], pki.anchors)
    refused("x5c_invalid", [leaf] * 11, pki.anchors)


def test_expired_intermediate(pki: DevPKI, leaf_key: SigningKey) -> None:
    ca_key = SigningKey.generate()
    ca = make_intermediate(
        "old ca",
        ca_key,
        pki.root,
        pki.root_key,
        now=NOW,
        not_before=NOW - 9 * DAY,
        not_after=NOW - 1,
    )
    end = make_leaf("leaf", leaf_key, ca, ca_key, now=NOW, not_before=NOW - DAY)
    refused("x5c_expired", [end, ca], pki.anchors)


def test_not_yet_valid_leaf(pki: DevPKI, leaf_key: SigningKey) -> None:
    end = make_leaf(
        "future", leaf_key, pki.intermediate, pki.intermediate_key, now=NOW, not_before=NOW + 60
    )
    refused("x5c_expired", pki.chain(end), pki.anchors)


def test_expired_anchor(leaf_key: SigningKey) -> None:
    root_key = SigningKey.generate()
    root = make_root("old root", root_key, now=NOW, not_before=NOW - 9 * DAY, not_after=NOW - 1)
    end = make_leaf("leaf", leaf_key, root, root_key, now=NOW)
    refused("x5c_expired", [end], [root])


def test_intermediate_without_ca_flag(pki: DevPKI, leaf_key: SigningKey) -> None:
    ca_key = SigningKey.generate()
    ca = make_intermediate("not a ca", ca_key, pki.root, pki.root_key, now=NOW, ca=False)
    end = make_leaf("leaf", leaf_key, ca, ca_key, now=NOW)
    refused("x5c_not_ca", [end, ca], pki.anchors)


def test_anchor_without_ca_flag(leaf_key: SigningKey) -> None:
    root_key = SigningKey.generate()
    root = make_root("not a ca root", root_key, now=NOW, ca=False)
    end = make_leaf("leaf", leaf_key, root, root_key, now=NOW)
    refused("x5c_not_ca", [end], [root])


def test_intermediate_key_usage_without_key_cert_sign(pki: DevPKI, leaf_key: SigningKey) -> None:
    ca_key = SigningKey.generate()
    ca = make_intermediate(
        "crl only", ca_key, pki.root, pki.root_key, now=NOW, key_usage={"crl_sign"}
    )
    end = make_leaf("leaf", leaf_key, ca, ca_key, now=NOW)
    refused("x5c_key_usage", [end, ca], pki.anchors)


def test_leaf_without_digital_signature(pki: DevPKI, leaf_key: SigningKey) -> None:
    end = pki.issue_leaf("kex", leaf_key, now=NOW, key_usage={"key_agreement"})
    refused("x5c_key_usage", pki.chain(end), pki.anchors)


def test_leaf_usage_asked_by_the_caller(pki: DevPKI, leaf: x509.Certificate) -> None:
    with pytest.raises(TrustError) as info:
        validate_chain(pki.chain(leaf), pki.anchors, now=NOW, leaf_key_usage="key_agreement")
    assert info.value.code == "x5c_key_usage"
    with pytest.raises(ValueError, match="keyUsage"):
        validate_chain(pki.chain(leaf), pki.anchors, now=NOW, leaf_key_usage="signing")


def test_leaf_that_is_a_ca(pki: DevPKI, leaf_key: SigningKey) -> None:
    end = make_leaf("ca leaf", leaf_key, pki.intermediate, pki.intermediate_key, now=NOW, ca=True)
    refused("x5c_key_usage", pki.chain(end), pki.anchors)


def test_unknown_root(pki: DevPKI, leaf: x509.Certificate) -> None:
    other = DevPKI.create(now=NOW, name="other")
    refused("x5c_untrusted", pki.chain(leaf), other.anchors)
    refused("x5c_untrusted", pki.chain(leaf), [])


def test_anchor_with_same_name_but_another_key(pki: DevPKI, leaf: x509.Certificate) -> None:
    impostor = make_root(_common_name(pki.root), SigningKey.generate(), now=NOW)
    assert impostor.subject == pki.root.subject
    refused("x5c_untrusted", pki.chain(leaf), [impostor])


def test_missing_intermediate(pki: DevPKI, leaf: x509.Certificate) -> None:
    refused("x5c_untrusted", [leaf], pki.anchors)


def test_anchor_included_in_x5c(pki: DevPKI, leaf: x509.Certificate) -> None:
    refused("x5c_anchor_included", [*pki.chain(leaf), pki.root], pki.anchors)


def test_reissued_anchor_included_in_x5c(pki: DevPKI, leaf: x509.Certificate) -> None:
    reissued = make_root(_common_name(pki.root), pki.root_key, now=NOW, days=20)
    assert reissued != pki.root
    refused("x5c_anchor_included", [*pki.chain(leaf), reissued], pki.anchors)


def test_wrong_order(pki: DevPKI, leaf: x509.Certificate) -> None:
    refused("x5c_invalid", [pki.intermediate, leaf], pki.anchors)


def test_broken_signature(pki: DevPKI, leaf: x509.Certificate) -> None:
    der = bytearray(leaf.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # last byte of the ECDSA signature's s
    broken = x509.load_der_x509_certificate(bytes(der))
    refused("x5c_invalid", [broken, pki.intermediate], pki.anchors)


def test_signature_by_another_key_with_the_right_issuer_name(
    pki: DevPKI, leaf_key: SigningKey
) -> None:
    forged = make_leaf("forged", leaf_key, pki.intermediate, SigningKey.generate(), now=NOW)
    refused("x5c_invalid", pki.chain(forged), pki.anchors)


def test_self_signed_leaf(pki: DevPKI, leaf_key: SigningKey) -> None:
    own = make_self_signed_leaf("localhost", leaf_key, now=NOW, dns=("localhost",))
    refused("x5c_self_signed", [own], pki.anchors)
    with pytest.raises(TrustError) as info:  # allowed by policy, still not trusted
        validate_chain([own], pki.anchors, now=NOW, require_leaf_not_self_signed=False)
    assert info.value.code == "x5c_untrusted"


def test_intermediate_path_length_violated(pki: DevPKI, leaf_key: SigningKey) -> None:
    ca1_key, ca2_key = SigningKey.generate(), SigningKey.generate()
    ca1 = make_intermediate("ca1", ca1_key, pki.root, pki.root_key, now=NOW, path_length=0)
    ca2 = make_intermediate("ca2", ca2_key, ca1, ca1_key, now=NOW)
    end = make_leaf("leaf", leaf_key, ca2, ca2_key, now=NOW)
    refused("x5c_not_ca", [end, ca2, ca1], pki.anchors)


def test_anchor_path_length_violated(leaf_key: SigningKey) -> None:
    root_key, ca_key = SigningKey.generate(), SigningKey.generate()
    root = make_root("root", root_key, now=NOW, path_length=0)
    ca = make_intermediate("ca", ca_key, root, root_key, now=NOW)
    end = make_leaf("leaf", leaf_key, ca, ca_key, now=NOW)
    refused("x5c_not_ca", [end, ca], [root])


def test_weak_rsa_issuer_key(pki: DevPKI, leaf_key: SigningKey) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ca = make_intermediate("weak ca", weak, pki.root, pki.root_key, now=NOW)
    end = make_leaf("leaf", leaf_key, ca, weak, now=NOW)
    refused("x5c_invalid", [end, ca], pki.anchors)
    weak_root = make_root("weak root", weak, now=NOW)  # an anchor that cannot be relied upon
    refused("x5c_untrusted", [make_leaf("leaf", leaf_key, weak_root, weak, now=NOW)], [weak_root])


def _custom_leaf(
    pki: DevPKI,
    key: SigningKey,
    *,
    algorithm: hashes.SHA224 | hashes.SHA256,
    critical_oid: str | None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "custom")]))
        .issuer_name(pki.intermediate.subject)
        .public_key(key.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime.fromtimestamp(NOW - DAY, datetime.UTC))
        .not_valid_after(datetime.datetime.fromtimestamp(NOW + DAY, datetime.UTC))
    )
    if critical_oid is not None:
        ext = x509.UnrecognizedExtension(ObjectIdentifier(critical_oid), b"\x05\x00")
        builder = builder.add_extension(ext, critical=True)
    return builder.sign(pki.intermediate_key.private_key, algorithm)


def test_unknown_critical_extension(pki: DevPKI, leaf_key: SigningKey) -> None:
    plain = _custom_leaf(pki, leaf_key, algorithm=hashes.SHA256(), critical_oid=None)
    assert validate_chain(pki.chain(plain), pki.anchors, now=NOW) is plain
    odd = _custom_leaf(pki, leaf_key, algorithm=hashes.SHA256(), critical_oid="1.3.6.1.4.1.99999.1")
    refused("x5c_invalid", pki.chain(odd), pki.anchors)


def test_signature_hash_outside_sha2_256_to_512_is_refused(
    pki: DevPKI, leaf_key: SigningKey
) -> None:
    # cryptography no longer signs with SHA-1; SHA-224 stands in for any hash off the list.
    old = _custom_leaf(pki, leaf_key, algorithm=hashes.SHA224(), critical_oid=None)
    refused("x5c_invalid", pki.chain(old), pki.anchors)


# --------------------------------------------------------------------------------------------
# Identifiers, SANs, AKI


def test_x509_hash_is_base64url_sha256_of_der(leaf: x509.Certificate) -> None:
    der = leaf.public_bytes(serialization.Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert x509_hash(leaf) == expected == b64url_encode(hashlib.sha256(der).digest())
    assert len(x509_hash(leaf)) == 43


def test_sans_of_verifier_issuer_and_status_list_leaves(
    pki: DevPKI, leaf: x509.Certificate, leaf_key: SigningKey
) -> None:
    assert dns_sans(leaf) == ["localhost"]
    assert uri_sans(leaf) == ["https://localhost:8443"]
    issuer = pki.issuer_leaf("https://issuer.example:8443/tenant", leaf_key, now=NOW)
    assert dns_sans(issuer) == ["issuer.example"]
    assert uri_sans(issuer) == ["https://issuer.example:8443/tenant"]
    status = pki.status_list_leaf("https://issuer.example/status/1", leaf_key, now=NOW)
    assert uri_sans(status) == ["https://issuer.example/status/1"]
    assert validate_chain(pki.chain(status), pki.anchors, now=NOW) is status
    assert dns_sans(pki.root) == [] == uri_sans(pki.intermediate)


def test_authority_key_identifier_names_the_issuer_key(pki: DevPKI, leaf: x509.Certificate) -> None:
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = pki.intermediate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    root_aki = pki.root.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = pki.root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert root_aki.key_identifier == root_ski.digest


# --------------------------------------------------------------------------------------------
# Encoding


def _valid_entry(pki: DevPKI) -> str:
    return x5c_header([pki.intermediate])[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda e: e,  # a string, not a list
        lambda e: {"0": e},
        lambda e: [],
        lambda e: [123],
        lambda e: [e.rstrip("=") + "!"],
        lambda e: [e.replace("+", "-").replace("/", "_") + "-_"],  # base64url alphabet
        lambda e: ["YQ"],  # unpadded
        lambda e: ["YQ=="],  # base64 but not DER
        lambda e: [" " + e],
        lambda e: [e + "\n"],
        lambda e: ["Zm9v" + e],  # trailing data before the certificate
        lambda e: [e] * 11,
    ],
)
def test_parse_x5c_junk(pki: DevPKI, make: Callable[[str], object]) -> None:
    with pytest.raises(TrustError) as info:
        parse_x5c(make(_valid_entry(pki)))
    assert info.value.code == "x5c_invalid"


def test_parse_x5c_refuses_a_respelled_certificate(pki: DevPKI, leaf_key: SigningKey) -> None:
    """Standard base64 is canonical too: the same DER with the spare bits of the last data
    character set is not the certificate's text (RFC 4648 §3.5)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    entry = ""
    while not entry.endswith("="):  # a DER length that is not a multiple of 3 bytes
        entry = x5c_header([pki.issue_leaf("respelled", leaf_key, now=NOW)])[0]
    data = entry.rstrip("=")
    spare = 0x0F if entry.endswith("==") else 0x03
    respelled = data[:-1] + alphabet[alphabet.index(data[-1]) | spare] + entry[len(data) :]
    assert base64.b64decode(respelled) == base64.b64decode(entry)
    assert len(parse_x5c([entry])) == 1
    with pytest.raises(TrustError, match="not canonical") as info:
        parse_x5c([respelled])
    assert info.value.code == "x5c_invalid"


def test_parse_x5c_limit_is_configurable(pki: DevPKI, leaf: x509.Certificate) -> None:
    assert len(parse_x5c(pki.x5c(leaf), max_certs=2)) == 2
    with pytest.raises(TrustError) as info:
        parse_x5c(pki.x5c(leaf), max_certs=1)
    assert info.value.code == "x5c_invalid"


def test_pem_round_trip(pki: DevPKI, leaf: x509.Certificate) -> None:
    bundle = cert_to_pem(pki.root) + cert_to_pem(pki.intermediate)
    assert bundle.startswith("-----BEGIN CERTIFICATE-----")
    assert load_pem_certificates(bundle) == [pki.root, pki.intermediate]
    for junk in ("", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(TrustError) as info:
            load_pem_certificates(junk)
        assert info.value.code == "x5c_invalid"


# --------------------------------------------------------------------------------------------
# The leaf key verifies what it signed


def test_public_key_of_leaf_verifies_a_jws_carrying_the_chain(
    pki: DevPKI, leaf: x509.Certificate, leaf_key: SigningKey
) -> None:
    token = leaf_key.sign_jws({"typ": "oauth-authz-req+jwt", "x5c": pki.x5c(leaf)}, {"a": 1})
    jws = parse_unverified_jws(token)
    signer = validate_chain(parse_x5c(jws.header["x5c"]), pki.anchors, now=NOW)
    verify_jws(jws, public_key_of(signer), allowed_algs={"ES256"})
    assert public_key_of(signer).jwk == leaf_key.public_key.jwk
    with pytest.raises(SignatureError):
        verify_jws(jws, public_key_of(pki.intermediate), allowed_algs={"ES256"})


def test_public_key_of_other_key_types(pki: DevPKI) -> None:
    p384 = SigningKey.generate(crv="P-384")
    assert public_key_of(pki.issue_leaf("p384", p384, now=NOW)).crv == "P-384"
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_leaf = make_leaf("ed", ed, pki.intermediate, pki.intermediate_key, now=NOW)
    assert public_key_of(ed_leaf).kty == "OKP"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_leaf = make_leaf("rsa", rsa_key, pki.intermediate, pki.intermediate_key, now=NOW)
    with pytest.raises(TrustError) as info:
        public_key_of(rsa_leaf)
    assert info.value.code == "x5c_invalid"
