"""AP2 v0.2 chains and mandates in the protocol core: both trust models and modes, and a
negative case per verifier rule (hop typ, signature, binding, aud, nonce, iat, exp, cnf,
delegate items, RFC 9901 processing, root trust, every constraint, presets, checkout binding)."""

from __future__ import annotations

from typing import Any

import pytest

from tests import ap2_kit as kit
from tests.ap2_kit import AUD, CARD, MERCHANT, NONCE, NOW, OTHER_MERCHANT, SHOE, SOCK, Parties
from verifier.protocol import AgentVPError
from verifier.protocol.jose import SigningKey
from verifier.protocol.mandates.ap2 import receipt_error
from verifier.protocol.sdjwt.delegation import DelegationPolicy
from wallet_sim import ap2


@pytest.fixture(scope="module")
def p() -> Parties:
    return Parties()


def codes(p: Parties, chain: str, **kwargs: Any) -> list[str]:
    _, decision = p.verify(chain, **kwargs)
    return [r.code for r in decision.reasons]


def error(p: Parties, chain: str, **kwargs: Any) -> str:
    with pytest.raises(AgentVPError) as caught:
        p.verify(chain, **kwargs)
    return caught.value.code


# ------------------------------------------------------------------ positive flows


def test_agent_provider_autonomous_payment(p: Parties) -> None:
    chain, cj = kit.payment_chain(p)
    verified, decision = p.verify(chain, checkout_jwt=cj)
    assert verified.root_kind == "agent_provider" and verified.provider == "provider"
    assert decision.mode == "autonomous" and decision.vct == "mandate.payment.1"
    assert decision.reasons == []
    (usage,) = decision.usages
    assert (usage.amount, usage.budget, usage.max_occurrences) == (19900, 100000, 5)


def test_usage_key_does_not_depend_on_disclosures(p: Parties) -> None:
    item = kit.open_payment(p)
    # same open mandate (same signed JWT and item): only when the root is the same signature
    root = ap2.provider_root(p.provider, [item])
    shown1, shown2 = root.only(0, keep=[item.nested[0][0], item.nested[2][0]]), root.only(0)
    cj = p.checkout_jwt()
    closed = ap2.closed_payment(cj, payee=MERCHANT, amount=100, currency="EUR", instrument=CARD)
    keys = set()
    for shown in (shown1, shown2):
        leaf = ap2.sign_hop(shown, p.agent, [closed], aud=AUD, nonce=NONCE, iat=NOW)
        keys.add(p.verify(ap2.present(shown, leaf.full()))[1].usages[0].key)
    assert len(keys) == 1


def test_user_credential_autonomous_three_segments(p: Parties) -> None:
    cj = p.checkout_jwt()
    closed = ap2.closed_payment(cj, payee=MERCHANT, amount=19900, currency="EUR", instrument=CARD)
    chain = kit.user_chain(p, [kit.open_payment(p)], agent_closed=closed)
    verified, decision = p.verify(chain, checkout_jwt=cj)
    assert verified.root_kind == "user_credential" and len(verified.segments) == 3
    assert verified.credential is not None and verified.credential.iss == p.bank.iss
    assert decision.mode == "autonomous" and decision.reasons == []


def test_user_credential_direct(p: Parties) -> None:
    cj = p.checkout_jwt()
    closed = ap2.closed_checkout(cj)
    payment = ap2.closed_payment(cj, payee=MERCHANT, amount=19900, currency="EUR", instrument=CARD)
    chain = kit.user_chain(p, [closed, payment])
    _verified, decision = p.verify(chain, checkout_jwt=cj)
    assert decision.mode == "direct" and decision.vct == "mandate.checkout.1"
    assert decision.reasons == [] and decision.usages == []


def test_agent_provider_direct_single_segment(p: Parties) -> None:
    cj = p.checkout_jwt()
    closed = ap2.closed_payment(cj, payee=MERCHANT, amount=19900, currency="EUR", instrument=CARD)
    root = ap2.provider_root(p.provider, [closed], extra={"aud": AUD, "nonce": NONCE, "iat": NOW})
    verified, decision = p.verify(root.full(), checkout_jwt=cj)
    assert len(verified.segments) == 1 and decision.mode == "direct" and decision.reasons == []
    bare = ap2.provider_root(p.provider, [closed])
    assert error(p, bare.full()) == "hop_claim_missing"


