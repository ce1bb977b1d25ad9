"""Disclosures and digests (digest §10 checks 23-29; RFC 9901 §4.2, §7.1 steps 3-5; SD-JWT VC
§3.2.2). The holder can only add, drop, repeat or re-encode disclosures (they are not signed);
what needs a payload the holder cannot sign - bad ``_sd_alg``, reserved names, collisions,
duplicate digests - is built as a malicious or buggy issuer would, with the issuer's key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.harness import Attack, Case, Rejected, World
from verifier.protocol.jose import b64url_decode, b64url_encode, hash_b64


def holder_edit(edit: Callable[[list[str]], list[str]]) -> Callable[[World], Attack]:
    """The holder changes the (unsigned) disclosures and re-signs its KB-JWT over them."""
    return lambda w: w.crafted_response(edit=lambda jwt, ds: (jwt, edit(ds)))


def _json(encoded: str) -> list[Any]:
    value: list[Any] = json.loads(b64url_decode(encoded))
    return value


def value_edited(ds: list[str]) -> list[str]:
    salt, name, _ = _json(ds[0])
    return [b64url_encode(json.dumps([salt, name, "Mallory"]).encode())]


def reencoded(ds: list[str]) -> list[str]:
    """The same JSON array, spaced differently: another digest."""
    return [b64url_encode(json.dumps(_json(ds[0]), indent=1).encode())]


def issued(
    *items: tuple[str | None, Any], top: dict[str, Any] | None = None, raw: bytes | None = None
) -> Callable[[World], Attack]:
    """An issuer payload whose ``_sd`` references disclosures ``items`` (name, value) besides
    ``given_name``; ``raw`` is a disclosure text sent as is (it need not even be JSON)."""

    def build(world: World) -> Attack:
        disclosures = [forge.disclosure("given_name", "Erika")]
        disclosures += [forge.disclosure(name, value) for name, value in items]
        if raw is not None:
            disclosures.append(forge.disclosure(None, None, raw=raw))
        claims = {"_sd": [d for _, d in disclosures], **(top or {})}
        return world.crafted_response(disclosures=disclosures, claims=claims)

    return build


def not_base64(world: World) -> Attack:
    given = forge.disclosure("given_name", "Erika")
    bogus = "*not+base64*"
    claims = {"_sd": [given[1], hash_b64(bogus)]}
    return world.crafted_response(disclosures=[given, (bogus, hash_b64(bogus))], claims=claims)


def child_without_parent(world: World) -> Attack:
    """A nested disclosure sent without the disclosure that references it."""
    given = forge.disclosure("given_name", "Erika")
    street = forge.disclosure("street_address", "Heidestraße 17")
    address = forge.disclosure("address", {"_sd": [street[1]]})
    claims = {"_sd": [given[1], address[1]]}

    def build_edit(jwt: str, ds: list[str]) -> tuple[str, list[str]]:
        return jwt, [given[0], street[0]]

    return world.crafted_response(
        disclosures=[given, address, street], claims=claims, edit=build_edit
    )


def array_disclosure_in_sd(world: World) -> Attack:
    given = forge.disclosure("given_name", "Erika")
    element = forge.disclosure(None, "DEU")
    return world.crafted_response(
        disclosures=[given, element], claims={"_sd": [given[1], element[1]]}
    )


def named_disclosure_in_array(world: World) -> Attack:
    given = forge.disclosure("given_name", "Erika")
    named = forge.disclosure("nationality", "DEU")
    claims = {"_sd": [given[1]], "nationalities": [{"...": named[1]}]}
    return world.crafted_response(disclosures=[given, named], claims=claims)


def collision(world: World) -> Attack:
    """``given_name`` both in clear and as a disclosure: which one wins must not be a choice."""
    given = forge.disclosure("given_name", "Mallory")
    return world.crafted_response(disclosures=[given], claims={"given_name": "Erika"})


def digest_twice(world: World) -> Attack:
    given = forge.disclosure("given_name", "Erika")
    return world.crafted_response(disclosures=[given], claims={"_sd": [given[1], given[1]]})


def digest_in_two_places(world: World) -> Attack:
    given = forge.disclosure("given_name", "Erika")
    claims = {"_sd": [given[1]], "address": {"_sd": [given[1]]}}
    return world.crafted_response(disclosures=[given], claims=claims)


def reserved_disclosed(name: str, value: Callable[[World], Any]) -> Callable[[World], Attack]:
    """``name`` (validity or binding claim) made selectively disclosable by the issuer."""

    def build(world: World) -> Attack:
        given = forge.disclosure("given_name", "Erika")
        hidden = forge.disclosure(name, value(world))
        return world.crafted_response(
            disclosures=[given, hidden], claims={"_sd": [given[1], hidden[1]]}, drop=(name,)
        )

    return build


def _r(name: str, source: str, build: Callable[[World], Attack], code: str) -> Case:
    return Case(name, source, build, Rejected(code))


CASES = [
    _r(
        "sd_alg_unsupported",
        "digest §10 #23; RFC 9901 §4.1.1",
        lambda w: w.crafted_response(claims={"_sd_alg": "md5"}),
        "sd_alg_unsupported",
    ),
    _r(
        "sd_alg_truncated",
        "digest §10 #23; RFC 9901 §4.1.1",
        lambda w: w.crafted_response(claims={"_sd_alg": "sha-256-128"}),
        "sd_alg_unsupported",
    ),
    _r(
        "sd_alg_below_top_level",
        "digest §10 #23",
        lambda w: w.crafted_response(claims={"address": {"_sd_alg": "sha-256"}}),
        "sd_alg_not_top_level",
    ),
    _r(
        "disclosure_value_edited_by_holder",
        "digest §10 #24",
        holder_edit(value_edited),
        "unreferenced_disclosure",
    ),
    _r(
        "disclosure_reencoded_by_holder",
        "digest §10 #24; RFC 9901 §4.2.3",
        holder_edit(reencoded),
        "unreferenced_disclosure",
    ),
    _r(
        "disclosure_padded_base64",
        "digest §10 #24, #25",
        holder_edit(lambda ds: [ds[0] + "="]),
        "unreferenced_disclosure",
    ),
    _r(
        "disclosure_fabricated_by_holder",
        "digest §10 #28",
        holder_edit(lambda ds: [*ds, forge.disclosure("is_admin", True)[0]]),
        "unreferenced_disclosure",
    ),
    _r(
        "disclosure_repeated",
        "digest §10 #28",
        holder_edit(lambda ds: ds * 2),
        "duplicate_disclosure",
    ),
    _r(
        "disclosure_child_without_parent",
        "digest §10 #28; RFC 9901 §7.1 step 5",
        child_without_parent,
        "unreferenced_disclosure",
    ),
    _r("disclosure_not_base64url", "digest §10 #25", not_base64, "malformed_base64url"),
    _r(
        "disclosure_not_an_array",
        "digest §10 #25",
        issued(raw=b'{"salt":"s","given_name":"x"}'),
        "malformed_disclosure",
    ),
    _r(
        "disclosure_four_elements",
        "digest §10 #25",
        issued(raw=b'["s","nickname","x","y"]'),
        "malformed_disclosure",
    ),
    _r(
        "disclosure_salt_not_string",
        "digest §10 #25; RFC 9901 §4.2.1",
        issued(raw=b'[1,"nickname","x"]'),
        "malformed_disclosure",
    ),
    _r(
        "disclosure_array_element_in_sd",
        "digest §10 #25",
        array_disclosure_in_sd,
        "disclosure_wrong_arity",
    ),
    _r(
        "disclosure_named_in_array",
        "digest §10 #25",
        named_disclosure_in_array,
        "disclosure_wrong_arity",
    ),
    _r("disclosure_named_sd", "digest §10 #26", issued(("_sd", ["x"])), "disclosure_reserved_name"),
    _r(
        "disclosure_named_ellipsis",
        "digest §10 #26",
        issued(("...", "x")),
        "disclosure_reserved_name",
    ),
    _r(
        "disclosure_named_sd_alg",
        "digest §10 #26; RFC 9901 §4.1.1",
        issued(("_sd_alg", "sha-512")),
        "disclosure_reserved_name",
    ),
    _r("disclosure_name_collision", "digest §10 #26", collision, "disclosure_name_collision"),
    _r("digest_twice_in_sd", "digest §10 #27", digest_twice, "duplicate_digest"),
    _r("digest_in_two_places", "digest §10 #27", digest_in_two_places, "duplicate_digest"),
    _r(
        "digest_not_a_string",
        "RFC 9901 §4.2.4.1",
        lambda w: w.crafted_response(claims={"address": {"_sd": [42]}}),
        "sd_malformed",
    ),
    _r(
        "sd_not_an_array",
        "RFC 9901 §4.2.4.1",
        lambda w: w.crafted_response(claims={"address": {"_sd": "abc"}}),
        "sd_malformed",
    ),
    _r(
        "ellipsis_as_member_name",
        "RFC 9901 §4.2.4.2",
        lambda w: w.crafted_response(claims={"address": {"...": "abc", "x": 1}}),
        "sd_malformed",
    ),
    _r(
        "disclosure_duplicate_json_key",
        "digest §9 duplicate keys",
        issued(raw=b'["s","address",{"country":"DE","country":"XX"}]'),
        "json_duplicate_key",
    ),
    _r(
        "disclosure_invalid_utf8",
        "RFC 8259 §8.1",
        issued(raw=b'["s","nickname","\xff\xfe"]'),
        "malformed_json",
    ),
    _r(
        "disclosure_lone_surrogate",
        "RFC 8259 §8.2",
        issued(raw=b'["s","nickname","\\udc00"]'),
        "malformed_json",
    ),
    _r(
        "disclosure_deeply_nested",
        "AGENTVP_MAX_JSON_DEPTH",
        issued(raw=b'["s","deep",' + b"[" * 40 + b"]" * 40 + b"]"),
        "json_too_deep",
    ),
    _r(
        "reserved_claim_exp_disclosable",
        "digest §10 #29; SD-JWT VC §3.2.2",
        reserved_disclosed("exp", lambda w: 4102444800),
        "reserved_claim_disclosed",
    ),
    _r(
        "reserved_claim_cnf_disclosable",
        "digest §10 #29; SD-JWT VC §3.2.2",
        reserved_disclosed("cnf", lambda w: {"jwk": w.key("human").public_jwk}),
        "reserved_claim_disclosed",
    ),
    _r(
        "reserved_claim_status_disclosable",
        "digest §10 #29; Token Status List §6.1",
        reserved_disclosed(
            "status", lambda w: {"status_list": {"idx": 0, "uri": "https://x.example"}}
        ),
        "reserved_claim_disclosed",
    ),
]
