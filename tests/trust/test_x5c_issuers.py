"""Issuer trust by x5c chains to configured anchors, through the real verification path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verifier.policy.trust import TrustAnchor, TrustConfig, TrustedIssuer, TrustResolver
from verifier.protocol import AgentVPError, HeldCredential, verify_presentation
from verifier.protocol.jose import SigningKey
from verifier.protocol.x509.chain import cert_to_pem, x5c_header
from verifier.protocol.x509.devpki import DevPKI, make_intermediate, make_leaf, make_root
from wallet_sim.issuer import IDENTITY_VCT, IdentitySubject, Issuer, identity_claims

NOW = 1_780_000_000
ISS = "https://ekyc.pki.example"
PKI = DevPKI.create(now=NOW - 86400, name="issuer pki")
HOLDER = SigningKey.generate()


def resolver(anchors: list[Any], vct: list[str] | None = None, **extra: Any) -> TrustResolver:
    config = TrustConfig(
        anchors=[TrustAnchor(pem=cert_to_pem(a), vct=vct) for a in anchors], **extra
    )
    return TrustResolver(config, clock=lambda: NOW)


def issue(x5c: list[str], key: SigningKey, iss: str = ISS) -> str:
    issuer = Issuer(iss, key)
    claims = identity_claims(IdentitySubject(), iss=iss, now=NOW)
    issuance = issuer.issue(claims, holder_jwk=HOLDER.public_jwk, header={"x5c": x5c, "kid": None})
    return issuance


def verify(presentation: str, trust: TrustResolver) -> Any:
    return verify_presentation(
        presentation, keys=trust, audience="a", nonce="n", now=NOW, require_key_binding=False
    )


def leaf_chain(**kwargs: Any) -> tuple[list[str], SigningKey]:
    key = SigningKey.generate()
    leaf = (
        PKI.issuer_leaf(ISS, key, now=NOW - 3600)
        if not kwargs
        else make_leaf(
            "issuer", key, PKI.intermediate, PKI.intermediate_key, now=NOW - 3600, **kwargs
        )
    )
    return x5c_header([leaf, PKI.intermediate]), key


def test_valid_chain_is_trusted_and_the_leaf_key_verifies() -> None:
    x5c, key = leaf_chain()
    verified = verify(issue(x5c, key), resolver([PKI.root]))
    assert verified.iss == ISS and verified.vct == IDENTITY_VCT
    assert HeldCredential.from_issuance(issue(x5c, key)).header["x5c"] == x5c


Bad = Callable[[], tuple[list[str], SigningKey, TrustResolver]]


def expired_intermediate() -> tuple[list[str], SigningKey, TrustResolver]:
    pki_key = SigningKey.generate()
    old = make_intermediate(
        "old CA",
        pki_key,
        PKI.root,
        PKI.root_key,
        now=NOW,
        not_before=NOW - 900_000,
        not_after=NOW - 60,
    )
    key = SigningKey.generate()
    leaf = make_leaf("issuer", key, old, pki_key, now=NOW - 3600, uris=(ISS,))
    return x5c_header([leaf, old]), key, resolver([PKI.root])


def wrong_key_usage() -> tuple[list[str], SigningKey, TrustResolver]:
    x5c, key = leaf_chain(uris=(ISS,), key_usage={"key_encipherment"})
    return x5c, key, resolver([PKI.root])


def unknown_root() -> tuple[list[str], SigningKey, TrustResolver]:
    x5c, key = leaf_chain()
    other = make_root("someone else", SigningKey.generate(), now=NOW - 86400)
    return x5c, key, resolver([other])


def anchor_inside() -> tuple[list[str], SigningKey, TrustResolver]:
    key = SigningKey.generate()
    leaf = PKI.issuer_leaf(ISS, key, now=NOW - 3600)
    return x5c_header([leaf, PKI.intermediate, PKI.root]), key, resolver([PKI.root])


def name_mismatch() -> tuple[list[str], SigningKey, TrustResolver]:
    x5c, key = leaf_chain(uris=("https://someone-else.example",), dns=("someone-else.example",))
    return x5c, key, resolver([PKI.root])


def anchor_not_for_this_vct() -> tuple[list[str], SigningKey, TrustResolver]:
    x5c, key = leaf_chain()
    return x5c, key, resolver([PKI.root], vct=["https://agentvp.example/vct/agent_mandate/1"])


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (expired_intermediate, "x5c_expired"),
        (wrong_key_usage, "x5c_key_usage"),
        (unknown_root, "x5c_untrusted"),
        (anchor_inside, "x5c_anchor_included"),
        (name_mismatch, "x5c_name_mismatch"),
        (anchor_not_for_this_vct, "x5c_untrusted"),
    ],
)
def test_bad_chains_are_refused(make: Bad, code: str) -> None:
    x5c, key, trust = make()
    with pytest.raises(AgentVPError) as info:
        verify(issue(x5c, key), trust)
    assert info.value.code == code, info.value.reason


def test_x5c_is_never_trusted_without_anchors_even_for_a_jwks_issuer() -> None:
    """A credential cannot pick its key mechanism: x5c needs an anchor, whatever else is listed."""
    x5c, key = leaf_chain()
    trust = resolver([], issuers=[TrustedIssuer(iss=ISS, jwks={"keys": [key.public_jwk]})])
    with pytest.raises(AgentVPError) as info:
        verify(issue(x5c, key), trust)
    assert info.value.code == "x5c_untrusted"


def test_signature_by_another_key_than_the_leaf() -> None:
    x5c, _ = leaf_chain()
    with pytest.raises(AgentVPError) as info:
        verify(issue(x5c, SigningKey.generate()), resolver([PKI.root]))
    assert info.value.code == "issuer_signature_invalid"
