"""What a relying party gives that the verifier must refuse at once rather than accept and then
silently never do (issue 15): a ``callback_url`` the outbound policy will never deliver to (an
SSRF attempt at the verifier's own network, or a development URL without the allow-list), and a
DCQL query with a member DCQL does not define (a typo that would silently widen the request).
Each is a 400 naming the rule; nothing is created, nothing is fetched (the SSRF canary)."""

from __future__ import annotations

from typing import Any

from tests.attacks.cases.rp_api import agent, create
from tests.attacks.harness import ACTION, POLICY, Case, Refused

SSRF = "DESIGN webhooks; SSRF (digest §4.4 retrieval rules)"
ALLOW = "AGENTVP_OUTBOUND_ALLOW_HOSTS"
PRIVATE = "is a loopback or private address"
CALLBACKS = [
    ("callback_plain_http", "http://rp.example/hook", "only https is allowed"),
    ("callback_loopback", "https://127.0.0.1/hook", PRIVATE),
    ("callback_loopback_v6", "https://[::1]:8443/hook", PRIVATE),
    ("callback_localhost", "https://localhost/hook", PRIVATE),
    ("callback_private_10", "https://10.0.0.5/hook", PRIVATE),
    ("callback_link_local_metadata", "https://169.254.169.254/latest/meta-data", "private"),
    ("callback_v4_mapped_loopback", "https://[::ffff:127.0.0.1]/hook", PRIVATE),
    ("callback_credentials", "https://user:pw@rp.example/hook", "credentials"),
]


def _identity_with(**changes: Any) -> dict[str, Any]:
    claims: list[dict[str, Any]] = [{"path": ["verified_claims", "claims", "given_name"]}]
    credential: dict[str, Any] = {
        "id": "identity",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://agentvp.example/vct/verified_person/1"]},
        "claims": claims,
    }
    for path, value in changes.items():
        if path == "claim":  # the typo for "claims": all claims would become optional
            credential["claim"] = credential.pop("claims")
        elif path == "value":  # the typo for "values": no value constraint at all
            claims[0]["value"] = ["Erika"]
        else:
            credential[path] = value
    return {"credentials": [credential]}


CASES = [
    *(
        Case(
            name,
            SSRF,
            create({"profile": "identity", "callback_url": url}),
            Refused(400, "invalid_request", fragment),
        )
        for name, url, fragment in CALLBACKS
    ),
    *(
        Case(
            f"agent_{name}",
            SSRF,
            agent(
                {
                    "policy": POLICY,
                    "action": {**ACTION, "mandate_jti": "urn:uuid:x"},
                    "callback_url": url,
                }
            ),
            Refused(400, "invalid_request", fragment),
        )
        for name, url, fragment in CALLBACKS[:3]
    ),
    Case(
        "callback_names_the_setting",
        SSRF,
        create({"profile": "identity", "callback_url": "https://192.168.1.10:9000/h"}),
        Refused(400, "invalid_request", f"{ALLOW}=192.168.1.10:9000"),
    ),
    Case(
        "dcql_typo_claim_for_claims",
        "digest §10 #3; OpenID4VP §6 (the RP's own query, parsed strictly)",
        create({"dcql_query": _identity_with(claim=True)}),
        Refused(400, "invalid_request", "credentials.0.claim: unknown member"),
    ),
    Case(
        "dcql_typo_value_for_values",
        "digest §10 #3; OpenID4VP §6 (the RP's own query, parsed strictly)",
        create({"dcql_query": _identity_with(value=True)}),
        Refused(400, "invalid_request", "credentials.0.claims.0.value: unknown member"),
    ),
    Case(
        "dcql_unknown_credential_member",
        "digest §10 #3; OpenID4VP §6 (the RP's own query, parsed strictly)",
        create({"dcql_query": _identity_with(require_holder_binding=False)}),
        Refused(400, "invalid_request", "credentials.0.require_holder_binding: unknown member"),
    ),
]
