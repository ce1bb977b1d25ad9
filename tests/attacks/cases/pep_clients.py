"""Service clients (a PEP's ``client_credentials``, :mod:`verifier.oauth.pep_clients`): the
registration (an API key as the RFC 7591 initial access token), the token endpoint's client
authentication and scope, and where such a token counts - only at the AuthZEN PDP, never at a
protected resource, the RP API or as a wallet-login token - and where other tokens do not count
as one (a person's, an agent's, a revoked one).

Every case starts from a freshly registered service client (its record is watched: a refusal
changes nothing) and, where it attacks a use, an honestly issued token; the ``after`` hooks
prove the client still works with its real secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.attacks import forge
from tests.attacks.cases.wallet_login import REDIRECT, register, resources, tokens
from tests.attacks.harness import FORM, RESOURCE, Attack, Case, Refused, World
from tests.attacks.resource import access_token
from tests.attacks.resource import server as agent_server
from verifier.protocol import SigningKey
from verifier.protocol.jose import b64url_decode

EVALUATE = "authzen:evaluate"
SERVICE: dict[str, Any] = {
    "grant_types": ["client_credentials"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": EVALUATE,
    "client_name": "attacked gateway",
}
AUTHZEN = "AuthZEN 1.0 §12; RFC 6750 §3.1"


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the cases look inside tokens agentvp issued)."""
    data: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return data


def service_client(world: World, **changes: Any) -> dict[str, Any]:
    """A service client registered with the world's API key: ``client_id``, ``client_secret``."""
    response = world.rp.http.post("/oauth/register", json={**SERVICE, **changes})
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()
    return client


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def token_attack(
    world: World, headers: dict[str, str], form: list[tuple[str, str]], watch: list[str]
) -> Attack:
    body = urlencode([("grant_type", "client_credentials"), *form]).encode()
    url = f"{world.verifier.url}/oauth/token"
    return Attack("POST", url, {"Content-Type": FORM, **headers}, body, watch=watch)


def pep_token(world: World, client: dict[str, Any]) -> str:
    """A token for ``client``, authenticated the way it registered."""
    credentials = [("client_id", client["client_id"]), ("client_secret", client["client_secret"])]
    if client["token_endpoint_auth_method"] == "client_secret_post":
        attack = token_attack(world, {}, credentials, [])
    else:
        attack = token_attack(world, basic(client["client_id"], client["client_secret"]), [], [])
    response = world.send(attack)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def evaluation(token: str) -> dict[str, Any]:
    """An AuthZEN evaluation of a tool call (its subject token is not the point here)."""
    return {
        "subject": {"type": "token", "id": token},
        "action": {"name": "tools/call"},
        "resource": {"type": "tool", "id": "checkout", "properties": {"server": RESOURCE}},
    }


def evaluate(world: World, credential: str, watch: list[str]) -> Attack:
    """``POST /access/v1/evaluation`` authenticated with ``credential`` as the Bearer."""
    headers = {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
    body = json.dumps(evaluation(credential)).encode()
    url = f"{world.verifier.url}/access/v1/evaluation"
    return Attack("POST", url, headers, body, watch=watch)


def still_works(world: World, client: dict[str, Any]) -> Callable[[httpx.Response], None]:
    """The ``after`` check: the real secret still gets a token the PDP accepts."""

    def check(_: httpx.Response) -> None:
        token = pep_token(world, client)
        answer = world.send(evaluate(world, token, []))
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json()["decision"], bool), answer.text

    return check


# ------------------------------------------------------------------ the token endpoint


def authenticated(
    make: Callable[[dict[str, Any]], tuple[dict[str, str], list[tuple[str, str]]]],
    **registered: Any,
) -> Callable[[World], Attack]:
    """``grant_type=client_credentials`` with the headers and form ``make(client)`` returns,
    for a client registered with ``registered`` over the default metadata."""

    def build(world: World) -> Attack:
        client = service_client(world, **registered)
        headers, form = make(client)
        attack = token_attack(world, headers, form, [client["client_id"]])
        attack.after = still_works(world, client)
        return attack

    return build


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def public_client_as_service(world: World) -> Attack:
    """A wallet-login (public) client asks for a service token with a made-up secret."""
    client = register(world)
    form = [("client_id", client), ("client_secret", "anything")]
    return token_attack(world, {}, form, [client])


# ------------------------------------------------------------------ registration


def registration(body: dict[str, Any], *, api_key: bool = True) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {world.api_key}"
        url = f"{world.verifier.url}/oauth/register"
        return Attack("POST", url, headers, json.dumps(body).encode())

    return build


