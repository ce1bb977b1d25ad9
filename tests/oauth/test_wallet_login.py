"""The wallet login over real HTTP, without a browser: registration, the authorization page,
the presentation by `wallet-sim present <href> --yes`, the code exchange (PKCE), Bearer and
DPoP-bound tokens at examples/mcp_shop, refresh rotation and reuse detection."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.mcp.conftest import ACCEPT, claims_of, rpc, tool_call
from tests.oauth.conftest import World

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
    **extra: str,
) -> httpx.Response:
    return world.token(
        grant_type="authorization_code",
        code=answer["code"],
        client_id=client["client_id"],
        redirect_uri=client["redirect_uris"][0],
        code_verifier=verifier,
        resource=resource,
        **extra,
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
