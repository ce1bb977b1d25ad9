"""The KB-JWT and transaction data binding (digest §10 checks 34-40; RFC 9901 §4.3, §7.3;
OpenID4VP §8.4, B.3.3). The holder (or whoever holds the presentation) signs what it wants;
the verifier checks type, algorithm, key, claims, freshness, ``sd_hash`` and the hashes of the
transaction data it sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.harness import ACTION, Attack, Case, Live, Rejected, World, now
from verifier.protocol import encode_transaction_data
from verifier.protocol.jose import hash_b64


def identity_kb(make: Callable[[World, Live, str, list[str]], str]) -> Callable[[World], Attack]:
    """Answer an identity presentation with ``make(world, live, issuer JWT, disclosures)``."""

    def build(world: World) -> Attack:
        live = world.present(profile="identity")
        jwt, *disclosures, _ = live.presentation().split("~")
        return live.respond(vp_token={"identity": [make(world, live, jwt, disclosures)]})

    return build


def lazy(value: Any) -> Any:
    """Values given as ``lambda: ...`` are computed when the case runs (times are relative)."""
    if callable(value):
        return value()
    if isinstance(value, dict):
        return {k: lazy(v) for k, v in value.items()}
    return value


def rebound(**opts: Any) -> Callable[[World], Attack]:
    return identity_kb(
        lambda w, live, jwt, ds: live.rebind(
            jwt, ds, w.key("human"), **{k: lazy(v) for k, v in opts.items()}
        )
    )


def with_kb(token: Callable[[World, Live, str], str]) -> Callable[[World], Attack]:
    """Replace the KB-JWT by ``token(world, live, presented)``."""

    def make(world: World, live: Live, jwt: str, ds: list[str]) -> str:
        presented = "~".join([jwt, *ds, ""])
        return presented + token(world, live, presented)

    return identity_kb(make)


def claims_of(live: Live, presented: str) -> dict[str, Any]:
    return {
        "iat": now(),
        "aud": live.request.client_id,
        "nonce": live.request.nonce,
        "sd_hash": hash_b64(presented),
    }


def alg_none(world: World, live: Live, presented: str) -> str:
    return forge.unsigned({"typ": "kb+jwt", "alg": "none"}, claims_of(live, presented))


def hs256_cnf(world: World, live: Live, presented: str) -> str:
    secret = json.dumps(world.key("human").public_jwk).encode()
    return forge.hs256(secret, {"typ": "kb+jwt", "alg": "HS256"}, claims_of(live, presented))


def duplicate_nonce(world: World, live: Live, presented: str) -> str:
    payload = json.dumps(claims_of(live, presented)).encode()
    return forge.signed(
        world.key("human"), {"typ": "kb+jwt", "alg": "ES256"}, payload[:-1] + b', "nonce": "other"}'
    )


def literal_iat(literal: bytes) -> Callable[[World, Live, str], str]:
    """``iat`` written as ``literal`` (``1e400`` parses as infinity)."""

    def token(world: World, live: Live, presented: str) -> str:
        payload = json.dumps({**claims_of(live, presented), "iat": 0}).encode()
        payload = payload.replace(b'"iat": 0', b'"iat": ' + literal)
        return forge.signed(world.key("human"), {"typ": "kb+jwt", "alg": "ES256"}, payload)

    return token


def disclosure_removed(world: World, live: Live, jwt: str, ds: list[str]) -> str:
    """The KB-JWT signed over all disclosures, one of which is then dropped."""
    signed = live.rebind(jwt, ds, world.key("human"))
    _, *sent, kb = signed.split("~")
    return "~".join([jwt, *sent[1:], kb])


# -------------------------------------------------------------- transaction data (agent requests)


def agent_kb(**opts: Any) -> Callable[[World], Attack]:
    """The agent's mandate presentation with its KB-JWT re-signed with ``opts``."""

    def build(world: World) -> Attack:
        live = world.agent_request()
        jwt, *disclosures, _ = live.presentation().split("~")
        values = {k: v(live) if callable(v) else v for k, v in opts.items()}
        presented = live.rebind(jwt, disclosures, world.key("agent"), **values)
        return live.respond(vp_token={"mandate": [presented]})

    return build


def other_action(live: Live) -> list[str]:
    """The same action for one cent, as a relayed or substituted request would carry it."""
    payload = {**ACTION, "payment_amount": {"amount": 1, "currency": "EUR"}}
    entry = {
        "type": "https://agentvp.example/td/agent_action/1",
        "credential_ids": ["mandate"],
        "transaction_data_hashes_alg": ["sha-256"],
        "payload": payload,
    }
    return [encode_transaction_data(entry)]


