"""The DCQL query an agent verification sends (verifier.policy.queries), run through the
wallet's DCQL selection and the verifier's checks: every mandate that allows the action can
answer it, a mandate that does not is denied, and the agent discloses only the allow-list
members that concern this action - with or without a ``mandate.audiences`` list of strings,
wherever the constraints sit in the array."""

from __future__ import annotations

import random
from typing import Any

import pytest

from verifier.policy.queries import MAX_CONSTRAINTS, mandate_query
from verifier.policy.rules import AgentPolicy
from verifier.protocol import (
    DCQLQuery,
    HeldCredential,
    StaticKeyResolver,
    check_credential,
    verify_presentation,
)
from verifier.protocol.jose import SigningKey
from verifier.protocol.mandates.authority import AgentAction, evaluate_authority
from verifier.protocol.mandates.constraints import KNOWN_CONSTRAINTS
from verifier.setup.data_dir import default_policies
from wallet_sim.holder import build_vp_token
from wallet_sim.issuer import Issuer, MandateGrant, mandate_claims

NOW = 1_780_000_000
RP = "shop-a.example"
ISSUER = Issuer("https://mandates.query.example", SigningKey.generate(kid="mi"))
AGENT = SigningKey.generate()
POLICY = AgentPolicy.model_validate(default_policies()["shop-checkout"])
SHOP_A = {"id": "merchant-4711", "name": "Shop A", "domain": RP}
TICKETS_B = {"id": "merchant-0815", "name": "Tickets B", "domain": "tickets-b.example"}
BOOKS, CONCERTS = {"scheme": "iso18245", "code": "5942"}, {"scheme": "iso18245", "code": "7922"}
ACTION: dict[str, Any] = {
    "action": "payment.initiate",
    "transaction_id": "t1",
    "payee": SHOP_A,
    "category": BOOKS,
    "payment_amount": {"amount": 8990, "currency": "EUR"},
    "mandate_jti": "urn:uuid:query",
}
CLEAR_AUDIENCES = {"type": "mandate.audiences", "allowed": ["tickets-b.example", RP]}


def issue(grant: MandateGrant, shuffle: int | None) -> HeldCredential:
    claims = mandate_claims(grant, iss=ISSUER.iss, now=NOW - 60, principal_jkt="J")
    claims["jti"] = ACTION["mandate_jti"]
    if shuffle is not None:
        random.Random(shuffle).shuffle(claims["authority"]["constraints"])
    return HeldCredential.from_issuance(ISSUER.issue(claims, holder_jwk=AGENT.public_jwk), id="m")


def answer(held: HeldCredential, action: AgentAction) -> tuple[list[str], list[Any]]:
    """The agent answers the verifier's query; the verifier checks it against the query and
    evaluates the mandate: (refusal codes, the allow-list members the agent disclosed)."""
    raw = mandate_query(POLICY, action, want_jkt=True)
    query = DCQLQuery.parse(raw)
    token = build_vp_token(
        query=query,
        credentials=[held],
        holder_keys={"m": AGENT},
        audience="aud",
        nonce="n",
        now=NOW,
    ).vp_token["mandate"][0]
    verified = verify_presentation(
        token,
        keys=StaticKeyResolver({ISSUER.iss: [ISSUER.key.public_jwk]}),
        audience="aud",
        nonce="n",
        now=NOW,
    )
    check_credential(query.credentials[0], verified)  # the verifier's DCQL check
    claims = {**verified.claims}
    reasons = evaluate_authority(claims, action, layout=verified.layout, now=NOW, rp_domain=RP)
    members = [
        m for c in claims["authority"]["constraints"] if "allowed" in c for m in c["allowed"]
    ]
    return [r.code for r in reasons], members


GRANTS = {
    "no audiences": (MandateGrant(), []),
    "disclosable audiences": (MandateGrant(audiences=(RP, "tickets-b.example")), [RP]),
    "audiences in clear": (
        MandateGrant(extra_constraints=(CLEAR_AUDIENCES,)),
        CLEAR_AUDIENCES["allowed"],
    ),
}


