"""Agent access (``/oauth/agent-authorize``, ``/oauth/token``): DPoP proofs (RFC 9449 §4.3),
resource indicators (RFC 8707), authorization details (RFC 9396), the CIBA-style grant, and a
token bound to another key (T1). A refused authorization creates no verification: the metrics'
``presentations_created`` must not move; a refused token request changes no record."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from tests.attacks import forge
from tests.attacks.harness import (
    ACTION,
    RESOURCE,
    STEPUP_RESOURCE,
    Attack,
    Case,
    Refused,
    World,
    now,
)
from verifier.protocol import SigningKey
from verifier.protocol.oauth.access_token import AUTHORIZATION_DETAILS_TYPE, GRANT_TYPE
from verifier.protocol.oauth.dpop import create_proof
from wallet_sim.agent import full_mandate
from wallet_sim.issuer import MandateGrant

FORM = "application/x-www-form-urlencoded"
DPOP = "invalid_dpop_proof"


def endpoint(world: World, name: str) -> str:
    return f"{world.verifier.url}/oauth/{name}"


def details(world: World, **changes: Any) -> str:
    action = {**ACTION, "mandate_jti": full_mandate(world.mandate)["jti"], **changes}
    return json.dumps([{"type": AUTHORIZATION_DETAILS_TYPE, "locations": [RESOURCE], **action}])


def authorize_form(
    world: World, *, resources: tuple[str, ...] = (RESOURCE,), detail: str | None = None
) -> bytes:
    pairs = [("resource", r) for r in resources]
    pairs.append(("authorization_details", detail if detail is not None else details(world)))
    return urlencode(pairs).encode()


def proof_claims(world: World, target: str, **changes: Any) -> dict[str, Any]:
    claims = {"jti": secrets.token_urlsafe(16), "htm": "POST", "htu": target, "iat": now()}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def header(key: SigningKey, **changes: Any) -> dict[str, Any]:
    head = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk}
    head.update(changes)
    return {k: v for k, v in head.items() if v is not None}


def authorize(
    proof: Callable[[World, str], str | list[str] | None],
    body: Callable[[World], bytes] | None = None,
) -> Callable[[World], Attack]:
    """``POST /oauth/agent-authorize`` with ``proof(world, htu)`` as DPoP header(s)."""

    def build(world: World) -> Attack:
        url = endpoint(world, "agent-authorize")
        value = proof(world, url)
        headers: list[tuple[str, str]] = [("Content-Type", FORM)]
        headers += [("DPoP", v) for v in ([value] if isinstance(value, str) else value or [])]
        return Attack("POST", url, headers, body(world) if body else authorize_form(world))

    return build


def good(world: World, htu: str) -> str:
    return create_proof(world.key("agent"), htm="POST", htu=htu, now=now())


def claims(**changes: Any) -> Callable[[World, str], str]:
    def make(world: World, htu: str) -> str:
        values = {k: v() if callable(v) else v for k, v in changes.items()}
        return forge.signed(
            world.key("agent"), header(world.key("agent")), proof_claims(world, htu, **values)
        )

    return make


def headed(**changes: Any) -> Callable[[World, str], str]:
    def make(world: World, htu: str) -> str:
        return forge.signed(
            world.key("agent"), header(world.key("agent"), **changes), proof_claims(world, htu)
        )

    return make


def raw_iat(literal: bytes) -> Callable[[World, str], str]:
    def make(world: World, htu: str) -> str:
        payload = json.dumps(proof_claims(world, htu, iat=0)).encode()
        payload = payload.replace(b'"iat": 0', b'"iat": ' + literal)
        return forge.signed(world.key("agent"), header(world.key("agent")), payload)

    return make


def replayed(world: World) -> Attack:
    """A proof used once (successfully), then again."""
    attack = authorize(good)(world)
    first = world.send(attack)
    assert first.status_code == 200, first.text
    return attack


def hs256(world: World, htu: str) -> str:
    secret = json.dumps(world.key("agent").public_jwk).encode()
    return forge.hs256(secret, header(world.key("agent"), alg="HS256"), proof_claims(world, htu))


def unsigned(world: World, htu: str) -> str:
    return forge.unsigned(header(world.key("agent"), alg="none"), proof_claims(world, htu))


def foreign_signature(world: World, htu: str) -> str:
    return forge.signed(SigningKey.generate(), header(world.key("agent")), proof_claims(world, htu))


# -------------------------------------------------------------- the token endpoint


def started(world: World, key: str = "agent", mandate: Any = None) -> tuple[str, str]:
    """A successful authorization with ``key``'s DPoP: (auth_req_id, agent verification id)."""
    mandate = mandate or world.mandate
    url = endpoint(world, "agent-authorize")
    proof = create_proof(world.key(key), htm="POST", htu=url, now=now())
    body = urlencode(
        [
            ("resource", RESOURCE),
            ("authorization_details", details(world, mandate_jti=full_mandate(mandate)["jti"])),
        ]
    )
    response = world.http.post(url, content=body, headers={"Content-Type": FORM, "DPoP": proof})
    assert response.status_code == 200, response.text
    auth_req_id = response.json()["auth_req_id"]
    record = world.record(auth_req_id)
    assert record is not None
    return auth_req_id, str(record["parent_id"])