def _r(
    name: str, source: str, build: Callable[[World], Attack], code: str, reason: str | None = None
) -> Case:
    return Case(name, source, build, Rejected(code, reason=reason))


CASES = [
    _r(
        "kb_typ_jwt",
        "digest §10 #34; RFC 9901 §4.3",
        rebound(header={"typ": "JWT"}),
        "kb_typ_invalid",
    ),
    _r("kb_typ_missing", "digest §10 #34", rebound(header={"typ": None}), "kb_typ_invalid"),
    _r("kb_alg_none", "digest §10 #34; RFC 8725 §3.1", with_kb(alg_none), "alg_not_allowed"),
    _r(
        "kb_hs256_cnf_key_as_secret",
        "digest §10 #34; RFC 8725 §3.2",
        with_kb(hs256_cnf),
        "alg_not_allowed",
    ),
    _r(
        "kb_header_crit",
        "RFC 7515 §4.1.11",
        rebound(header={"crit": ["b64"], "b64": False}),
        "malformed_jwt",
    ),
    _r(
        "kb_signed_by_another_key",
        "digest §10 #35; T1",
        identity_kb(lambda w, live, jwt, ds: live.rebind(jwt, ds, w.key("thief"))),
        "kb_signature_invalid",
    ),
    _r(
        "kb_payload_duplicate_nonce",
        "digest §9 duplicate keys; RFC 8725 §3.11",
        with_kb(duplicate_nonce),
        "json_duplicate_key",
    ),
    _r(
        "kb_iat_too_old", "digest §10 #38", rebound(iat=lambda: now() - 400), "kb_iat_out_of_window"
    ),
    _r(
        "kb_iat_in_future",
        "digest §10 #38",
        rebound(iat=lambda: now() + 600),
        "kb_iat_out_of_window",
    ),
    _r("kb_iat_not_a_number", "digest §10 #38", rebound(claims={"iat": "now"}), "kb_claim_missing"),
    _r(
        "kb_iat_overflowing_number",
        "digest §10 #38; RFC 8259 §6",
        with_kb(literal_iat(b"1e400")),
        "kb_claim_missing",
    ),
    _r(
        "kb_iat_huge_integer",
        "digest §10 #38",
        with_kb(literal_iat(b"9" * 400)),
        "kb_iat_out_of_window",
    ),
    _r(
        "kb_exp_passed",
        "RFC 9901 §4.3; RFC 7519 §4.1.4",
        rebound(claims={"exp": lambda: now() - 600}),
        "kb_expired",
    ),
    _r(
        "kb_sd_hash_after_disclosure_removed",
        "digest §10 #39",
        identity_kb(disclosure_removed),
        "kb_sd_hash_mismatch",
    ),
    _r(
        "kb_sd_hash_of_other_presentation",
        "digest §10 #39",
        rebound(claims={"sd_hash": hash_b64("x~y~")}),
        "kb_sd_hash_mismatch",
    ),
    _r("kb_sd_hash_missing", "digest §10 #39", rebound(drop=("sd_hash",)), "kb_claim_missing"),
    _r(
        "td_hashes_missing",
        "digest §10 #40; OpenID4VP B.3.3",
        agent_kb(transaction_data=()),
        "transaction_data_not_covered",
    ),
    _r(
        "td_hash_of_another_action",
        "digest §10 #40; T11",
        agent_kb(transaction_data=other_action),
        "transaction_data_not_covered",
    ),
    _r(
        "td_hash_alg_not_offered",
        "digest §10 #40",
        agent_kb(td_alg="sha-512"),
        "transaction_data_hash_alg_invalid",
    ),
    _r(
        "td_hash_of_unrequested_data",
        "digest §10 #40",
        agent_kb(
            transaction_data=lambda live: [*live.request.transaction_data, *other_action(live)]
        ),
        "transaction_data_hash_unexpected",
    ),
    _r(
        "td_hashes_not_an_array",
        "digest §10 #40",
        agent_kb(claims={"transaction_data_hashes": "abc"}),
        "transaction_data_hash_missing",
    ),
    _r(
        "td_hash_alg_without_hashes",
        "digest §10 #40",
        agent_kb(transaction_data=(), claims={"transaction_data_hashes_alg": "sha-256"}),
        "transaction_data_hash_alg_invalid",
    ),
]