def test_issuer_jwt_hash_lets_the_next_delegate_drop_disclosures(p: Parties) -> None:
    item = kit.open_payment(p)
    root = ap2.provider_root(p.provider, [item])
    cj = p.checkout_jwt()
    closed = ap2.closed_payment(cj, payee=MERCHANT, amount=19900, currency="EUR", instrument=CARD)
    leaf = ap2.sign_hop(
        root.full(), p.agent, [closed], aud=AUD, nonce=NONCE, iat=NOW, binding="issuer_jwt_hash"
    )
    fewer = root.only(0, keep=[item.nested[0][0], item.nested[2][0]])
    assert codes(p, ap2.present(fewer, leaf.full())) == []
    sd_leaf = ap2.sign_hop(root.full(), p.agent, [closed], aud=AUD, nonce=NONCE, iat=NOW)
    assert error(p, ap2.present(fewer, sd_leaf.full())) == "hop_binding_mismatch"


# ------------------------------------------------------------------ chain rules


def _hop(p: Parties, **hop: Any) -> str:
    return kit.payment_chain(p, hop=hop)[0]


@pytest.mark.parametrize(
    ("hop", "code"),
    [
        ({"aud": "https://elsewhere.example"}, "hop_aud_mismatch"),
        ({"nonce": "replayed-nonce"}, "hop_nonce_mismatch"),
        ({"iat": NOW + 600}, "hop_iat_out_of_window"),
        ({"iat": NOW - 3600}, "hop_iat_out_of_window"),
        ({"extra": {"exp": NOW - 3600}}, "hop_expired"),
        ({"extra": {"issuer_jwt_hash": "x"}}, "hop_binding_ambiguous"),
        ({"extra": {"cnf": {"jwk": {}}}}, "hop_cnf_unexpected"),
    ],
)
def test_terminal_hop_claims(p: Parties, hop: dict[str, Any], code: str) -> None:
    assert error(p, _hop(p, **hop)) == code


def test_hop_signed_by_another_key(p: Parties) -> None:
    chain, _ = kit.payment_chain(p, agent=SigningKey.generate())
    assert error(p, chain) == "hop_signature_invalid"


def test_hop_typ(p: Parties) -> None:
    chain, _ = kit.payment_chain(p)
    root, leaf = chain.split("~~")
    jwt, rest = leaf.split("~", 1)
    _header, payload, _sig = jwt.split(".")
    forged = p.agent.sign_jws(
        {"typ": "kb+sd-jwt+kb"},
        __import__("json").loads(__import__("base64").urlsafe_b64decode(payload + "==")),
    )
    assert error(p, f"{root}~~{forged}~{rest}") == "hop_typ_invalid"


def test_hop_without_binding(p: Parties) -> None:
    item = kit.open_payment(p)
    root = ap2.provider_root(p.provider, [item]).only(0)
    cj = p.checkout_jwt()
    closed = ap2.closed_payment(cj, payee=MERCHANT, amount=1, currency="EUR", instrument=CARD)
    leaf = ap2.sign_hop(root, p.agent, [closed], aud=AUD, nonce=NONCE, iat=NOW, binding="x")
    assert error(p, ap2.present(root, leaf.full())) == "hop_binding_missing"


def test_hop_bound_to_another_segment(p: Parties) -> None:
    one, _ = kit.payment_chain(p)
    two, _ = kit.payment_chain(p)
    assert error(p, one.split("~~")[0] + "~~" + two.split("~~")[1]) == "hop_binding_mismatch"


def test_unreferenced_disclosure_in_a_hop(p: Parties) -> None:
    chain, _ = kit.payment_chain(p)
    stray, _ = ap2.disclose({"vct": "mandate.payment.1"})
    assert error(p, chain + stray + "~") == "unreferenced_disclosure"


def test_chain_shape(p: Parties) -> None:
    chain, _ = kit.payment_chain(p)
    assert error(p, chain + "eyJ.eyJ.sig") == "chain_kb_jwt_unsupported"
    assert error(p, "~~" + chain) == "chain_malformed"
    assert error(p, "not a chain~") == "chain_malformed"


