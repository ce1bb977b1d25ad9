"""PEPs authenticated by an agentvp-issued client token instead of an API key, over real HTTP:
a service client registered with an API key (RFC 7591 initial access token) gets a Bearer token
by client_credentials (HTTP Basic or client_secret_post, as it registered) and the PDP accepts
it; no API key at registration, a wrong secret, the other authentication method, a foreign
scope, an expired, revoked, wrong-audience or scope-less token are each refused with a clear
error, and the client's id alone does not revoke its token - its id with its secret does
(RFC 7009 §2.1), and only its own."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.authzen.conftest import PEP, tool_request
from tests.authzen.test_ssf import ORDER
from tests.mcp.conftest import World
from verifier.protocol import SigningKey

pytestmark = pytest.mark.e2e
SERVICE = {
    "grant_types": ["client_credentials"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": "authzen:evaluate",
    "client_name": "shop gateway",
}


def _basic(client: dict[str, Any], secret: str | None = None) -> dict[str, str]:
    raw = f"{client['client_id']}:{secret or client['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _token(world: World, headers: dict[str, str], **form: str) -> httpx.Response:
    return httpx.post(
        f"{world.verifier.url}/oauth/token",
        data={"grant_type": "client_credentials", **form},
        headers=headers,
        timeout=10,
    )


def _evaluate(world: World, token: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{world.verifier.url}/access/v1/evaluation",
        json=body,
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r-1"},
        timeout=10,
    )


def _mint(world: World, **claims: Any) -> str:
    """A token signed with agentvp's own key, for shapes the API never issues."""
    key = SigningKey.from_jwk(
        json.loads((world.root / "verifier" / "verifier" / "signing_key.json").read_text())
    )
    kid = httpx.get(f"{world.verifier.url}/oauth/jwks.json", timeout=10).json()["keys"][0]["kid"]
    now = int(time.time())
    base = {"iss": world.verifier.url, "aud": world.verifier.url, "iat": now, "exp": now + 60}
    return key.sign_jws({"typ": "at+jwt", "kid": kid}, {"jti": f"j-{now}", **base, **claims})