def token_request(
    world: World,
    auth_req_id: str,
    *,
    key: str = "agent",
    form: dict[str, str] | None = None,
    htu: str | None = None,
) -> Attack:
    url = endpoint(world, "token")
    proof = create_proof(world.key(key), htm="POST", htu=htu or url, now=now())
    fields = {"grant_type": GRANT_TYPE, "auth_req_id": auth_req_id, **(form or {})}
    body = urlencode({k: v for k, v in fields.items() if v}).encode()
    record = world.record(auth_req_id)
    agents = [str(record["parent_id"])] if record else []
    return Attack(
        "POST", url, {"Content-Type": FORM, "DPoP": proof}, body, watch=[auth_req_id], agents=agents
    )


def polled_with(**opts: Any) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        auth_req_id, _ = started(world)
        return token_request(world, auth_req_id, **opts)

    return build


def allowed_then(key: str, starter: str = "agent") -> Callable[[World], Attack]:
    """The mandate was presented and allowed; then ``key`` asks for the token."""

    def build(world: World) -> Attack:
        mandate = world.issue_mandate(MandateGrant(max_uses=None, budget=None))
        auth_req_id, av = started(world, key=starter, mandate=mandate)
        view = world.agent_view(av)
        live = world.answer_agent_request(view, mandate)
        world.send_ok(live.respond())
        assert world.agent_view(av)["decision"] == "allow"
        return token_request(world, auth_req_id, key=key)

    return build


def issued_twice(world: World) -> Attack:
    attack = allowed_then("agent")(world)
    first = world.send(attack)
    assert first.status_code == 200 and first.json()["token_type"] == "DPoP", first.text
    return token_request(world, attack.watch[0])


def _c(
    name: str,
    source: str,
    build: Callable[[World], Attack],
    error: str,
    fragment: str,
    status: int = 400,
) -> Case:
    return Case(name, source, build, Refused(status, error, fragment))