def test_chain_too_long(p: Parties) -> None:
    cj = p.checkout_jwt()
    closed = ap2.closed_payment(cj, payee=MERCHANT, amount=1, currency="EUR", instrument=CARD)
    chain = kit.user_chain(p, [kit.open_payment(p)], agent_closed=closed)
    deep = DelegationPolicy(max_segments=2)
    assert error(p, chain, policy=deep) == "chain_too_long"


def test_intermediate_item_without_cnf_and_two_items(p: Parties) -> None:
    cred = p.credential()
    no_cnf = ap2.Item({"vct": "mandate.payment.open.1", "constraints": []})
    hop = ap2.sign_hop(cred, p.user, [no_cnf], aud=AUD, nonce="n", iat=NOW)
    forged = p.user.sign_jws(
        {"typ": "kb+sd-jwt+kb"},
        __import__("json").loads(
            __import__("base64").urlsafe_b64decode(hop.jwt.split(".")[1] + "==")
        ),
    )
    shown = "~".join((forged, *hop.items[0], ""))
    leaf = ap2.sign_hop(shown, p.agent, [no_cnf], aud=AUD, nonce=NONCE, iat=NOW)
    assert error(p, ap2.present(cred, shown, leaf.full())) == "hop_cnf_missing"
    two = ap2.sign_hop(
        cred, p.user, [kit.open_payment(p), kit.open_payment(p)], aud=AUD, nonce="n", iat=NOW
    )
    leaf = ap2.sign_hop(two.full(), p.agent, [no_cnf], aud=AUD, nonce=NONCE, iat=NOW)
    assert error(p, ap2.present(cred, two.full(), leaf.full())) == "delegate_payload_not_single"


def test_terminal_item_with_cnf(p: Parties) -> None:
    chain = kit.user_chain(p, [kit.open_payment(p)])  # an open mandate as the last hop
    assert error(p, chain) == "hop_typ_invalid"


def test_roots(p: Parties) -> None:
    chain, _ = kit.payment_chain(p)
    assert error(Parties(), chain) == "issuer_signature_invalid"  # same kid, another key
    other = Parties(provider=SigningKey.generate(kid="provider-9"))
    assert error(other, chain) == "root_untrusted"  # never falls back to the issuer path
    cj = p.checkout_jwt()
    closed = ap2.closed_payment(cj, payee=MERCHANT, amount=1, currency="EUR", instrument=CARD)
    uc = kit.user_chain(p, [kit.open_payment(p)], agent_closed=closed)
    assert error(p, uc, trust_bank=False) == "issuer_untrusted"
    assert error(p, uc.split("~~")[0] + "~") == "root_untrusted"
    impostor = ap2.provider_root(SigningKey.generate(kid="provider-1"), [kit.open_payment(p)])
    leaf = ap2.sign_hop(impostor.full(), p.agent, [closed], aud=AUD, nonce=NONCE, iat=NOW)
    assert error(p, ap2.present(impostor.full(), leaf.full())) == "issuer_signature_invalid"


def test_provider_root_typ(p: Parties) -> None:
    item = kit.open_payment(p)
    payload, groups = ap2._delegate_claims([item])
    jwt = p.provider.sign_jws({"typ": "vc+sd-jwt"}, {"delegate_payload": payload})
    root = "~".join((jwt, *groups[0], ""))
    assert error(p, root + "~" + "x.y.z~") in ("root_typ_invalid", "chain_malformed")
    assert error(p, ap2.present(root, "a.b.c~")) == "root_typ_invalid"


def test_open_mandate_expired_and_disclosable_exp(p: Parties) -> None:
    chain, _ = kit.payment_chain(p, item=kit.open_payment(p, exp=NOW - 3600))
    assert error(p, chain) == "delegate_expired"
    item = kit.open_payment(p)
    del item.content["exp"]
    encoded, digest = ap2.disclose(NOW + 60, "exp")
    item.content["_sd"] = [digest]
    item.nested.append((encoded, digest, NOW + 60))
    chain, _ = kit.payment_chain(p, item=item, keep=[n[0] for n in item.nested])
    assert error(p, chain) == "delegate_claim_disclosed"


