"""Mandate constraints fail closed: one test per rule of agent-mandates §3.2 as agentvp reads it
(`verifier.protocol.mandates`: constraints, restrictions, authority; `verifier.policy.mandate`).

Every case starts from a mandate that allows the action and changes one thing; the verdict is
then exactly one refusal code, whatever else the mandate says - "hiding a disclosure can only
narrow authority" holds by construction. The last tests check it over real SD-JWTs: for every
subset of disclosures an agent could send, a mandate is never allowed more than with all of
them, and a mandate with a disclosable restriction is never allowed at all.
"""

from __future__ import annotations

import copy
import itertools
import random
from pathlib import Path
from typing import Any

import pytest
from sd_jwt.common import SDObj

from tests.policy.test_rules import MANDATE, NOW, POLICY, action, result
from verifier.policy.mandate import evaluate_mandate
from verifier.protocol import HeldCredential, reconstruct
from verifier.protocol.jose import SigningKey
from verifier.protocol.mandates.authority import AgentAction, evaluate_authority, limits_of
from verifier.protocol.mandates.constraints import MAX_BOUND, Limits
from verifier.protocol.sdjwt.layout import NOTHING_SELECTIVE, SDLayout
from wallet_sim.agent import AgentHolder
from wallet_sim.issuer import Issuer, MandateGrant, mandate_claims
from wallet_sim.store import Wallet

AMOUNT = 0  # index of payment.amount_range in MANDATE
BUDGET, USES, MERCHANTS = 1, 2, 3


def changed(edit: Any) -> dict[str, Any]:
    mandate = copy.deepcopy(MANDATE)
    edit(mandate)
    return mandate


def constraint(index: int, **members: Any) -> dict[str, Any]:
    def edit(m: dict[str, Any]) -> None:
        for name, value in members.items():
            if value is None:
                m["authority"]["constraints"][index].pop(name)
            else:
                m["authority"]["constraints"][index][name] = value

    return changed(edit)


def added(*items: Any) -> dict[str, Any]:
    return changed(lambda m: m["authority"]["constraints"].extend(items))


def codes(mandate: dict[str, Any], layout: SDLayout = NOTHING_SELECTIVE, **kw: Any) -> list[str]:
    reasons = evaluate_authority(mandate, action(**kw), layout=layout, now=NOW)
    return [r.code for r in reasons]


def test_the_base_mandate_allows_the_action() -> None:
    assert codes(MANDATE) == []


# ------------------------------------------------------------------ restrictions in clear

DISCLOSED = [
    ("authority", "constraints", AMOUNT, "max"),
    ("authority", "constraints", AMOUNT, "currency"),
    ("authority", "constraints", AMOUNT),
    ("authority", "constraints", USES, "max"),
    ("authority", "constraints", MERCHANTS, "allowed"),
    ("authority", "constraints"),
    ("authority",),
    ("delegation",),
    ("delegation", "depth"),
    ("iat",),
]
CONCEALED = [
    ("authority", "constraints"),  # a whole constraint withheld (or a decoy: same thing)
    ("authority", "constraints", AMOUNT),  # max, min or currency withheld
    ("authority", "constraints", USES),
    ("authority", "constraints", MERCHANTS, "type_details"),
    ("delegation",),
]


@pytest.mark.parametrize("path", DISCLOSED, ids=str)
def test_a_restriction_that_came_from_a_disclosure_is_refused(path: tuple[Any, ...]) -> None:
    layout = SDLayout(disclosed=frozenset({path}))
    assert codes(MANDATE, layout) == ["mandate_restriction_undisclosed"]


@pytest.mark.parametrize("path", CONCEALED, ids=str)
def test_an_undisclosed_digest_where_a_restriction_could_hide_is_refused(
    path: tuple[Any, ...],
) -> None:
    layout = SDLayout(concealed=frozenset({path}))
    assert codes(MANDATE, layout) == ["mandate_restriction_undisclosed"]


@pytest.mark.parametrize("absent", ["iat", "nbf", "exp", "delegation"])
def test_a_top_level_digest_refuses_a_mandate_missing_a_restrictive_claim(absent: str) -> None:
    layout = SDLayout(concealed=frozenset({()}))
    assert codes(MANDATE, layout) == []  # all present: a top-level digest hides none of them
    mandate = changed(lambda m: m.pop(absent))
    assert codes(mandate, layout) == ["mandate_restriction_undisclosed"]


