"""What the verifier reads out of a verified credential: requested claims that must resolve,
``values`` re-checked, no Unicode look-alike accepted for a claim name (digest §10 checks 41,
50; OpenID4VP §6.3, §7; OpenID Identity Assurance §5)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.cases.structure import IDENTITY_QUERY
from tests.attacks.harness import (
    IDENTITY_VCT,
    STEPUP_POLICY,
    Attack,
    Case,
    Denied,
    Rejected,
    World,
)
from verifier.protocol.jose import b64url_decode
from wallet_sim.issuer import IdentitySubject


def _name(encoded: str) -> Any:
    return json.loads(b64url_decode(encoded))[1]


def withheld(world: World) -> Attack:
    live = world.present(profile="identity")
    jwt, *disclosures, _ = live.presentation().split("~")
    kept = [d for d in disclosures if _name(d) != "given_name"]
    assert len(kept) == len(disclosures) - 1
    return live.respond(vp_token={"identity": [live.rebind(jwt, kept, world.key("human"))]})


def lookalike(name: str) -> Callable[[World], Attack]:
    """An issuer-signed credential whose only "given_name" is spelt ``name``."""

    def build(world: World) -> Attack:
        disclosure = forge.disclosure(name, "Erika")
        return world.crafted_response(disclosures=[disclosure])

    return build


def present_to(query: dict[str, Any]) -> Callable[[World], Attack]:
    """The honest identity disclosures (for the preset) presented to a stricter query."""

    def build(world: World) -> Attack:
        live = world.present(dcql_query=query, propose=False)
        jwt, disclosures = world.disclose(world.identity, {"credentials": [IDENTITY_QUERY]})
        return live.respond(
            vp_token={"identity": [live.rebind(jwt, disclosures, world.key("human"))]}
        )

    return build


def with_values(path: list[str], values: list[Any]) -> dict[str, Any]:
    query = copy.deepcopy(IDENTITY_QUERY)
    for claim in query["claims"]:
        if claim["path"] == path:
            claim["values"] = values
    return {"credentials": [query]}


def typed_value(values: list[Any]) -> Callable[[World], Attack]:
    """``age_over_18: true`` against ``values`` of another JSON type."""
    query = {
        "credentials": [
            {
                "id": "identity",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [IDENTITY_VCT]},
                "claims": [{"path": ["given_name"]}, {"path": ["age_over_18"], "values": values}],
            }
        ]
    }

    def build(world: World) -> Attack:
        given, over = forge.disclosure("given_name", "Erika"), forge.disclosure("age_over_18", True)
        return world.crafted_response(query=query, disclosures=[given, over])

    return build


def claim_sets_unmet(world: World) -> Attack:
    query = {
        "credentials": [
            {
                "id": "identity",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [IDENTITY_VCT]},
                "claims": [
                    {"id": "a", "path": ["passport_number"]},
                    {"id": "b", "path": ["tax_id"]},
                ],
                "claim_sets": [["a"], ["b"]],
            }
        ]
    }
    return world.crafted_response(query=query)


def step_up_identity(subject: IdentitySubject) -> Callable[[World], Attack]:
    """The agent presented honestly; the human answers the step-up with ``subject``."""

    def build(world: World) -> Attack:
        agent = world.agent_request(policy=STEPUP_POLICY)
        world.send_ok(agent.respond())
        assert agent.av is not None
        identity = world.issue_identity(subject)
        human = world.human_request(agent.av, credential=identity.id)
        return human.respond()

    return build


CYRILLIC_A = "given_n\u0430me"
CASES = [
    Case(
        "required_claim_withheld",
        "digest §10 #41; OpenID4VP §6.3",
        withheld,
        Rejected("claim_missing"),
    ),
    Case(
        "lookalike_cyrillic_a",
        "digest §10 #41; UTS #39 confusables",
        lookalike(CYRILLIC_A),
        Rejected("claim_missing"),
    ),
    Case(
        "lookalike_ukrainian_i",
        "digest §10 #41; UTS #39 confusables",
        lookalike("g\u0456ven_name"),
        Rejected("claim_missing"),
    ),
    Case(
        "lookalike_fullwidth",
        "digest §10 #41; UAX #15 NFKC",
        lookalike("ｇｉｖｅｎ_ｎａｍｅ"),
        Rejected("claim_missing"),
    ),
    Case(
        "lookalike_zero_width_space",
        "digest §10 #41",
        lookalike("given\u200b_name"),
        Rejected("claim_missing"),
    ),
    Case(
        "lookalike_combining_mark",
        "digest §10 #41; UAX #15 NFC",
        lookalike("given_name\u0301"),
        Rejected("claim_missing"),
    ),
    Case(
        "lookalike_trailing_space",
        "digest §10 #41",
        lookalike("given_name "),
        Rejected("claim_missing"),
    ),
    Case(
        "lookalike_uppercase",
        "digest §10 #41; OpenID4VP §7 exact match",
        lookalike("Given_name"),
        Rejected("claim_missing"),
    ),
    Case(
        "claim_value_not_requested",
        "digest §10 #41; OpenID4VP §6.3 values",
        present_to(with_values(["verified_claims", "verification", "trust_framework"], ["de_aml"])),
        Rejected("claim_value_mismatch"),
    ),
    Case(
        "claim_value_string_for_boolean",
        "digest §10 #41; OpenID4VP §6.3 values",
        typed_value(["true"]),
        Rejected("claim_value_mismatch"),
    ),
    Case(
        "claim_value_integer_for_boolean",
        "digest §10 #41; OpenID4VP §6.3 values",
        typed_value([1]),
        Rejected("claim_value_mismatch"),
    ),
    Case(
        "claim_path_through_a_string",
        "digest §10 #41; OpenID4VP §7.1",
        present_to({"credentials": [{**IDENTITY_QUERY, "claims": [{"path": ["vct", "x"]}]}]}),
        Rejected("claim_missing", "non-object"),
    ),
    Case(
        "claim_sets_none_satisfied",
        "digest §10 #41; OpenID4VP §6.4",
        claim_sets_unmet,
        Rejected("claim_missing"),
    ),
    Case(
        "identity_unknown_trust_framework",
        "digest §10 #50; OpenID IDA §5.1",
        step_up_identity(IdentitySubject(trust_framework="made_up")),
        Denied(("framework_not_accepted",), rule="identity"),
    ),
    Case(
        "identity_assurance_level_too_low",
        "digest §10 #50; agent-mandates §6.1",
        step_up_identity(IdentitySubject(assurance_level="low")),
        Denied(("assurance_too_low",), rule="identity"),
    ),
]