def registered_with_pep_token(world: World) -> Attack:
    """A PEP token holder tries to mint a long-lived client (and secret) of its own."""
    client = service_client(world)
    token = pep_token(world, client)
    attack = registration(SERVICE)(world)
    attack.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    attack.watch = [client["client_id"]]
    return attack


# ------------------------------------------------------------------ where the token counts


def pep_token_at(where: str) -> Callable[[World], Attack]:
    """A live PEP token sent as ``Bearer`` to a protected resource (``login``: one that takes
    wallet-login tokens; ``agent``: the agent grant's) or the RP API."""

    def build(world: World) -> Attack:
        client = service_client(world)
        token = pep_token(world, client)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
        body = json.dumps({**call, "params": {"name": "pay", "arguments": {}}}).encode()
        if where == "login":
            url = resources(world).url("bearer")
        elif where == "agent":
            url = agent_server(world).url()
        else:
            url = f"{world.verifier.url}/v1/presentations"
            body = json.dumps({"profile": "identity"}).encode()
        attack = Attack("POST", url, headers, body, watch=[client["client_id"]])
        attack.after = still_works(world, client)
        return attack

    return build


def login_token_as_pep(world: World) -> Attack:
    client, answer = tokens(world)
    return evaluate(world, answer["access_token"], [client])


def agent_token_as_pep(world: World) -> Attack:
    return evaluate(world, access_token(world), [])


def revoked_pep_token(world: World) -> Attack:
    client = service_client(world)
    token = pep_token(world, client)
    revoked = world.rp.http.post("/oauth/revoke", data={"token": token})
    assert revoked.status_code == 200, revoked.text
    world.counter_keys.add(f"revoked-token:{claims_of(token)['jti']}")
    attack = evaluate(world, token, [client["client_id"]])
    attack.after = still_works(world, client)
    return attack


def pep_token_forged(world: World) -> Attack:
    """A PEP token's claims re-signed with another key under agentvp's ``kid``."""
    client = service_client(world)
    token = pep_token(world, client)
    header = json.loads(b64url_decode(token.split(".")[0]))
    forged = forge.signed(SigningKey.generate(), header, claims_of(token))
    return evaluate(world, forged, [client["client_id"]])


def _c(name: str, source: str, build: Callable[[World], Attack], *refused: Any) -> Case:
    return Case(name, source, build, Refused(*refused))