RFC = "RFC 9449 §4.3"
CASES = [
    _c("dpop_missing", RFC, authorize(lambda w, u: None), DPOP, "exactly one DPoP"),
    _c(
        "dpop_two_headers",
        RFC + " step 1",
        authorize(lambda w, u: [good(w, u), good(w, u)]),
        DPOP,
        "exactly one DPoP",
    ),
    _c(
        "dpop_garbage", RFC + " step 1", authorize(lambda w, u: "not-a-jwt"), DPOP, "dpop_malformed"
    ),
    _c(
        "dpop_too_large", RFC + " step 1", authorize(claims(pad="x" * 9000)), DPOP, "dpop_malformed"
    ),
    _c("dpop_typ_jwt", RFC + " step 2", authorize(headed(typ="JWT")), DPOP, "dpop_typ_invalid"),
    _c(
        "dpop_alg_none",
        RFC + " step 3; RFC 8725 §3.1",
        authorize(unsigned),
        DPOP,
        "dpop_alg_not_allowed",
    ),
    _c(
        "dpop_hs256_public_key_secret",
        RFC + " step 3; RFC 8725 §3.2",
        authorize(hs256),
        DPOP,
        "dpop_alg_not_allowed",
    ),
    _c("dpop_jwk_missing", RFC + " step 4", authorize(headed(jwk=None)), DPOP, "dpop_jwk_invalid"),
    _c(
        "dpop_jwk_private",
        RFC + " step 4",
        authorize(lambda w, u: headed(jwk=w.key("agent").to_jwk())(w, u)),
        DPOP,
        "dpop_jwk_invalid",
    ),
    _c(
        "dpop_signed_by_another_key",
        RFC + " step 5",
        authorize(foreign_signature),
        DPOP,
        "dpop_signature_invalid",
    ),
    _c("dpop_jti_missing", RFC + " step 6", authorize(claims(jti=None)), DPOP, "dpop_jti_missing"),
    _c("dpop_wrong_htm", RFC + " step 7", authorize(claims(htm="GET")), DPOP, "dpop_htm_mismatch"),
    _c(
        "dpop_htu_of_token_endpoint",
        RFC + " step 8",
        authorize(lambda w, u: good(w, endpoint(w, "token"))),
        DPOP,
        "dpop_htu_mismatch",
    ),
    _c(
        "dpop_htu_other_host",
        RFC + " step 8",
        authorize(lambda w, u: good(w, u.replace("localhost", "evil.example"))),
        DPOP,
        "dpop_htu_mismatch",
    ),
    _c(
        "dpop_htu_malformed_ipv6",
        RFC + " step 8",
        authorize(claims(htu="http://[::1/oauth/agent-authorize")),
        DPOP,
        "dpop_htu_mismatch",
    ),
    _c(
        "dpop_iat_stale",
        RFC + " step 9",
        authorize(claims(iat=lambda: now() - 3600)),
        DPOP,
        "dpop_iat_invalid",
    ),
    _c(
        "dpop_iat_future",
        RFC + " step 9",
        authorize(claims(iat=lambda: now() + 3600)),
        DPOP,
        "dpop_iat_invalid",
    ),
    _c(
        "dpop_iat_not_a_number",
        RFC + " step 9",
        authorize(claims(iat="now")),
        DPOP,
        "dpop_iat_invalid",
    ),
    _c(
        "dpop_iat_overflowing_number",
        RFC + " step 9; RFC 8259 §6",
        authorize(raw_iat(b"1e400")),
        DPOP,
        "dpop_iat_invalid",
    ),
    _c(
        "dpop_iat_huge_integer",
        RFC + " step 9",
        authorize(raw_iat(b"9" * 400)),
        DPOP,
        "dpop_iat_invalid",
    ),
    _c("dpop_replayed_jti", RFC + " step 11", replayed, DPOP, "dpop_replayed"),
    _c(
        "authorize_unknown_resource",
        "RFC 8707 §2",
        authorize(good, lambda w: authorize_form(w, resources=("https://evil.example/mcp",))),
        "invalid_target",
        "not a protected resource",
    ),
    _c(
        "authorize_resource_repeated",
        "RFC 8707 §2",
        authorize(good, lambda w: authorize_form(w, resources=(RESOURCE, RESOURCE))),
        "invalid_target",
        "each resource once",
    ),
    _c(
        "authorize_resources_under_two_policies",
        "RFC 8707 §2",
        authorize(good, lambda w: authorize_form(w, resources=(RESOURCE, STEPUP_RESOURCE))),
        "invalid_target",
        "different policies",
    ),
    _c(
        "authorize_details_not_json",
        "RFC 9396 §5",
        authorize(good, lambda w: authorize_form(w, detail="{not json")),
        "invalid_authorization_details",
        "JSON",
    ),
    _c(
        "authorize_details_other_type",
        "RFC 9396 §5",
        authorize(
            good, lambda w: authorize_form(w, detail=json.dumps([{"type": "payment_initiation"}]))
        ),
        "invalid_authorization_details",
        "unsupported",
    ),
    _c(
        "authorize_details_duplicate_keys",
        "RFC 9396 §2; digest §9 duplicate keys",
        authorize(
            good,
            lambda w: authorize_form(
                w, detail=details(w)[:-2] + ', "payment_amount": {"amount": 1, "currency": "EUR"}}]'
            ),
        ),
        "invalid_authorization_details",
        "duplicate",
    ),
    _c(
        "authorize_details_deeply_nested",
        "RFC 9396 §2; AGENTVP_MAX_JSON_DEPTH",
        authorize(good, lambda w: authorize_form(w, detail="[" * 5000 + "]" * 5000)),
        "invalid_authorization_details",
        "deeper",
    ),
    _c(
        "authorize_details_two_actions",
        "RFC 9396 §2",
        authorize(good, lambda w: authorize_form(w, detail=json.dumps(json.loads(details(w)) * 2))),
        "invalid_authorization_details",
        "exactly one",
    ),
    _c(
        "authorize_form_parameter_repeated",
        "RFC 6749 §3.1",
        authorize(good, lambda w: authorize_form(w) + b"&authorization_details=x"),
        "invalid_request",
        "repeated",
    ),
    _c(
        "token_with_another_dpop_key",
        "T1; RFC 9449 §5",
        polled_with(key="thief"),
        "invalid_grant",
        "not the one that started",
    ),
    _c(
        "token_unknown_auth_req_id",
        "OpenID CIBA §11",
        lambda w: token_request(w, secrets.token_urlsafe(32)),
        "invalid_grant",
        "unknown auth_req_id",
    ),
    _c(
        "token_wrong_grant_type",
        "RFC 6749 §5.2",
        polled_with(form={"grant_type": "password"}),
        "unsupported_grant_type",
        "grant_type",
    ),
    _c(
        "token_resource_not_requested",
        "RFC 8707 §2.2",
        polled_with(form={"resource": STEPUP_RESOURCE}),
        "invalid_target",
        "not part of this request",
    ),
    _c(
        "token_proof_for_authorize_endpoint",
        RFC + " step 8",
        lambda w: polled_with(htu=endpoint(w, "agent-authorize"))(w),
        DPOP,
        "dpop_htu_mismatch",
    ),
    _c(
        "token_after_allow_with_relay_key",
        "T1; agent-mandates §5.2 (4)",
        allowed_then("thief", starter="thief"),
        "invalid_grant",
        "not the mandate's cnf key",
    ),
    _c(
        "token_after_allow_with_stolen_auth_req_id",
        "T1; RFC 9449 §5",
        allowed_then("thief"),
        "invalid_grant",
        "not the one that started",
    ),
    _c(
        "token_issued_twice_for_one_resource",
        "agent-mandates §8; RFC 9068",
        issued_twice,
        "invalid_grant",
        "already issued",
    ),
]
