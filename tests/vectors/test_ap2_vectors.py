"""AP2 v0.2 documentation examples as vectors (tests/vectors/ap2/spec_examples.json).

The agent provider's public key is not published, so the root segment is processed without its
signature (:func:`parse_unverified_segment`); every later hop is verified for real, with the
``cnf`` key the root's open mandate names, and the mandates are evaluated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from verifier.protocol import AgentVPError, StaticKeyResolver
from verifier.protocol.jose import hash_b64, public_key_from_jwk
from verifier.protocol.mandates.ap2 import evaluate_chain
from verifier.protocol.mandates.ap2_checkout import Checkout, _items, _total
from verifier.protocol.sdjwt.delegation import (
    AGENT_PROVIDER,
    DelegationPolicy,
    StaticProviderKeys,
    VerifiedChain,
    join_chain,
    parse_unverified_segment,
    split_chain,
    verify_chain,
    verify_hops,
)

CASES = json.loads((Path(__file__).parent / "ap2" / "spec_examples.json").read_text())["cases"]
POLICY = DelegationPolicy(provider_typs=frozenset({"example+sd-jwt"}))


def _verify(inputs: dict[str, Any], *, aud: str, nonce: str) -> VerifiedChain:
    texts = split_chain(inputs["chain"], policy=POLICY)
    root = parse_unverified_segment(texts[0], policy=POLICY)
    assert root.header["typ"] == inputs["provider_typ"]
    key = public_key_from_jwk(root.items[0].claims["cnf"]["jwk"])
    return verify_hops(
        texts,
        VerifiedChain((root,), AGENT_PROVIDER, provider="example"),
        key,
        audience=aud,
        nonce=nonce,
        now=inputs["now"],
        policy=POLICY,
    )


def _checkout(chain: VerifiedChain) -> Checkout:
    """The example's checkout JWT, read (its merchant key is not published either)."""
    jwt = chain.terminal.items[0].claims["checkout_jwt"]
    payload = json.loads(__import__("base64").urlsafe_b64decode(jwt.split(".")[1] + "==").decode())
    return Checkout(jwt, payload, payload["merchant"], _items(payload), _total(payload))


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_spec_example(case: dict[str, Any]) -> None:
    inputs, expected = case["input"], case["expected"]
    if "error" in expected:
        with pytest.raises(AgentVPError) as caught:
            _verify(inputs, aud=inputs["aud"], nonce=inputs["nonce"])
        assert caught.value.code == expected["error"]
        return
    texts = split_chain(inputs["chain"], policy=POLICY)
    assert list(texts) == inputs["segments"]
    assert join_chain(texts) == inputs["chain"]
    chain = _verify(inputs, aud=inputs["aud"], nonce=inputs["nonce"])
    root, hop = chain.segments
    assert root.items[0].claims["vct"] == expected["root_vct"]
    assert hop.items[0].claims["vct"] == expected["closed_vct"]
    assert expected["binding"] in hop.claims
    assert root.sd_hash() == expected["open_segment_sd_hash"]
    assert root.items[0].undisclosed == ()
    checkout = _checkout(chain) if "checkout_hash" in expected else None
    checkout_chain = None
    if "checkout_chain" in inputs:
        checkout_chain = _verify(
            {**inputs, "chain": inputs["checkout_chain"]},
            aud="merchant",
            nonce="b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4",
        )
    decision = evaluate_chain(chain, checkout=checkout, checkout_chain=checkout_chain)
    assert decision.mode == "autonomous"
    assert (decision.reasons == []) is expected["constraints_pass"], decision.reasons
    if checkout is not None:
        assert hash_b64(checkout.jwt) == expected["checkout_hash"]
        assert checkout.merchant == expected["checkout_merchant"]
        assert [list(i) for i in checkout.items or ()] == expected["checkout_items"]
    if "transaction_id" in expected:
        assert decision.closed is not None
        assert decision.closed["transaction_id"] == expected["transaction_id"]
        reference = root.items[0].claims["constraints"][2]["conditional_transaction_id"]
        assert reference == expected["reference"]
        # the one open payment mandate is counted once: no agent_recurrence
        assert [u.max_occurrences for u in decision.usages] == [1]


SDK_CASES = json.loads((Path(__file__).parent / "ap2" / "sdk_chains.json").read_text())["cases"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in SDK_CASES])
def test_chains_made_by_the_reference_sdk(case: dict[str, Any]) -> None:
    """Independent implementation: chains the AP2 SDK v0.2.0 made verify here (made by
    tests/interop/ap2_sdk_crosscheck.py; the SDK also verifies ours - see that script)."""
    inputs, expected = case["input"], case["expected"]
    providers = StaticProviderKeys({"sdk": (None, [inputs["provider_jwk"]])})
    verified = verify_chain(
        inputs["chain"],
        issuers=StaticKeyResolver({}),
        providers=providers,
        audience=inputs["aud"],
        nonce=inputs["nonce"],
        now=inputs["now"],
    )
    decision = evaluate_chain(verified)
    assert (decision.mode, decision.vct) == (expected["mode"], expected["vct"])
    assert [r.code for r in decision.reasons] == expected["reasons"]
    with pytest.raises(AgentVPError):
        verify_chain(
            inputs["chain"],
            issuers=StaticKeyResolver({}),
            providers=providers,
            audience=inputs["aud"],
            nonce="another",
            now=inputs["now"],
        )