def test_a_service_client_token_authenticates_a_pep(world: World, pep: PEP) -> None:
    url = f"{world.verifier.url}/oauth/register"
    anonymous = httpx.post(url, json=SERVICE, timeout=10)
    assert anonymous.status_code == 401
    foreign_scope = pep.http.post("/oauth/register", json={**SERVICE, "scope": "mcp"})
    assert foreign_scope.status_code == 400
    assert foreign_scope.json()["error"] == "invalid_client_metadata"
    created = pep.http.post("/oauth/register", json=SERVICE)
    assert created.status_code == 201, created.text
    client = created.json()
    assert client["client_secret"] and client["scope"] == "authzen:evaluate"
    # the client cannot be used to log a person in
    login = httpx.get(
        f"{world.verifier.url}/oauth/authorize",
        params={"client_id": client["client_id"], "redirect_uri": "https://x.example/cb"},
        timeout=10,
    )
    assert login.status_code == 400
    wrong = _token(world, _basic(client, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert _token(world, {}).status_code == 401
    bad_scope = _token(world, _basic(client), scope="mcp")
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"
    # the right secret, but in the form: this client registered client_secret_basic
    posted = _token(world, {}, client_id=client["client_id"], client_secret=client["client_secret"])
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client", posted.text
    assert "authenticates with client_secret_basic" in posted.json()["error_description"]
    issued = _token(world, _basic(client))
    assert issued.status_code == 200, issued.text
    answer = issued.json()
    assert answer["token_type"] == "Bearer" and answer["scope"] == "authzen:evaluate"
    token = answer["access_token"]

    agent = world.agent("pep-client")
    shop = world.shops["shop1"]
    agent_token, _ = agent.token(shop, "checkout", ORDER)
    allowed = _evaluate(world, token, tool_request(agent_token, shop.resource))
    assert allowed.status_code == 200 and allowed.json()["decision"] is True
    assert allowed.headers["x-request-id"] == "r-1"

    # refusals: an agent's token, a token without the scope, an expired one, a revoked one
    as_pep = _evaluate(world, agent_token, tool_request(agent_token, shop.resource))
    assert as_pep.status_code == 401
    scopeless = _mint(world, client_id=client["client_id"], scope="other")
    refused = _evaluate(world, scopeless, tool_request(agent_token, shop.resource))
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    now = int(time.time())
    expired = _mint(
        world, client_id=client["client_id"], scope="authzen:evaluate", iat=now - 90, exp=now - 30
    )
    late = _evaluate(world, expired, tool_request(agent_token, shop.resource))
    assert late.status_code == 401 and "expired" in late.json()["error_description"]
    unknown = _mint(world, client_id="no-such-client", scope="authzen:evaluate")
    assert _evaluate(world, unknown, tool_request(agent_token, shop.resource)).status_code == 401
    # a confidential client is not authenticated by naming its client_id (RFC 7009 §2.1)
    bare = httpx.post(
        f"{world.verifier.url}/oauth/revoke",
        data={"token": token, "client_id": client["client_id"]},
        timeout=10,
    )
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client", bare.text
    assert _evaluate(world, token, tool_request(agent_token, shop.resource)).status_code == 200
    assert pep.http.post("/oauth/revoke", data={"token": token}).status_code == 200
    revoked = _evaluate(world, token, tool_request(agent_token, shop.resource))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error_description"]
    assert revoked.headers["x-request-id"] == "r-1"
    fresh = _token(world, _basic(client)).json()["access_token"]
    assert _evaluate(world, fresh, tool_request(agent_token, shop.resource)).status_code == 200


def _revoke(world: World, token: str, headers: dict[str, str], **form: str) -> httpx.Response:
    return httpx.post(
        f"{world.verifier.url}/oauth/revoke",
        data={"token": token, **form},
        headers=headers,
        timeout=10,
    )


def test_a_service_client_revokes_its_own_token_with_its_secret(world: World, pep: PEP) -> None:
    """RFC 7009 §2.1: a confidential client authenticates at the revocation endpoint as at the
    token endpoint, and revokes only what was issued to it."""
    mine = pep.http.post("/oauth/register", json=SERVICE).json()
    other = pep.http.post(
        "/oauth/register", json={**SERVICE, "token_endpoint_auth_method": "client_secret_post"}
    ).json()
    agent = world.agent("pep-revoker")
    shop = world.shops["shop1"]
    agent_token, _ = agent.token(shop, "checkout", ORDER)
    body = tool_request(agent_token, shop.resource)
    token = _token(world, _basic(mine)).json()["access_token"]
    assert _evaluate(world, token, body).status_code == 200

    # refused, and the token still works: a wrong secret, another client's credentials, Basic
    # for one client naming another in the form, Basic and client_secret together
    wrong = _revoke(world, token, _basic(mine, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client", wrong.text
    assert wrong.headers["www-authenticate"].startswith("Basic")
    posted_wrong = _revoke(
        world, token, {}, client_id=mine["client_id"], client_secret="not-the-secret"
    )
    assert posted_wrong.status_code == 401 and posted_wrong.json()["error"] == "invalid_client"
    foreign = _revoke(
        world, token, {}, client_id=other["client_id"], client_secret=other["client_secret"]
    )
    assert foreign.status_code == 400, foreign.text
    assert foreign.json()["error"] == "unauthorized_client"
    mixed = _revoke(world, token, _basic(mine), client_id=other["client_id"])
    assert mixed.status_code == 400 and mixed.json()["error"] == "invalid_request", mixed.text
    both = _revoke(world, token, _basic(mine), client_secret=mine["client_secret"])
    assert both.status_code == 400 and both.json()["error"] == "invalid_request", both.text
    malformed = _revoke(world, token, {"Authorization": "Basic !!!"})
    assert malformed.status_code == 401 and malformed.json()["error"] == "invalid_client"
    assert _evaluate(world, token, body).status_code == 200

    # its own credentials revoke it: HTTP Basic, then client_secret_post for a second token
    own = _revoke(world, token, _basic(mine))
    assert own.status_code == 200 and own.content == b"", own.text
    revoked = _evaluate(world, token, body)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error_description"]
    # a client_secret_post client gets its token with the secret in the form, never by Basic
    by_basic = _token(world, _basic(other))
    assert by_basic.status_code == 401 and by_basic.json()["error"] == "invalid_client"
    second = _token(
        world, {}, client_id=other["client_id"], client_secret=other["client_secret"]
    ).json()["access_token"]
    posted = _revoke(
        world, second, {}, client_id=other["client_id"], client_secret=other["client_secret"]
    )
    assert posted.status_code == 200, posted.text
    assert _evaluate(world, second, body).status_code == 401
    # an unknown token is answered 200 and changes nothing (§2.2)
    assert _revoke(world, "not-a-token", _basic(mine)).status_code == 200