CC = "RFC 6749 §4.4.2; RFC 6749 §2.3.1"
CASES = [
    _c(
        "pep_token_wrong_secret",
        CC,
        authenticated(lambda c: (basic(c["client_id"], "not-the-secret"), [])),
        401,
        "invalid_client",
        "wrong secret",
    ),
    _c(
        "pep_token_stored_digest_as_secret",
        CC + "; RFC 7591 §3.2.1",
        authenticated(lambda c: (basic(c["client_id"], _digest(c["client_secret"])), [])),
        401,
        "invalid_client",
        "wrong secret",
    ),
    _c(
        "pep_token_secret_prefix",
        CC,
        authenticated(lambda c: (basic(c["client_id"], c["client_secret"][:-1]), [])),
        401,
        "invalid_client",
        "wrong secret",
    ),
    _c(
        "pep_token_empty_secret",
        CC,
        authenticated(lambda c: (basic(c["client_id"], ""), [])),
        401,
        "invalid_client",
        "wrong secret",
    ),
    _c(
        "pep_token_wrong_posted_secret",
        CC,
        authenticated(
            lambda c: ({}, [("client_id", c["client_id"]), ("client_secret", "not-the-secret")])
        ),
        401,
        "invalid_client",
        "wrong secret",
    ),
    _c(
        "pep_token_posted_by_basic_client",
        "RFC 7591 §2 (token_endpoint_auth_method); " + CC,
        authenticated(
            lambda c: ({}, [("client_id", c["client_id"]), ("client_secret", c["client_secret"])])
        ),
        401,
        "invalid_client",
        "authenticates with client_secret_basic, not client_secret_post",
    ),
    _c(
        "pep_token_basic_by_post_client",
        "RFC 7591 §2 (token_endpoint_auth_method); " + CC,
        authenticated(
            lambda c: (basic(c["client_id"], c["client_secret"]), []),
            token_endpoint_auth_method="client_secret_post",
        ),
        401,
        "invalid_client",
        "authenticates with client_secret_post, not client_secret_basic",
    ),
    _c(
        "pep_token_client_id_alone",
        CC,
        authenticated(lambda c: ({}, [("client_id", c["client_id"])])),
        401,
        "invalid_client",
        "authenticate the client",
    ),
    _c(
        "pep_token_two_authentication_methods",
        "RFC 6749 §2.3",
        authenticated(
            lambda c: (
                basic(c["client_id"], "not-the-secret"),
                [("client_secret", c["client_secret"])],
            )
        ),
        400,
        "invalid_request",
        "one client authentication method",
    ),
    _c(
        "pep_token_secret_repeated",
        "RFC 6749 §3.2",
        authenticated(
            lambda c: (
                {},
                [
                    ("client_id", c["client_id"]),
                    ("client_secret", "not-the-secret"),
                    ("client_secret", c["client_secret"]),
                ],
            )
        ),
        400,
        "invalid_request",
        "repeated",
    ),
    _c(
        "pep_token_malformed_basic",
        CC,
        authenticated(lambda c: ({"Authorization": "Basic not*base64"}, [])),
        401,
        "invalid_client",
        "malformed Basic",
    ),
    _c(
        "pep_token_for_a_public_client",
        CC + "; RFC 7591 §2",
        public_client_as_service,
        401,
        "invalid_client",
        "unknown client",
    ),
    _c(
        "pep_token_scope_escalation_to_mcp",
        "RFC 6749 §3.3",
        authenticated(lambda c: (basic(c["client_id"], c["client_secret"]), [("scope", "mcp")])),
        400,
        "invalid_scope",
        "scope may only be authzen:evaluate",
    ),
    _c(
        "pep_token_scope_widened",
        "RFC 6749 §3.3",
        authenticated(
            lambda c: (
                basic(c["client_id"], c["client_secret"]),
                [("scope", f"{EVALUATE} mcp:refund")],
            )
        ),
        400,
        "invalid_scope",
        "scope may only be authzen:evaluate",
    ),
    _c(
        "pep_register_without_api_key",
        "RFC 7591 §3",
        registration(SERVICE, api_key=False),
        401,
        "invalid_token",
        "Authorization: Bearer",
    ),
    _c(
        "pep_register_mcp_scope",
        "RFC 7591 §3.2.2",
        registration({**SERVICE, "scope": f"{EVALUATE} mcp"}),
        400,
        "invalid_client_metadata",
        "scope may only be",
    ),
    _c(
        "pep_register_with_redirect_uris",
        "RFC 7591 §3.2.2",
        registration({**SERVICE, "redirect_uris": ["https://evil.example/cb"]}),
        400,
        "invalid_client_metadata",
        "no redirect_uris",
    ),
    _c(
        "pep_register_grant_types_not_a_list",
        "RFC 7591 §2",
        registration({"grant_types": 5, "redirect_uris": [REDIRECT]}, api_key=False),
        400,
        "invalid_client_metadata",
        "grant_types may only be",
    ),
    _c(
        "pep_register_grant_types_as_a_string",
        "RFC 7591 §2",
        registration({"grant_types": "client_credentials", "redirect_uris": [REDIRECT]}),
        400,
        "invalid_client_metadata",
        "grant_types may only be",
    ),
    _c(
        "register_grant_types_nested_list",
        "RFC 7591 §2",
        registration({"grant_types": [["client_credentials"]], "redirect_uris": [REDIRECT]}),
        400,
        "invalid_client_metadata",
        "grant_types may only be",
    ),
    _c(
        "register_redirect_uris_nested_list",
        "RFC 7591 §2",
        registration({"redirect_uris": [[REDIRECT]]}, api_key=False),
        400,
        "invalid_redirect_uri",
        "a redirect URI is a string",
    ),
    _c(
        "pep_register_with_a_pep_token",
        "RFC 7591 §3 (the initial access token is an API key)",
        registered_with_pep_token,
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "pep_token_at_login_resource",
        "RFC 8707 §2; RFC 9068 §4",
        pep_token_at("login"),
        401,
        "invalid_token",
        "token_audience_mismatch",
    ),
    _c(
        "pep_token_at_agent_resource",
        "RFC 9068 §4; RFC 9449 §7.1",
        pep_token_at("agent"),
        401,
        "invalid_token",
        "token_not_dpop",
    ),
    _c(
        "pep_token_as_rp_api_key",
        "RFC 6750 §3.1",
        pep_token_at("rp-api"),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "login_token_as_pep_token",
        AUTHZEN + "; RFC 9068 §4",
        login_token_as_pep,
        401,
        "invalid_token",
        "token_audience_mismatch",
    ),
    _c(
        "agent_token_as_pep_token",
        AUTHZEN + "; RFC 9068 §4",
        agent_token_as_pep,
        401,
        "invalid_token",
        "token_audience_mismatch",
    ),
    _c(
        "pep_token_after_revocation",
        AUTHZEN + "; RFC 7009 §2",
        revoked_pep_token,
        401,
        "invalid_token",
        "revoked",
    ),
    _c(
        "pep_token_signed_by_another_key",
        AUTHZEN + "; RFC 9068 §4",
        pep_token_forged,
        401,
        "invalid_token",
        "signature",
    ),
]
