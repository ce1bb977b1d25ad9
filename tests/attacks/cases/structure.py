"""The ``vp_token`` and the presentations in it: structure, cardinality, splitting, limits,
credential sets, all-or-nothing (digest §10 checks 17-19, 32, 33, 42, 48; OpenID4VP §8.1, §8.6;
RFC 9901 §4)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.harness import IDENTITY_VCT, MANDATE_VCT, Attack, Case, Rejected, World
from verifier.setup.data_dir import default_presets

IDENTITY_QUERY: dict[str, Any] = default_presets()["identity"]["dcql_query"]["credentials"][0]
MANDATE_QUERY: dict[str, Any] = default_presets()["agent_mandate"]["dcql_query"]["credentials"][0]


def vp(make: Callable[[dict[str, list[str]]], Any]) -> Callable[[World], Attack]:
    """Answer an identity presentation with ``make(honest vp_token)``."""

    def build(world: World) -> Attack:
        live = world.present(profile="identity")
        return live.respond(vp_token=make(live.vp_token))

    return build


def presentation(make: Callable[[str], str]) -> Callable[[World], Attack]:
    """Replace the one identity presentation by ``make(honest presentation)``."""
    return vp(lambda token: {"identity": [make(token["identity"][0])]})


def too_many_entries(world: World) -> Attack:
    query = copy.deepcopy(IDENTITY_QUERY)
    query["multiple"] = True
    live = world.present(dcql_query={"credentials": [query]}, credentials=[world.identity.id])
    return live.respond(vp_token={"identity": live.vp_token["identity"] * 17})


def too_many_disclosures(world: World) -> Attack:
    live = world.present(profile="identity")
    jwt, *disclosures, _ = live.presentation().split("~")
    fake = [forge.disclosure(f"claim_{i}", i)[0] for i in range(129)]
    presented = live.rebind(jwt, [*disclosures, *fake], world.key("human"))
    return live.respond(vp_token={"identity": [presented]})


def _both(**extra: Any) -> dict[str, Any]:
    return {"credentials": [IDENTITY_QUERY, MANDATE_QUERY], **extra}


def only_identity(world: World, **extra: Any) -> Attack:
    live = world.present(dcql_query=_both(**extra))
    return live.respond(vp_token={"identity": live.vp_token["identity"]})


def one_bad_presentation(world: World) -> Attack:
    """A good identity and a mandate bound to another nonce: the whole response fails."""
    live = world.present(dcql_query=_both())
    token = live.vp_token
    jwt, *disclosures, _ = token["mandate"][0].split("~")
    token["mandate"] = [live.rebind(jwt, disclosures, world.key("agent"), nonce="other-nonce")]
    return live.respond(vp_token=token)


def kb_stripped(world: World) -> Attack:
    live = world.present(profile="identity")
    honest = live.presentation()
    return live.respond(vp_token={"identity": [honest[: honest.rindex("~") + 1]]})


def kb_stripped_binding_optional_with_td(world: World) -> Attack:
    """The query waives holder binding, but transaction data is bound to it: the KB-JWT is
    required all the same (the decision comes from the request, never from the wallet)."""
    query = {**copy.deepcopy(IDENTITY_QUERY), "require_cryptographic_holder_binding": False}
    td = {"type": "https://agentvp.example/td/agent_action/1", "credential_ids": ["identity"]}
    live = world.present(dcql_query={"credentials": [query]}, transaction_data=[td], propose=False)
    jwt, disclosures = world.disclose(world.identity, {"credentials": [IDENTITY_QUERY]})
    return live.respond(vp_token={"identity": ["~".join([jwt, *disclosures, ""])]})


def _r(
    name: str, source: str, build: Callable[[World], Attack], code: str, fragment: str = ""
) -> Case:
    return Case(name, source, build, Rejected(code, fragment))


CASES = [
    _r("vp_token_array", "digest §10 #17", vp(lambda t: [t["identity"][0]]), "vp_token_malformed"),
    _r("vp_token_string", "digest §10 #17", vp(lambda t: t["identity"][0]), "vp_token_malformed"),
    _r("vp_token_empty_object", "digest §10 #17", vp(lambda t: {}), "vp_token_malformed"),
    _r(
        "vp_token_unknown_query_id",
        "digest §10 #17",
        vp(lambda t: {**t, "admin": t["identity"]}),
        "vp_token_unknown_query",
    ),
    _r(
        "vp_token_empty_array",
        "digest §10 #17",
        vp(lambda t: {"identity": []}),
        "vp_token_malformed",
    ),
    _r(
        "vp_token_non_string_entry",
        "digest §10 #17",
        vp(lambda t: {"identity": [{"jwt": t["identity"][0]}]}),
        "vp_token_malformed",
    ),
    _r(
        "vp_token_two_for_single_query",
        "digest §10 #18",
        vp(lambda t: {"identity": t["identity"] * 2}),
        "vp_token_cardinality",
    ),
    _r(
        "vp_token_too_many_presentations",
        "AGENTVP_MAX_VP_TOKEN_ENTRIES; digest §10 #18",
        too_many_entries,
        "input_too_large",
    ),
    _r(
        "presentation_without_separator",
        "digest §10 #19; RFC 9901 §4",
        presentation(lambda p: p.split("~")[0]),
        "malformed_sd_jwt",
    ),
    _r(
        "presentation_last_component_garbage",
        "digest §10 #19",
        presentation(lambda p: p[: p.rindex("~") + 1] + "garbage"),
        "malformed_sd_jwt",
    ),
    _r(
        "presentation_empty_disclosure",
        "digest §10 #19",
        presentation(lambda p: p.replace("~", "~~", 1)),
        "malformed_sd_jwt",
    ),
    _r(
        "too_many_disclosures",
        "AGENTVP_MAX_DISCLOSURES; RFC 9901 §10",
        too_many_disclosures,
        "too_many_disclosures",
    ),
    _r("kb_jwt_stripped", "digest §10 #32, #33; T2", kb_stripped, "kb_missing"),
    _r(
        "kb_jwt_stripped_binding_waived_but_td_bound",
        "digest §10 #32, #40",
        kb_stripped_binding_optional_with_td,
        "kb_missing",
    ),
    _r("credential_query_missing", "digest §10 #42", only_identity, "credential_query_missing"),
    _r(
        "credential_set_unsatisfied",
        "digest §10 #42",
        lambda w: only_identity(w, credential_sets=[{"options": [["identity", "mandate"]]}]),
        "credential_set_unsatisfied",
    ),
    _r(
        "one_bad_presentation_rejects_all",
        "digest §10 #48; OpenID4VP §8.6",
        one_bad_presentation,
        "kb_nonce_mismatch",
    ),
]

__all__ = ["CASES", "IDENTITY_QUERY", "IDENTITY_VCT", "MANDATE_QUERY", "MANDATE_VCT"]
