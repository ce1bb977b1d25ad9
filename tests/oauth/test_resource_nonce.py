"""Server DPoP nonces end to end (RFC 9449 §8 and §9): a wallet-login token for
`examples/mcp_shop --dpop-required --dpop-nonce`, obtained with the token endpoint's nonce, then
an MCP session through the project's DPoP client (:class:`wallet_sim.mcp_agent.DPoPAuth`), which
retries once on ``use_dpop_nonce`` and keeps the nonce the shop hands out. The token endpoint's
nonce is not the shop's: the two servers issue their own. (The stock ``mcp`` SDK client has no
DPoP, so it cannot call a resource that requires DPoP at all.)"""

from __future__ import annotations

import time

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.mcp.conftest import ACCEPT, rpc
from tests.oauth.conftest import World
from tests.oauth.test_wallet_login import exchange
from verifier.protocol import SigningKey
from verifier.protocol.oauth.dpop import create_proof
from wallet_sim.mcp_agent import DPoPAuth

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
ORDER = {"order_id": "ord-n1", "amount": 1990, "currency": "EUR"}


def dpop_call(url: str, token: str, key: SigningKey, nonce: str | None) -> httpx.Response:
    proof = create_proof(
        key, htm="POST", htu=url, now=int(time.time()), access_token=token, nonce=nonce
    )
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof, "Accept": ACCEPT}
    return httpx.post(url, json=rpc("tools/list"), headers=headers, timeout=10)


async def test_the_shop_wants_its_own_nonce_and_the_dpop_client_retries(world: World) -> None:
    shop = world.shops["nonced"]
    client = world.register()
    answer, verifier = world.login(client, shop.resource)
    key = SigningKey.generate()
    url = f"{world.url}/oauth/token"
    first = exchange(
        world, client, answer, verifier, shop.resource,
        dpop=create_proof(key, htm="POST", htu=url, now=int(time.time())),
    )  # fmt: skip
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    as_nonce = first.headers["dpop-nonce"]
    proof = create_proof(key, htm="POST", htu=url, now=int(time.time()), nonce=as_nonce)
    issued = exchange(world, client, answer, verifier, shop.resource, dpop=proof)
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]

    missing = dpop_call(shop.resource, token, key, None)
    assert missing.status_code == 401 and missing.json()["error"] == "use_dpop_nonce"
    assert 'DPoP error="use_dpop_nonce"' in missing.headers["www-authenticate"]
    shop_nonce = missing.headers["dpop-nonce"]
    assert shop_nonce != as_nonce
    foreign = dpop_call(shop.resource, token, key, as_nonce)  # the token endpoint's nonce
    assert foreign.status_code == 401 and "dpop_nonce_invalid" in foreign.text
    forged = dpop_call(shop.resource, token, key, shop_nonce[::-1])
    assert forged.status_code == 401 and "dpop_nonce_invalid" in forged.text
    listed = dpop_call(shop.resource, token, key, shop_nonce)
    assert listed.status_code == 200, listed.text
    assert listed.headers["dpop-nonce"]  # the current nonce, for the next proof

    auth = DPoPAuth(key, token)  # knows no nonce yet: its first request is refused, retried
    async with (
        httpx.AsyncClient(auth=auth, timeout=30, trust_env=False) as http,
        streamable_http_client(shop.resource, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("checkout", ORDER)
    assert not result.isError, result
    assert auth.nonce and auth.refusals == []
    assert auth.nonce_retries == 1  # the first request only: later proofs carry the nonce
