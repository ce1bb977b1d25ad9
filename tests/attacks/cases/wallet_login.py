"""The wallet login (authorization code + PKCE, refresh tokens) and its tokens at a resource.

Each case starts from an honest login: a client registered over RFC 7591, ``/oauth/authorize``
for ``STEPUP_RESOURCE`` (its policy has identity rules), the human's identity presented by the
wallet simulator to the link the page shows, the page's poll answering the code. Then exactly
one thing is attacked at ``/oauth/token`` or at a protected resource that accepts wallet-login
tokens; the code, refresh and client records must not change (a spent code and a reused
refresh token revoke their family by design: the ``after`` hooks check that).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.attacks.harness import RESOURCE, STEPUP_RESOURCE, Attack, Case, Refused, World
from tests.attacks.resource import server as agent_server
from tests.conftest import free_port
from tests.threaded_server import ThreadedServer
from verifier.protocol import SigningKey
from verifier.protocol.jose import b64url_encode
from verifier.protocol.oauth.dpop import create_proof
from verifier.resource import JWKSCache, ProtectedResource, ResourceGuard

FORM = "application/x-www-form-urlencoded"
REDIRECT = "http://127.0.0.1:9/callback"


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def register(world: World, redirect: str = REDIRECT) -> str:
    body = {"redirect_uris": [redirect], "client_name": "attacked host"}
    response = world.http.post(f"{world.verifier.url}/oauth/register", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def _attr(page: str, marker: str, name: str) -> str:
    tag = re.search(r"<[^>]*" + re.escape(marker) + r"[^>]*>", page)
    assert tag is not None, page[:500]
    found = re.search(name + r'="([^"]*)"', tag.group(0))
    assert found is not None
    return html.unescape(found.group(1))


def login(world: World, client_id: str, *, scope: str | None = None) -> tuple[str, str]:
    """An honest wallet login; returns ``(code, code_verifier)``."""
    verifier = secrets.token_urlsafe(48)
    challenge = b64url_encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": STEPUP_RESOURCE,
        **({"scope": scope} if scope else {}),
    }
    page = world.http.get(f"{world.verifier.url}/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    link = _attr(page.text, 'id="wallet-link"', "href")
    login_id = _attr(page.text, 'id="main"', "data-login")
    simulator = world.simulator(credentials=[world.identity.id])
    try:
        simulator.submit(simulator.propose(simulator.resolve(link)))
    finally:
        simulator.http.close()
    deadline = time.monotonic() + 15
    while True:
        view = world.http.get(f"{world.verifier.url}/oauth/login/{login_id}").json()
        if view["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert view["status"] == "verified", view
    query = parse_qs(urlsplit(view["redirect"]).query)
    return query["code"][0], verifier


def exchange_form(client_id: str, code: str, verifier: str, **changes: str | None) -> bytes:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "resource": STEPUP_RESOURCE,
    }
    form.update(changes)
    return urlencode({k: v for k, v in form.items() if v is not None}).encode()


def token_url(world: World) -> str:
    return f"{world.verifier.url}/oauth/token"


def post_token(world: World, body: bytes, dpop: str | None = None) -> httpx.Response:
    headers = {"Content-Type": FORM, **({"DPoP": dpop} if dpop else {})}
    return world.http.post(token_url(world), content=body, headers=headers)


def attack(world: World, body: bytes, watch: list[str], dpop: str | None = None) -> Attack:
    headers = {"Content-Type": FORM, **({"DPoP": dpop} if dpop else {})}
    return Attack("POST", token_url(world), headers, body, watch=watch)


def tokens(world: World, *, key: SigningKey | None = None) -> tuple[str, dict[str, Any]]:
    """A client and the token response of an honest login (DPoP-bound with ``key``)."""
    client = register(world)
    code, verifier = login(world, client)
    dpop = None
    if key is not None:
        dpop = create_proof(key, htm="POST", htu=token_url(world), now=int(time.time()))
    response = post_token(world, exchange_form(client, code, verifier), dpop)
    assert response.status_code == 200, response.text
    return client, response.json()


def refresh_form(client_id: str, refresh: str, **changes: str) -> bytes:
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id}
    return urlencode({**form, **changes}).encode()


def revoked(world: World, client_id: str, refresh: str) -> Callable[[httpx.Response], None]:
    """The ``after`` check: the family of ``refresh`` no longer refreshes."""

    def check(_: httpx.Response) -> None:
        again = post_token(world, refresh_form(client_id, refresh))
        assert again.status_code == 400, again.text
        assert again.json()["error"] == "invalid_grant", again.text

    return check


# ------------------------------------------------------------------ authorization_code


def code_with(**changes: str | None) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        client = register(world)
        code, verifier = login(world, client)
        values = {
            k: v.format(challenge=_challenge(verifier)) if v else v for k, v in changes.items()
        }
        body = exchange_form(client, code, verifier, **values)
        return attack(world, body, [_sha(code), client])

    return build


def _challenge(verifier: str) -> str:
    return b64url_encode(hashlib.sha256(verifier.encode()).digest())


def code_reused(world: World) -> Attack:
    client = register(world)
    code, verifier = login(world, client)
    first = post_token(world, exchange_form(client, code, verifier))
    assert first.status_code == 200, first.text
    built = attack(world, exchange_form(client, code, verifier), [_sha(code), client])
    built.after = revoked(world, client, first.json()["refresh_token"])
    return built


def code_of_another_client(world: World) -> Attack:
    client, other = register(world), register(world)
    code, verifier = login(world, client)
    return attack(world, exchange_form(other, code, verifier), [_sha(code), client, other])


# ------------------------------------------------------------------ refresh_token


def refresh_replayed(world: World) -> Attack:
    client, answer = tokens(world)
    old = answer["refresh_token"]
    rotated = post_token(world, refresh_form(client, old))
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["refresh_token"]
    built = attack(world, refresh_form(client, old), [_sha(old), _sha(new), client])
    built.watch = [_sha(old), client]  # the new token's family is revoked by design
    built.after = revoked(world, client, new)
    return built


def refresh_by_another_client(world: World) -> Attack:
    client, answer = tokens(world)
    other = register(world)
    refresh = answer["refresh_token"]
    return attack(world, refresh_form(other, refresh), [_sha(refresh), client, other])


def refresh_widening_scope(world: World) -> Attack:
    client, answer = tokens(world)
    refresh = answer["refresh_token"]
    body = refresh_form(client, refresh, scope="mcp mcp:admin")
    return attack(world, body, [_sha(refresh), client])


def bound_refresh_without_proof(world: World) -> Attack:
    client, answer = tokens(world, key=SigningKey.generate())
    refresh = answer["refresh_token"]
    return attack(world, refresh_form(client, refresh), [_sha(refresh), client])


def bound_refresh_with_another_key(world: World) -> Attack:
    client, answer = tokens(world, key=SigningKey.generate())
    refresh = answer["refresh_token"]
    proof = create_proof(
        SigningKey.generate(), htm="POST", htu=token_url(world), now=int(time.time())
    )
    return attack(world, refresh_form(client, refresh), [_sha(refresh), client], dpop=proof)


# ------------------------------------------------------------------ at the resource


class LoginResources:
    """Guards that accept wallet-login tokens, over the attack world's JSON-RPC app (its tool
    runs are in every snapshot): ``bearer`` and ``dpop`` (DPoP required) for
    ``STEPUP_RESOURCE``, ``other`` for ``RESOURCE``. Daemon threads, ending with the run."""

    GUARDS = (
        ("bearer", STEPUP_RESOURCE, False),
        ("dpop", STEPUP_RESOURCE, True),
        ("other", RESOURCE, False),
    )

    def __init__(self, world: World) -> None:
        app = agent_server(world).app
        issuer = world.verifier.url
        self.ports: dict[str, int] = {}
        self.servers: list[ThreadedServer] = []
        for name, resource, dpop in self.GUARDS:
            guard = ResourceGuard(
                resource=resource,
                issuer=issuer,
                jwks=JWKSCache(issuer),
                base_scope="mcp",
                dpop_required=dpop,
            )
            scopes = {"refund": "mcp:refund"}
            protected = ProtectedResource(app, guard, tools={}, tool_scopes=scopes)
            self.ports[name] = free_port()
            self.servers.append(ThreadedServer(protected, self.ports[name]))  # type: ignore[arg-type]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/mcp"


_RESOURCES: dict[int, LoginResources] = {}


def resources(world: World) -> LoginResources:
    if id(world) not in _RESOURCES:
        _RESOURCES[id(world)] = LoginResources(world)
    return _RESOURCES[id(world)]


def at_resource(name: str, *, bound: bool = False, tool: str = "pay") -> Callable[[World], Attack]:
    """One ``tools/call`` with a fresh wallet-login token sent as ``Bearer``."""

    def build(world: World) -> Attack:
        _, answer = tokens(world, key=SigningKey.generate() if bound else None)
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
        body = {**call, "params": {"name": tool, "arguments": {}}}
        headers = {
            "Authorization": f"Bearer {answer['access_token']}",
            "Content-Type": "application/json",
        }
        return Attack("POST", resources(world).url(name), headers, json.dumps(body).encode())

    return build


RFC6749 = "RFC 6749 §4.1.3"
PKCE = "RFC 7636 §4.6"
REFRESH = "RFC 9700 §4.14.2"
CASES = [
    Case(
        "login_code_reused",
        "OAuth 2.1 §4.1.3",
        code_reused,
        Refused(400, "invalid_grant", "already used"),
    ),
    Case(
        "login_pkce_verifier_missing",
        PKCE,
        code_with(code_verifier=None),
        Refused(400, "invalid_request", "code_verifier is required"),
    ),
    Case(
        "login_pkce_verifier_mismatch",
        PKCE,
        code_with(code_verifier=secrets.token_urlsafe(48)),
        Refused(400, "invalid_grant", "PKCE"),
    ),
    Case(
        "login_pkce_plain_downgrade",
        PKCE,
        code_with(code_verifier="{challenge}"),
        Refused(400, "invalid_grant", "PKCE"),
    ),
    Case(
        "login_redirect_uri_mismatch",
        RFC6749,
        code_with(redirect_uri="http://127.0.0.1:9/other"),
        Refused(400, "invalid_grant", "redirect_uri"),
    ),
    Case(
        "login_resource_swap",
        "RFC 8707 §2.2",
        code_with(resource=RESOURCE),
        Refused(400, "invalid_target", "resource"),
    ),
    Case(
        "login_code_of_another_client",
        RFC6749,
        code_of_another_client,
        Refused(400, "invalid_grant", "another client"),
    ),
    Case(
        "login_refresh_replayed",
        REFRESH,
        refresh_replayed,
        Refused(400, "invalid_grant", "already used"),
    ),
    Case(
        "login_refresh_by_another_client",
        REFRESH,
        refresh_by_another_client,
        Refused(400, "invalid_grant", "another client"),
    ),
    Case(
        "login_refresh_widening_scope",
        "RFC 6749 §6",
        refresh_widening_scope,
        Refused(400, "invalid_scope", "narrow"),
    ),
    Case(
        "login_bound_refresh_without_proof",
        "RFC 9449 §5",
        bound_refresh_without_proof,
        Refused(400, "invalid_dpop_proof", "grant's key"),
    ),
    Case(
        "login_bound_refresh_with_another_key",
        "RFC 9449 §5",
        bound_refresh_with_another_key,
        Refused(400, "invalid_dpop_proof", "grant's key"),
    ),
    Case(
        "login_token_for_another_resource",
        "RFC 8707 §2",
        at_resource("other"),
        Refused(401, "invalid_token", "token_audience_mismatch"),
    ),
    Case(
        "login_bearer_where_dpop_required",
        "RFC 9449 §7.1",
        at_resource("dpop"),
        Refused(401, "invalid_token", "token_not_dpop"),
    ),
    Case(
        "login_bound_token_as_bearer",
        "RFC 9449 §7.1",
        at_resource("bearer", bound=True),
        Refused(401, "invalid_token", "token_not_dpop"),
    ),
    Case(
        "login_tool_beyond_scope",
        "RFC 6750 §3.1",
        at_resource("bearer", tool="refund"),
        Refused(403, "insufficient_scope", "scope_missing"),
    ),
]