def test_a_digest_beside_absent_constraints_is_refused() -> None:
    layout = SDLayout(concealed=frozenset({("authority",)}))
    assert codes(MANDATE, layout) == []  # e.g. the undisclosed purpose
    no_constraints = changed(lambda m: m["authority"].pop("constraints"))
    assert codes(no_constraints, layout) == ["mandate_restriction_undisclosed"]


def test_allow_list_members_and_descriptive_claims_may_be_disclosures() -> None:
    layout = SDLayout(
        disclosed=frozenset(
            {
                ("authority", "constraints", MERCHANTS, "allowed", 0),
                ("authority", "purpose"),
                ("principal", "jkt"),
            }
        ),
        concealed=frozenset(
            {
                ("authority", "constraints", MERCHANTS, "allowed"),
                ("authority", "constraints", MERCHANTS, "allowed", 0),
                ("principal",),
                ("authority",),
            }
        ),
    )
    assert codes(MANDATE, layout) == []


# ------------------------------------------------------------------ bounds and shapes

MALFORMED = {
    "float max": constraint(AMOUNT, max=25000.0),
    "string max": constraint(AMOUNT, max="25000"),
    "bool max": constraint(AMOUNT, max=True),
    "negative min": constraint(AMOUNT, min=-1),
    "huge max": constraint(AMOUNT, max=MAX_BOUND + 1),
    "no max": constraint(AMOUNT, max=None),
    "min above max": constraint(AMOUNT, min=25001),
    "no currency": constraint(AMOUNT, currency=None),
    "lowercase currency": constraint(AMOUNT, currency="eur"),
    "numeric currency": constraint(AMOUNT, currency=978),
    "float budget": constraint(BUDGET, max=60000.0),
    "string max_uses": constraint(USES, max="5"),
    "float max_uses": constraint(USES, max=5.0),
    "negative max_uses": constraint(USES, max=-5),
    "merchants not a list": constraint(MERCHANTS, allowed={"id": "m1"}),
    "merchant not an object": constraint(MERCHANTS, allowed=["shop-a.example"]),
    "audience not a string": added({"type": "mandate.audiences", "allowed": [{"d": "x"}]}),
    "date not a date": added({"type": "payment.execution_date", "not_after": "2031-02-30"}),
    "date not ISO": added({"type": "payment.execution_date", "not_after": "01/02/2031"}),
    "date without bounds": added({"type": "payment.execution_date"}),
    "constraint not an object": added("payment.amount_range"),
    "constraint without type": added({"max": 1}),
    "constraint type not a string": added({"type": ["mandate.max_uses"], "max": 1}),
    "constraints not an array": changed(
        lambda m: m["authority"].update(constraints={"type": "mandate.max_uses", "max": 1})
    ),
    "authority not an object": changed(lambda m: m.update(authority="everything")),
    "delegation not an object": changed(lambda m: m.update(delegation=0)),
    "delegation depth a string": changed(lambda m: m.update(delegation={"depth": "0"})),
    "delegation depth negative": changed(lambda m: m.update(delegation={"depth": -1})),
    "delegation unknown member": changed(lambda m: m.update(delegation={"depth": 0, "x": 1})),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_constraint_is_refused(name: str) -> None:
    assert codes(MALFORMED[name]) == ["mandate_malformed"]


def test_bounds_are_integers_up_to_two_to_the_fifty_three_minus_one() -> None:
    edge = constraint(AMOUNT, min=0, max=MAX_BOUND)
    assert codes(edge) == []
    assert codes(constraint(USES, max=0)) == []  # a mandate that allows no use is well formed


@pytest.mark.parametrize(
    "item",
    [
        {"type": "payment.amount_range", "currency": "EUR", "max": 99999},
        {"type": "payment.budget", "currency": "EUR", "max": 99999},
        {"type": "mandate.max_uses", "max": 99},
        {"type": "checkout.allowed_merchants", "allowed": []},
        {"type": "checkout.allowed_categories", "allowed": []},
    ],
    ids=lambda item: item["type"],
)
def test_two_constraints_of_one_type_are_refused(item: dict[str, Any]) -> None:
    assert codes(added(item)) == ["duplicate_constraint"]
    reversed_order = changed(lambda m: m["authority"]["constraints"].insert(0, item))
    assert codes(reversed_order) == ["duplicate_constraint"]


@pytest.mark.parametrize(
    "item",
    [
        {"type": "payment.secret_loophole"},
        {"type": "Payment.amount_range", "currency": "EUR", "max": 1},
        {"type": "mandate.time_of_day", "from": "09:00"},
    ],
)
def test_an_unknown_constraint_type_is_refused(item: dict[str, Any]) -> None:
    assert codes(added(item)) == ["unknown_constraint"]


def test_an_unknown_member_of_a_known_constraint_is_refused() -> None:
    assert codes(constraint(USES, per="day")) == ["unknown_constraint"]
    assert codes(constraint(AMOUNT, max_per_day=100)) == ["unknown_constraint"]


def test_limits_take_the_one_bound_and_an_unreadable_mandate_allows_no_use() -> None:
    assert limits_of(MANDATE) == Limits(max_uses=5, budget=60000, budget_currency="EUR")
    assert limits_of(MALFORMED["float max_uses"]) == Limits(0, 0, None)
    assert limits_of(added({"type": "mandate.max_uses", "max": 99})) == Limits(0, 0, None)


# ------------------------------------------------------------------ policy rules needing claims


def test_max_validity_denies_without_a_start() -> None:
    body = result(MANDATE)
    assert evaluate_mandate(body, action(), POLICY, now=NOW) == []
    for missing in ({"iat": None, "nbf": None},):
        got = evaluate_mandate({**body, **missing}, action(), POLICY, now=NOW)
        assert [r.code for r in got] == ["mandate_validity_unknown"]
    only_iat = evaluate_mandate({**body, "nbf": None}, action(), POLICY, now=NOW)
    assert only_iat == []


def test_kb_freshness_denies_without_a_kb_iat() -> None:
    for kb_iat in (None, "1780000000", float(NOW), True):
        got = evaluate_mandate({**result(MANDATE), "kb_iat": kb_iat}, action(), POLICY, now=NOW)
        assert [r.code for r in got] == ["kb_iat_missing"], kb_iat


def test_a_result_without_a_disclosure_layout_is_refused() -> None:
    for layout in (None, {"disclosed": []}, "nothing"):
        body = {**result(MANDATE), "sd_layout": layout}
        got = evaluate_mandate(body, action(), POLICY, now=NOW)
        assert [r.code for r in got] == ["mandate_restriction_undisclosed"]


def test_a_refused_mandate_gets_that_reason_alone_after_the_issuer_rules() -> None:
    body = result(MALFORMED["float max"], iss="https://rogue")
    got = evaluate_mandate(body, action(action="account.close"), POLICY, now=NOW)
    assert [r.code for r in got] == ["mandate_issuer_not_accepted", "mandate_malformed"]


# ------------------------------------------------------------------ by construction, on SD-JWTs

ISSUER = Issuer("https://mandates.construct.example", SigningKey.generate(kid="mi"))
AGENT = SigningKey.generate()
ACTION = AgentAction.model_validate(
    {
        "action": "payment.initiate",
        "transaction_id": "t1",
        "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
        "category": {"scheme": "iso18245", "code": "5942"},
        "payment_amount": {"amount": 8990, "currency": "EUR"},
        "mandate_jti": "urn:uuid:construct",
    }
)


def issued(edit: Any = None) -> HeldCredential:
    claims = mandate_claims(
        MandateGrant(), iss=ISSUER.iss, now=NOW - 10, principal_jkt="J", jti="urn:uuid:construct"
    )
    if edit is not None:
        edit(claims)
    return HeldCredential.from_issuance(ISSUER.issue(claims, holder_jwk=AGENT.public_jwk))


def verdicts(credential: HeldCredential, samples: int) -> list[tuple[int, list[str]]]:
    """(number of disclosures sent, refusal codes) for every single omission and ``samples``
    random subsets of the credential's disclosures."""
    everything = [d.encoded for d in credential.disclosures]
    rng = random.Random(14)
    subsets = [everything, []]
    subsets += [everything[:i] + everything[i + 1 :] for i in range(len(everything))]
    subsets += [[d for d in everything if rng.random() < 0.5] for _ in range(samples)]
    out = []
    for sent in subsets:
        rebuilt = reconstruct(copy.deepcopy(credential.payload), sent)
        reasons = evaluate_authority(rebuilt.claims, ACTION, layout=rebuilt.layout, now=NOW)
        out.append((len(sent), [r.code for r in reasons]))
    return out


def test_withholding_disclosures_never_turns_a_deny_into_an_allow() -> None:
    honest = issued()
    results = verdicts(honest, samples=60)
    assert results[0] == (len(honest.disclosures), [])  # everything sent: allowed
    for _, got in results[1:]:
        # Whatever is withheld, the only possible outcome besides "allowed" is a denial.
        assert set(got) <= {"payee_not_allowed", "category_not_allowed"}, got


def _sd_max(claims: dict[Any, Any]) -> None:
    amount = claims["authority"]["constraints"][0]
    amount[SDObj("max")] = amount.pop("max")


def _sd_uses(claims: dict[Any, Any]) -> None:
    items = claims["authority"]["constraints"]
    items[2] = SDObj(items[2])


def _sd_delegation(claims: dict[Any, Any]) -> None:
    claims[SDObj("delegation")] = claims.pop("delegation")


def _sd_iat(claims: dict[Any, Any]) -> None:
    claims[SDObj("iat")] = claims.pop("iat")


@pytest.mark.parametrize("edit", [_sd_max, _sd_uses, _sd_delegation, _sd_iat])
def test_a_disclosable_restriction_is_refused_whatever_the_agent_sends(edit: Any) -> None:
    for _, got in verdicts(issued(edit), samples=30):
        assert got == ["mandate_restriction_undisclosed"]


def test_the_agent_holder_refuses_the_same_mandates(tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "w")
    key = wallet.key("agent", create=True)
    holder = AgentHolder(wallet, clock=lambda: float(NOW))
    for jti, edit, expected in (
        ("urn:uuid:ok", None, []),
        ("urn:uuid:sd-max", _sd_max, ["mandate_restriction_undisclosed"]),
        ("urn:uuid:two-uses", _two_max_uses, ["duplicate_constraint"]),
    ):
        claims = mandate_claims(MandateGrant(), iss=ISSUER.iss, now=NOW - 10, principal_jkt="J")
        claims["jti"] = jti
        if edit is not None:
            edit(claims)
        wallet.add_credential(
            kind="mandate",
            issuance=ISSUER.issue(claims, holder_jwk=key.public_jwk),
            holder="agent",
            issued_at=NOW,
        )
        got = holder.check(ACTION.model_copy(update={"mandate_jti": jti}))
        assert [g.split(":")[0] for g in got] == expected


def _two_max_uses(claims: dict[Any, Any]) -> None:
    claims["authority"]["constraints"].append({"type": "mandate.max_uses", "max": 99})


def test_combinations_are_exhaustive_for_a_small_mandate() -> None:
    """Every subset (2^n) of a mandate with three disclosable allow-list members."""
    grant = MandateGrant(
        merchants=({"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},),
        categories=({"scheme": "iso18245", "code": "5942"},),
        pairwise_ids=(),
        principal_verification=None,
        purpose="p",
    )
    claims = mandate_claims(
        grant, iss=ISSUER.iss, now=NOW - 10, principal_jkt=None, jti="urn:uuid:construct"
    )
    credential = HeldCredential.from_issuance(ISSUER.issue(claims, holder_jwk=AGENT.public_jwk))
    everything = [d.encoded for d in credential.disclosures]
    assert len(everything) == 3
    for size in range(len(everything) + 1):
        for sent in itertools.combinations(everything, size):
            rebuilt = reconstruct(copy.deepcopy(credential.payload), list(sent))
            got = evaluate_authority(rebuilt.claims, ACTION, layout=rebuilt.layout, now=NOW)
            assert {r.code for r in got} <= {"payee_not_allowed", "category_not_allowed"}
