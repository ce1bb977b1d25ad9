"""SIOPv2 self-issued ID token logins (`self_issued_login`), over real HTTP.

The login page of a resource whose policy asks for no identity and that sets
`self_issued_login` opens a `response_type=id_token` request; `wallet-sim present <href> --yes`
answers it with an ID token signed by the person's key; the grant's `sub` is pairwise over that
key (the same as a credential login of that person at that client) and has no `acr`. Forged
ID tokens (signature, `sub` not the key's thumbprint, `iss` != `sub`, `aud`, `nonce`, expired,
missing) end in `access_denied` naming the check; resources that need an identity refuse a bare
ID token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.mcp.conftest import claims_of
from tests.oauth.conftest import NO_IDENTITY, SELF_ISSUED, World, attr, pkce
from tests.oauth.test_wallet_login import exchange
from verifier.protocol import SigningKey
from verifier.protocol.oid4vp.siop import thumbprint_subject
from verifier.protocol.oid4vp.wallet_request import RequestObject
from wallet_sim.store import Wallet
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e


def token_of(world: World, resource: str, scope: str | None = None) -> dict[str, Any]:
    client = world.register()
    answer, verifier = world.login(client, resource, scope=scope)
    response = exchange(world, client, answer, verifier, resource)
    assert response.status_code == 200, response.text
    return {"client": client, **response.json()}


def test_a_self_issued_id_token_logs_in(world: World) -> None:
    body = token_of(world, SELF_ISSUED)
    claims = claims_of(body["access_token"])
    assert claims["aud"] == SELF_ISSUED and claims["scope"] == "mcp"
    assert "acr" not in claims and claims["sub"] and claims["auth_time"]
    assert world.introspect(body["access_token"])["active"] is True
    # The same person (key) at the same client: the same pairwise sub as a credential login.
    client = body["client"]
    shop = world.shops["shop"].resource
    answer, verifier = world.login(client, shop)
    credential = exchange(world, client, answer, verifier, shop).json()
    assert claims_of(credential["access_token"])["sub"] == claims["sub"]


def test_a_step_up_scope_of_a_self_issued_resource_needs_the_credential(world: World) -> None:
    body = token_of(world, SELF_ISSUED, scope="mcp mcp:verified")
    claims = claims_of(body["access_token"])
    assert claims["scope"] == "mcp mcp:verified" and claims["acr"]  # the identity's level


def test_the_login_page_asks_for_an_id_token_alone(world: World) -> None:
    link = page_link(world, world.register(), SELF_ISSUED)[0]
    request = resolve(world, link)
    assert request.response_type == "id_token" and request.dcql_query is None
    assert "dcql_query" not in request.claims and request.claims["scope"] == "openid"


def test_a_resource_without_self_issued_login_and_identity_has_no_login(world: World) -> None:
    client = world.register()
    _, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": client["redirect_uris"][0],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": NO_IDENTITY,
    }
    page = httpx.get(f"{world.url}/oauth/authorize", params=params, timeout=10)
    assert page.status_code == 302
    assert parse_qs(urlsplit(page.headers["location"]).query)["error"] == ["invalid_target"]


# ------------------------------------------------------------------ forged answers


def page_link(world: World, client: dict[str, Any], resource: str) -> tuple[str, str]:
    """The login page's wallet link and login id."""
    _, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": client["redirect_uris"][0],
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": resource,
    }
    page = httpx.get(f"{world.url}/oauth/authorize", params=params, timeout=10)
    assert page.status_code == 200, page.text
    return attr(page.text, 'id="wallet-link"', "href"), attr(page.text, 'id="main"', "data-login")


def resolve(world: World, link: str) -> RequestObject:
    simulator = WalletSimulator(Wallet.open(world.wallet_dir))
    try:
        return simulator.resolve(link)
    finally:
        simulator.http.close()


Forge = Callable[[SigningKey, RequestObject], dict[str, Any]]


def id_token(
    key: SigningKey, request: RequestObject, signer: SigningKey | None = None, **changes: Any
) -> dict[str, Any]:
    sub = thumbprint_subject(dict(key.public_key.jwk))
    now = int(time.time())
    claims = {
        "iss": sub,
        "sub": sub,
        "sub_jwk": dict(key.public_key.jwk),
        "aud": request.client_id,
        "nonce": request.nonce,
        "iat": now,
        "exp": now + 300,
        **changes,
    }
    return {"id_token": (signer or key).sign_jws({"alg": "ES256", "typ": "JWT"}, claims)}


OTHER = SigningKey.generate()
FORGED: dict[str, Forge] = {
    "id_token_signature_invalid": lambda k, r: id_token(k, r, signer=OTHER),
    "id_token_sub_mismatch": lambda k, r: id_token(
        k,
        r,
        iss=thumbprint_subject(dict(OTHER.public_key.jwk)),
        sub=thumbprint_subject(dict(OTHER.public_key.jwk)),
    ),
    "id_token_not_self_issued": lambda k, r: id_token(k, r, iss="https://op.example"),
    "id_token_aud_mismatch": lambda k, r: id_token(k, r, aud="https://someone-else.example"),
    "id_token_nonce_mismatch": lambda k, r: id_token(k, r, nonce="not-the-nonce"),
    "id_token_expired": lambda k, r: id_token(
        k, r, iat=int(time.time()) - 900, exp=int(time.time()) - 600
    ),
    "id_token_missing": lambda k, r: {"vp_token": {"identity": ["x"]}},
}


@pytest.mark.parametrize("check", sorted(FORGED))
def test_a_forged_id_token_is_refused(world: World, check: str) -> None:
    client = world.register()
    link, login_id = page_link(world, client, SELF_ISSUED)
    wallet = Wallet.open(world.wallet_dir)
    simulator = WalletSimulator(wallet)
    try:
        request = simulator.resolve(link)
        simulator._submit(request, FORGED[check](wallet.key("human"), request))
    finally:
        simulator.http.close()
    view = world.poll(login_id)
    assert view["status"] == "rejected", view
    answer = parse_qs(urlsplit(view["redirect"]).query)
    assert answer["error"] == ["access_denied"]
    assert check in answer["error_description"][0], answer


def test_a_bare_id_token_does_not_log_in_where_an_identity_is_needed(world: World) -> None:
    client = world.register()
    link, login_id = page_link(world, client, world.shops["shop"].resource)
    wallet = Wallet.open(world.wallet_dir)
    simulator = WalletSimulator(wallet)
    try:
        request = simulator.resolve(link)
        assert request.response_type == "vp_token"
        simulator._submit(request, id_token(wallet.key("human"), request))
    finally:
        simulator.http.close()
    view = world.poll(login_id)
    assert view["status"] == "rejected", view
    assert (
        "malformed_response" in parse_qs(urlsplit(view["redirect"]).query)["error_description"][0]
    )