# ------------------------------------------------------------------ mandate rules


def _closed(p: Parties, cj: str, **over: Any) -> ap2.Item:
    options = {"payee": MERCHANT, "amount": 19900, "currency": "EUR", "instrument": CARD, **over}
    return ap2.closed_payment(cj, **options)


@pytest.mark.parametrize(
    ("item", "closed", "code"),
    [
        ({}, {"amount": 60000}, "amount_out_of_range"),
        ({"amount_min": 20000}, {}, "amount_out_of_range"),
        ({}, {"currency": "USD"}, "currency_mismatch"),
        ({}, {"payee": {"id": "m-9", "name": "Else"}}, "payee_not_allowed"),
        ({}, {"instrument": {"id": "card-9", "type": "card"}}, "instrument_not_allowed"),
        ({"budget": 10.005}, {}, "budget_not_exact"),
        (
            {"extra": [{"type": "payment.allowed_pisps", "allowed": []}]},
            {},
            "pisp_not_allowed",
        ),
        ({"extra": [{"type": "payment.fancy", "x": 1}]}, {}, "unknown_constraint"),
        (
            {"extra": [{"type": "payment.amount_range", "currency": "EUR", "max": 1.5}]},
            {},
            "constraint_malformed",
        ),
        (
            {"extra": [{"type": "payment.reference", "conditional_transaction_id": "abc"}]},
            {},
            "reference_unresolved",
        ),
    ],
)
def test_payment_constraints(
    p: Parties, item: dict[str, Any], closed: dict[str, Any], code: str
) -> None:
    cj = p.checkout_jwt()
    chain, _ = kit.payment_chain(
        p, item=kit.open_payment(p, **item), closed=_closed(p, cj, **closed), checkout_jwt=cj
    )
    assert code in codes(p, chain)


def test_withheld_payee_fails_and_withheld_constraint_fails(p: Parties) -> None:
    item = kit.open_payment(p)
    chain, _ = kit.payment_chain(p, item=item, keep=[])
    assert codes(p, chain) == ["payee_not_allowed", "instrument_not_allowed"]
    item = kit.open_payment(p, payees=[], instruments=[])
    hidden = {"type": "payment.amount_range", "currency": "EUR", "max": 1}
    item.content["constraints"] += item.sd_array([hidden])
    chain, _ = kit.payment_chain(p, item=item, keep=[])
    found = codes(p, chain)
    assert found == ["mandate_restriction_undisclosed"]
    assert receipt_error(found[0]) == "unresolved_constraint"


def test_execution_date(p: Parties) -> None:
    cj = p.checkout_jwt()
    window = {"type": "payment.execution_date", "not_after": "2026-01-31T00:00:00Z"}
    closed = _closed(p, cj)
    closed.content["execution_date"] = "2026-02-15T00:00:00Z"
    chain, _ = kit.payment_chain(
        p, item=kit.open_payment(p, extra=[window]), closed=closed, checkout_jwt=cj
    )
    assert codes(p, chain) == ["execution_date_out_of_window"]


def test_presets_must_be_unchanged(p: Parties) -> None:
    cj = p.checkout_jwt()
    item = kit.open_payment(p)
    item.content["payee"] = OTHER_MERCHANT
    chain, _ = kit.payment_chain(p, item=item, checkout_jwt=cj)
    assert "preset_changed" in codes(p, chain)


def test_checkout_binding_of_a_payment(p: Parties) -> None:
    cj, other = p.checkout_jwt(), p.checkout_jwt([(SOCK, 2)])
    chain, _ = kit.payment_chain(p, checkout_jwt=cj)
    assert codes(p, chain, checkout_jwt=cj) == []
    assert codes(p, chain, checkout_jwt=other) == [
        "transaction_id_mismatch",
        "payment_amount_mismatch",
    ]


