"""The relying-party API (``/v1/...``, ``Authorization: Bearer <api key>``): authentication,
strict JSON bodies and request validation (digest §10 check 3; DESIGN "Relying-party API").
A refused request creates nothing: the metrics' ``presentations_created`` must not move."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from tests.attacks.harness import ACTION, POLICY, Attack, Case, Refused, World

JSON = "application/json"


def call(
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    *,
    auth: str | None = "key",
    content_type: str = JSON,
) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        headers = {"Content-Type": content_type}
        if auth == "key":
            headers["Authorization"] = f"Bearer {world.api_key}"
        elif auth is not None:
            headers["Authorization"] = auth.replace("{key}", world.api_key)
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        return Attack(method, world.verifier.url + path, headers, content)

    return build


def _tx(world: World) -> str:
    return str(world.rp.create(profile="identity")["id"])


def read_other(auth: str) -> Callable[[World], Attack]:
    """Someone without the key reads an existing transaction."""

    def build(world: World) -> Attack:
        tx = _tx(world)
        headers = {"Authorization": auth.replace("{key}", world.api_key)}
        return Attack("GET", f"{world.verifier.url}/v1/presentations/{tx}", headers, watch=[tx])

    return build


def as_agent_verification(world: World, suffix: str = "") -> Attack:
    """A presentation id used where an agent verification id is expected."""
    tx = _tx(world)
    url = f"{world.verifier.url}/v1/agent-verifications/{tx}{suffix}"
    return Attack("GET", url, {"Authorization": f"Bearer {world.api_key}"}, watch=[tx])


IDENTITY_CRED = {
    "id": "identity",
    "format": "dc+sd-jwt",
    "meta": {"vct_values": ["https://agentvp.example/vct/verified_person/1"]},
}
TD = {"type": "https://agentvp.example/td/agent_action/1", "credential_ids": ["identity"]}


def create(body: dict[str, Any] | bytes, content_type: str = JSON) -> Callable[[World], Attack]:
    return call("POST", "/v1/presentations", body, content_type=content_type)


def agent(body: dict[str, Any]) -> Callable[[World], Attack]:
    return call("POST", "/v1/agent-verifications", body)


def _c(
    name: str, source: str, build: Callable[[World], Attack], status: int, error: str, fragment: str
) -> Case:
    return Case(name, source, build, Refused(status, error, fragment))


API = "DESIGN Relying-party API"
DCQL = "digest §10 #3; OpenID4VP §6"
CASES = [
    _c(
        "rp_without_api_key",
        API,
        call("POST", "/v1/presentations", {"profile": "identity"}, auth=None),
        401,
        "invalid_token",
        "missing Authorization",
    ),
    _c(
        "rp_wrong_api_key",
        API,
        call(
            "POST",
            "/v1/presentations",
            {"profile": "identity"},
            auth="Bearer " + secrets.token_urlsafe(24),
        ),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "rp_api_key_prefix_only",
        API,
        lambda w: call(
            "POST", "/v1/presentations", {"profile": "identity"}, auth="Bearer " + w.api_key[:-1]
        )(w),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "rp_basic_scheme",
        API,
        call("POST", "/v1/presentations", {"profile": "identity"}, auth="Basic {key}"),
        401,
        "invalid_token",
        "missing Authorization",
    ),
    _c("rp_read_without_key", API, read_other(""), 401, "invalid_token", "missing Authorization"),
    _c(
        "rp_read_with_wrong_key",
        API,
        read_other("Bearer not-the-key"),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "rp_read_unknown_presentation",
        API,
        call("GET", "/v1/presentations/" + secrets.token_urlsafe(32)),
        404,
        "not_found",
        "no such presentation",
    ),
    _c(
        "rp_presentation_id_as_agent_verification",
        API,
        as_agent_verification,
        404,
        "not_found",
        "no such agent verification",
    ),
    _c(
        "rp_presentation_id_as_audit_log",
        API,
        lambda w: as_agent_verification(w, "/events"),
        404,
        "not_found",
        "no such agent verification",
    ),
    _c(
        "rp_introspect_without_key",
        "RFC 7662 §2.1",
        call(
            "POST",
            "/oauth/introspect",
            b"token=x",
            auth=None,
            content_type="application/x-www-form-urlencoded",
        ),
        401,
        "invalid_token",
        "missing Authorization",
    ),
    _c(
        "rp_body_duplicate_keys",
        "digest §9 duplicate keys",
        create(b'{"profile":"identity","profile":"agent_mandate"}'),
        400,
        "invalid_request",
        "duplicate JSON member name",
    ),
    _c(
        "rp_body_invalid_utf8",
        "RFC 8259 §8.1",
        create(b'{"profile":"\xff"}'),
        400,
        "invalid_request",
        "not valid UTF-8",
    ),
    _c(
        "rp_body_lone_surrogate",
        "RFC 8259 §8.2",
        create(b'{"profile":"\\ud800"}'),
        400,
        "invalid_request",
        "lone UTF-16 surrogate",
    ),
    _c(
        "rp_body_deeply_nested",
        "AGENTVP_MAX_JSON_DEPTH",
        create(b'{"dcql_query":' + b"[" * 500 + b"]" * 500 + b"}"),
        400,
        "invalid_request",
        "nests deeper",
    ),
    _c(
        "rp_body_over_limit",
        "AGENTVP_MAX_BODY_BYTES",
        create(b'{"profile":"' + b"a" * (300 * 1024) + b'"}'),
        413,
        "invalid_request",
        "exceeds",
    ),
    _c(
        "rp_body_not_an_object",
        API,
        create(b'["identity"]'),
        400,
        "invalid_request",
        "not a JSON object",
    ),
    _c(
        "rp_body_not_json_content_type",
        API,
        create({"profile": "identity"}, content_type="text/plain"),
        415,
        "invalid_request",
        "application/json",
    ),
    _c(
        "rp_unknown_field",
        API,
        create({"profile": "identity", "admin": True}),
        400,
        "invalid_request",
        "admin",
    ),
    _c(
        "rp_unknown_profile",
        API,
        create({"profile": "../../etc/passwd"}),
        400,
        "invalid_request",
        "unknown profile",
    ),
    _c(
        "dcql_and_profile_both",
        DCQL,
        create({"profile": "identity", "dcql_query": {"credentials": [IDENTITY_CRED]}}),
        400,
        "invalid_request",
        "exactly one",
    ),
    _c(
        "dcql_id_bad_characters",
        DCQL,
        create({"dcql_query": {"credentials": [{**IDENTITY_CRED, "id": "id entity"}]}}),
        400,
        "invalid_request",
        "credentials.0.id",
    ),
    _c(
        "dcql_duplicate_ids",
        DCQL,
        create({"dcql_query": {"credentials": [IDENTITY_CRED, IDENTITY_CRED]}}),
        400,
        "invalid_request",
        "must be unique",
    ),
    _c(
        "dcql_claim_sets_without_claims",
        DCQL,
        create({"dcql_query": {"credentials": [{**IDENTITY_CRED, "claim_sets": [["a"]]}]}}),
        400,
        "invalid_request",
        "claim_sets requires claims",
    ),
    _c(
        "dcql_claim_set_unknown_id",
        DCQL,
        create(
            {
                "dcql_query": {
                    "credentials": [
                        {
                            **IDENTITY_CRED,
                            "claims": [{"id": "a", "path": ["x"]}],
                            "claim_sets": [["b"]],
                        }
                    ]
                }
            }
        ),
        400,
        "invalid_request",
        "unknown claim ids",
    ),
    _c(
        "dcql_unsupported_format",
        DCQL,
        create({"dcql_query": {"credentials": [{**IDENTITY_CRED, "format": "mso_mdoc"}]}}),
        400,
        "invalid_request",
        "unsupported",
    ),
    _c(
        "dcql_claims_path_negative_index",
        DCQL,
        create(
            {"dcql_query": {"credentials": [{**IDENTITY_CRED, "claims": [{"path": ["a", -1]}]}]}}
        ),
        400,
        "invalid_request",
        "non-negative",
    ),
    _c(
        "same_device_without_redirect_uri",
        "OpenID4VP §8.2; HAIP same-device",
        create({"profile": "identity", "flow": "same_device"}),
        400,
        "invalid_request",
        "redirect_uri",
    ),
    _c(
        "same_device_javascript_redirect_uri",
        "OpenID4VP §8.2",
        create(
            {"profile": "identity", "flow": "same_device", "redirect_uri": "javascript:alert(1)"}
        ),
        400,
        "invalid_request",
        "redirect_uri",
    ),
    _c(
        "callback_url_not_http",
        "DESIGN webhooks; SSRF",
        create({"profile": "identity", "callback_url": "file:///etc/passwd"}),
        400,
        "invalid_request",
        "callback_url",
    ),
    _c(
        "transaction_data_unknown_query",
        "OpenID4VP §5.1 transaction_data",
        create(
            {"profile": "identity", "transaction_data": [{**TD, "credential_ids": ["mandate"]}]}
        ),
        400,
        "invalid_request",
        "unknown queries",
    ),
    _c(
        "transaction_data_not_base64url",
        "OpenID4VP §5.1 transaction_data",
        create({"profile": "identity", "transaction_data": ["not base64!"]}),
        400,
        "invalid_request",
        "transaction_data",
    ),
    _c(
        "transaction_data_too_many",
        "OpenID4VP §5.1; input limits",
        create({"profile": "identity", "transaction_data": [TD] * 9}),
        400,
        "invalid_request",
        "at most 8",
    ),
    _c(
        "agent_verification_unknown_policy",
        "agent-mandates §6.1",
        agent({"policy": "no-such-policy", "action": {**ACTION, "mandate_jti": "urn:uuid:x"}}),
        400,
        "invalid_request",
        "unknown policy",
    ),
    _c(
        "agent_verification_float_amount",
        "agent-mandates §6.3 integers only",
        agent(
            {
                "policy": POLICY,
                "action": {
                    **ACTION,
                    "mandate_jti": "x",
                    "payment_amount": {"amount": 89.9, "currency": "EUR"},
                },
            }
        ),
        400,
        "invalid_request",
        "payment_amount.amount",
    ),
    _c(
        "agent_verification_negative_amount",
        "agent-mandates §6.3",
        agent(
            {
                "policy": POLICY,
                "action": {
                    **ACTION,
                    "mandate_jti": "x",
                    "payment_amount": {"amount": -1, "currency": "EUR"},
                },
            }
        ),
        400,
        "invalid_request",
        "payment_amount.amount",
    ),
    _c(
        "agent_verification_extra_action_field",
        "agent-mandates §6.3",
        agent({"policy": POLICY, "action": {**ACTION, "mandate_jti": "x", "max_amount": 10**9}}),
        400,
        "invalid_request",
        "max_amount",
    ),
]
