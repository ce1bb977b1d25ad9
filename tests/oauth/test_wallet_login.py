"""The wallet login over real HTTP, without a browser: registration, the authorization page,
the presentation by `wallet-sim present <href> --yes`, the code exchange (PKCE), Bearer and
DPoP-bound tokens at examples/mcp_shop, refresh rotation and reuse detection."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.mcp.conftest import ACCEPT, claims_of, rpc, tool_call
from tests.oauth.conftest import DPOP_ONLY, World, attr, pkce, wallet_sim
from verifier.protocol import SigningKey
from verifier.protocol.oauth.dpop import create_proof

pytestmark = pytest.mark.e2e
ORDER = {"order_id": "ord-w1", "amount": 12990, "currency": "EUR"}


def call(
    shop_url: str, body: Any, token: str, *, scheme: str = "Bearer", **headers: str
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}", "Accept": ACCEPT, **headers}
    return httpx.post(shop_url, json=body, headers=headers, timeout=10)


def exchange(
    world: World,
    client: dict[str, Any],
    answer: dict[str, str],
    verifier: str,
    resource: str,
    *,
    dpop: str | None = None,
) -> httpx.Response:
    return world.token(
        dpop,
        grant_type="authorization_code",
        code=answer["code"],
        client_id=client["client_id"],
        redirect_uri=client["redirect_uris"][0],
        code_verifier=verifier,
        resource=resource,
    )


def test_bearer_login_token_calls_checkout(world: World) -> None:
    shop = world.shops["shop"]
    client = world.register()
    answer, verifier = world.login(client, shop.resource)
    assert answer["iss"] == world.url
    response = exchange(world, client, answer, verifier, shop.resource)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "mcp"
    claims = claims_of(body["access_token"])
    assert claims["aud"] == shop.resource and claims["client_id"] == client["client_id"]
    assert "cnf" not in claims and claims["acr"] and claims["sub"]
    listed = call(shop.resource, rpc("tools/list"), body["access_token"])
    assert listed.status_code == 200, listed.text
    paid = call(shop.resource, tool_call("checkout", **ORDER), body["access_token"])
    assert paid.status_code == 200, paid.text
    assert json.loads(paid.json()["result"]["content"][0]["text"])["status"] == "paid"


def test_dpop_bound_login_token(world: World) -> None:
    shop = world.shops["shop"]
    client = world.register()
    answer, verifier = world.login(client, shop.resource)
    key = SigningKey.generate()
    proof = create_proof(key, htm="POST", htu=f"{world.url}/oauth/token", now=int(time.time()))
    response = exchange(world, client, answer, verifier, shop.resource, dpop=proof)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    token = body["access_token"]
    assert claims_of(token)["cnf"] == {"jkt": key.thumbprint}
    as_bearer = call(shop.resource, rpc("tools/list"), token)
    assert as_bearer.status_code == 401 and "token_not_dpop" in as_bearer.text
    no_proof = call(shop.resource, rpc("tools/list"), token, scheme="DPoP")
    assert no_proof.status_code == 401 and "dpop_missing" in no_proof.text
    proof = create_proof(
        key, htm="POST", htu=shop.resource, now=int(time.time()), access_token=token
    )
    paid = call(shop.resource, tool_call("checkout", **ORDER), token, scheme="DPoP", DPoP=proof)
    assert paid.status_code == 200, paid.text
    # the refresh token is bound to the same key (RFC 9449 §5)
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    refresh["client_id"] = client["client_id"]
    unproven = world.token(**refresh)
    assert unproven.status_code == 400 and unproven.json()["error"] == "invalid_dpop_proof"
    proof = create_proof(key, htm="POST", htu=f"{world.url}/oauth/token", now=int(time.time()))
    rotated = world.token(proof, **refresh)
    assert rotated.status_code == 200, rotated.text
    assert claims_of(rotated.json()["access_token"])["cnf"] == {"jkt": key.thumbprint}


def test_a_resource_that_requires_dpop_refuses_a_bearer_exchange(world: World) -> None:
    client = world.register()
    answer, verifier = world.login(client, DPOP_ONLY)
    bearer = exchange(world, client, answer, verifier, DPOP_ONLY)
    assert bearer.status_code == 400 and bearer.json()["error"] == "invalid_dpop_proof"
    # this resource also wants a server nonce in the proof (RFC 9449 §8)
    key = SigningKey.generate()
    url = f"{world.url}/oauth/token"
    first = exchange(
        world, client, answer, verifier, DPOP_ONLY,
        dpop=create_proof(key, htm="POST", htu=url, now=int(time.time())),
    )  # fmt: skip
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["dpop-nonce"]
    wrong = create_proof(key, htm="POST", htu=url, now=int(time.time()), nonce="made-up")
    assert exchange(world, client, answer, verifier, DPOP_ONLY, dpop=wrong).status_code == 400
    proof = create_proof(key, htm="POST", htu=url, now=int(time.time()), nonce=nonce)
    bound = exchange(world, client, answer, verifier, DPOP_ONLY, dpop=proof)  # code unspent
    assert bound.status_code == 200, bound.text
    assert bound.json()["token_type"] == "DPoP"


def test_refresh_rotates_and_reuse_revokes_the_family(world: World) -> None:
    shop = world.shops["shop"]
    client = world.register()
    answer, verifier = world.login(client, shop.resource)
    first = exchange(world, client, answer, verifier, shop.resource).json()
    form = {"grant_type": "refresh_token", "client_id": client["client_id"]}
    second = world.token(**form, refresh_token=first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.headers["cache-control"] == "no-store"
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"] and rotated["scope"] == "mcp"
    assert claims_of(rotated["access_token"])["sub"] == claims_of(first["access_token"])["sub"]
    seen = world.introspect(rotated["access_token"])
    assert seen["active"] is True and seen["token_type"] == "Bearer"
    assert seen["aud"] == shop.resource and seen["scope"] == "mcp"
    replay = world.token(**form, refresh_token=first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    revoked = world.token(**form, refresh_token=rotated["refresh_token"])
    assert revoked.status_code == 400 and "revoked" in revoked.json()["error_description"]
    # the login is over: its access tokens are no longer active at introspection
    assert world.introspect(rotated["access_token"]) == {"active": False}
    assert world.introspect(first["access_token"]) == {"active": False}
    assert world.introspect("not-a-token") == {"active": False}


def test_sub_is_pairwise_per_person_and_client(world: World) -> None:
    shop = world.shops["shop"]
    one, two = world.register(), world.register()
    subs = []
    for client in (one, one, two):
        answer, verifier = world.login(client, shop.resource)
        body = exchange(world, client, answer, verifier, shop.resource).json()
        subs.append(claims_of(body["access_token"])["sub"])
    assert subs[0] == subs[1] != subs[2]


def test_a_declined_presentation_goes_back_as_access_denied(world: World) -> None:
    shop = world.shops["shop"]
    client = world.register()
    _, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": client["redirect_uris"][0],
        "state": "st-declined",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": shop.resource,
    }
    page = httpx.get(f"{world.url}/oauth/authorize", params=params, timeout=10).text
    link = attr(page, 'id="wallet-link"', "href")
    declined = wallet_sim("present", link, "--decline", wallet=world.wallet_dir)
    assert declined.returncode == 0, declined.stdout + declined.stderr
    view = world.poll(attr(page, 'id="main"', "data-login"))
    assert view["status"] == "rejected", view
    answer = {k: v[0] for k, v in parse_qs(urlsplit(view["redirect"]).query).items()}
    assert answer["error"] == "access_denied" and answer["state"] == "st-declined"
    assert answer["iss"] == world.url and "code" not in answer


def test_a_step_up_scope_needs_its_own_identity_rules(world: World) -> None:
    shop = world.shops["stepup"]
    client = world.register()
    answer, verifier = world.login(client, shop.resource, scope="mcp mcp:refund")
    body = exchange(world, client, answer, verifier, shop.resource).json()
    assert body["scope"] == "mcp mcp:refund"  # the strict rules (nationality, level high) held
    denied, _ = world.login(client, shop.resource, scope="mcp mcp:admin", expect="rejected")
    assert denied["error"] == "access_denied" and "code" not in denied
    assert "framework_not_accepted" in denied["error_description"]