def test_wrong_vct_version_and_type_mismatch(p: Parties) -> None:
    cj = p.checkout_jwt()
    closed = _closed(p, cj)
    closed.content["vct"] = "mandate.payment.2"
    chain, _ = kit.payment_chain(p, closed=closed)
    found = codes(p, chain)
    assert found == ["mandate_vct_unknown"] and receipt_error(found[0]) == "mandates_not_supported"
    chain, _ = kit.payment_chain(p, closed=ap2.closed_checkout(cj))
    assert codes(p, chain, checkout_jwt=cj) == ["mandate_type_mismatch"]


def _checkout_chain(p: Parties, cj: str, **options: Any) -> str:
    item = ap2.open_checkout(p.agent.public_jwk, **options)
    root = ap2.provider_root(p.provider, [item])
    leaf = ap2.sign_hop(
        root.full(), p.agent, [ap2.closed_checkout(cj)], aud=AUD, nonce=NONCE, iat=NOW
    )
    return ap2.present(root.full(), leaf.full())


def test_checkout_constraints(p: Parties) -> None:
    cj = p.checkout_jwt([(SHOE, 1), (SOCK, 2)])
    good = {"merchants": [MERCHANT], "items": [(1, [SHOE]), (2, [SOCK])]}
    assert codes(p, _checkout_chain(p, cj, **good), checkout_jwt=cj) == []
    assert codes(
        p,
        _checkout_chain(p, cj, merchants=[OTHER_MERCHANT], items=good["items"]),
        checkout_jwt=cj,
    ) == ["merchant_not_allowed"]
    assert codes(
        p, _checkout_chain(p, cj, merchants=[MERCHANT], items=[(1, [SHOE])]), checkout_jwt=cj
    ) == ["line_items_unmatched"]
    assert codes(p, _checkout_chain(p, cj, **good)) == []  # checkout_jwt disclosed in the hop
    other = p.checkout_jwt()
    assert "checkout_jwt_mismatch" in codes(p, _checkout_chain(p, cj, **good), checkout_jwt=other)


def test_checkout_hash_and_withheld_checkout_jwt(p: Parties) -> None:
    cj = p.checkout_jwt()
    forged = ap2.closed_checkout(cj)
    forged.content["checkout_hash"] = "A" * 43
    item = ap2.open_checkout(p.agent.public_jwk, merchants=[MERCHANT], items=[(1, [SHOE])])
    root = ap2.provider_root(p.provider, [item]).full()
    leaf = ap2.sign_hop(root, p.agent, [forged], aud=AUD, nonce=NONCE, iat=NOW)
    assert codes(p, ap2.present(root, leaf.full())) == ["checkout_hash_mismatch"]
    honest = ap2.sign_hop(root, p.agent, [ap2.closed_checkout(cj)], aud=AUD, nonce=NONCE, iat=NOW)
    withheld = honest.jwt + "~" + honest.items[0][0] + "~"
    assert codes(p, ap2.present(root, withheld))[0] == "checkout_jwt_missing"
    assert codes(p, ap2.present(root, withheld), checkout_jwt=cj) == []


def test_payment_reference_against_the_checkout_chain(p: Parties) -> None:
    cj = p.checkout_jwt()
    checkout = _checkout_chain(p, cj, merchants=[MERCHANT], items=[(1, [SHOE])])
    open_segment = checkout.split("~~")[0] + "~"
    ref = {
        "type": "payment.reference",
        "conditional_transaction_id": __import__(
            "verifier.protocol.jose", fromlist=["hash_b64"]
        ).hash_b64(open_segment),
    }
    chain, _ = kit.payment_chain(p, item=kit.open_payment(p, extra=[ref]), checkout_jwt=cj)
    assert codes(p, chain, checkout_chain=checkout) == []
    other = _checkout_chain(p, cj, merchants=[MERCHANT], items=[(1, [SHOE])])
    assert codes(p, chain, checkout_chain=other) == ["reference_mismatch"]


def test_closed_mandates_must_be_one(p: Parties) -> None:
    cj = p.checkout_jwt()
    cred = p.credential()
    both = ap2.sign_hop(
        cred, p.user, [ap2.closed_checkout(cj), _closed(p, cj)], aud=AUD, nonce=NONCE, iat=NOW
    )
    assert codes(p, ap2.present(cred, both.full())) == ["mandate_not_single"]