@pytest.mark.parametrize("shuffle", [None, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("name", GRANTS)
def test_an_allowed_action_passes_and_only_its_members_are_disclosed(
    name: str, shuffle: int | None
) -> None:
    grant, audiences = GRANTS[name]
    codes, members = answer(issue(grant, shuffle), AgentAction.model_validate(ACTION))
    assert codes == []
    assert sorted(map(str, members)) == sorted(map(str, [SHOP_A, BOOKS, *audiences]))


@pytest.mark.parametrize("shuffle", [None, 7])
@pytest.mark.parametrize("name", GRANTS)
def test_a_payee_outside_the_mandate_is_denied_and_no_merchant_is_disclosed(
    name: str, shuffle: int | None
) -> None:
    grant, audiences = GRANTS[name]
    only_b = MandateGrant(
        merchants=(TICKETS_B,), audiences=grant.audiences, extra_constraints=grant.extra_constraints
    )
    codes, members = answer(issue(only_b, shuffle), AgentAction.model_validate(ACTION))
    assert codes == ["payee_not_allowed"]
    assert sorted(map(str, members)) == sorted(map(str, [BOOKS, *audiences]))


def test_an_audience_list_without_this_rp_is_denied_and_discloses_nothing() -> None:
    held = issue(MandateGrant(audiences=("tickets-b.example",)), shuffle=3)
    codes, members = answer(held, AgentAction.model_validate(ACTION))
    assert "audience_not_allowed" in codes
    assert members == []


@pytest.mark.parametrize("shuffle", [None, 11])
def test_mandates_without_merchants_or_categories_still_answer(shuffle: int | None) -> None:
    for grant in (
        MandateGrant(merchants=(), audiences=(RP,)),
        MandateGrant(categories=(), audiences=(RP,)),
        MandateGrant(merchants=(), categories=(), audiences=(RP,)),
        MandateGrant(merchants=(), categories=(), pairwise_ids=(), audiences=(RP,)),
        MandateGrant(pairwise_ids=(), audiences=(RP,)),
    ):
        codes, _ = answer(issue(grant, shuffle), AgentAction.model_validate(ACTION))
        assert codes == [], grant


def test_an_action_without_payee_or_category_asks_only_for_audience_and_pairwise() -> None:
    action = AgentAction.model_validate(
        {k: v for k, v in ACTION.items() if k not in ("payee", "category")}
    )
    codes, members = answer(issue(MandateGrant(audiences=(RP,)), 5), action)
    assert codes == [] and members == [RP]


def test_the_claim_sets_are_tiered_and_never_put_two_members_at_one_position() -> None:
    raw = mandate_query(POLICY, AgentAction.model_validate(ACTION), want_jkt=False)
    sets = [s[6:] for s in raw["credentials"][0]["claim_sets"]]  # without the required ids
    assert MAX_CONSTRAINTS == len(KNOWN_CONSTRAINTS) == 7
    first_positioned = next(i for i, s in enumerate(sets) if "audience" in s)
    assert all("audience" not in s for s in sets[:first_positioned])
    assert sets[-2:] == [["pairwise"], []]
    for tail in sets[first_positioned:-2]:
        positions = [m.rsplit("_", 1)[1] for m in tail if m.startswith(("payee_", "category_"))]
        assert len(positions) == len(set(positions)), tail
        assert "audience" in tail
    # payee at 8 choices x category at 8 choices - 7 shared positions, with or without pairwise
    assert len(sets) - first_positioned - 2 == (8 * 8 - 7) * 2
    assert len(sets) == len({tuple(s) for s in sets})  # no set twice
    without_rp = AgentPolicy.model_validate(
        {**default_policies()["shop-checkout"], "transaction": {}}
    )
    plain = mandate_query(without_rp, AgentAction.model_validate(ACTION), want_jkt=False)
    assert [s[6:] for s in plain["credentials"][0]["claim_sets"]] == [
        ["payee", "category"],
        ["payee"],
        ["category"],
        [],
    ]
