"""The resource side over real HTTP: every way a request to an agentvp-protected MCP server can
be refused, each with its RFC 6750 / RFC 9449 error and the precise check in the description."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.mcp.conftest import Agent, World, challenge, claims_of, rpc, tool_call
from verifier.protocol import SigningKey
from verifier.protocol.oauth.dpop import create_proof
from wallet_sim.wallet import WalletError

pytestmark = pytest.mark.e2e
ORDER = {"order_id": "ord-r1", "amount": 5000, "currency": "EUR"}


def refused(response: httpx.Response, status: int, error: str, code: str) -> None:
    assert response.status_code == status, response.text
    params = challenge(response)
    assert params["error"] == error
    assert params["error_description"].startswith(f"{code}:"), params
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    assert response.json()["error"] == error


@pytest.fixture
def agent(world: World, request: pytest.FixtureRequest) -> Agent:
    return world.agent(request.node.name[5:40])


def test_a_call_without_a_token_gets_the_metadata_challenge(world: World) -> None:
    shop = world.shops["shop1"]
    response = httpx.post(shop.resource, json=rpc("tools/list"), timeout=10)
    assert response.status_code == 401
    params = challenge(response)
    assert "error" not in params  # RFC 6750 §3.1: no error code without credentials
    assert response.json()["error_description"].startswith("token_missing:")
    metadata = httpx.get(params["resource_metadata"], timeout=10).json()
    assert metadata["resource"] == shop.resource
    assert metadata["authorization_servers"] == [world.verifier.url]
    assert metadata["dpop_bound_access_tokens_required"] is False  # wallet-login Bearer tokens
    assert metadata["scopes_supported"] == ["mcp", "mcp:refund"]
    assert metadata["agentvp_tool_bindings"]["checkout"]["action"] == "commerce.checkout"


def test_a_valid_token_and_proof_are_accepted(world: World, agent: Agent) -> None:
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", ORDER)
    response = shop.post(tool_call("checkout", **ORDER), token=token, key=agent.key)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["status"] == "paid"


def test_a_replayed_dpop_proof_is_rejected(world: World, agent: Agent) -> None:
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", ORDER)
    proof = create_proof(
        agent.key, htm="POST", htu=shop.resource, now=int(time.time()), access_token=token
    )
    first = shop.post(rpc("tools/list"), token=token, key=agent.key, proof=proof)
    assert first.status_code == 200, first.text
    again = shop.post(rpc("tools/list"), token=token, key=agent.key, proof=proof)
    refused(again, 401, "invalid_dpop_proof", "dpop_replayed")


def test_a_token_used_without_its_key_is_rejected(world: World, agent: Agent) -> None:
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", ORDER)
    thief = SigningKey.generate()
    stolen = shop.post(tool_call("checkout", **ORDER), token=token, key=thief)
    refused(stolen, 401, "invalid_dpop_proof", "dpop_key_mismatch")
    refused(
        shop.post(rpc("tools/list"), token=token, key=None),
        401,
        "invalid_dpop_proof",
        "dpop_missing",
    )
    bearer = shop.post(rpc("tools/list"), token=token, key=None, scheme="Bearer")
    refused(bearer, 401, "invalid_token", "token_not_dpop")


def test_a_proof_for_another_token_or_uri_is_rejected(world: World, agent: Agent) -> None:
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", ORDER)
    now = int(time.time())
    other_ath = create_proof(agent.key, htm="POST", htu=shop.resource, now=now, access_token="x")
    refused(
        shop.post(rpc("tools/list"), token=token, key=agent.key, proof=other_ath),
        401,
        "invalid_dpop_proof",
        "dpop_ath_mismatch",
    )
    other_uri = create_proof(
        agent.key, htm="POST", htu=shop.resource + "/other", now=now, access_token=token
    )
    refused(
        shop.post(rpc("tools/list"), token=token, key=agent.key, proof=other_uri),
        401,
        "invalid_dpop_proof",
        "dpop_htu_mismatch",
    )
    stale = create_proof(
        agent.key, htm="POST", htu=shop.resource, now=now - 3600, access_token=token
    )
    refused(
        shop.post(rpc("tools/list"), token=token, key=agent.key, proof=stale),
        401,
        "invalid_dpop_proof",
        "dpop_iat_invalid",
    )


def test_a_token_for_another_resource_is_rejected(world: World, agent: Agent) -> None:
    token, _ = agent.token(world.shops["shop1"], "checkout", ORDER)
    elsewhere = world.shops["shop2"]
    response = elsewhere.post(tool_call("checkout", **ORDER), token=token, key=agent.key)
    refused(response, 401, "invalid_token", "token_audience_mismatch")


def test_an_action_beyond_the_authorization_details_is_rejected(world: World, agent: Agent) -> None:
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", ORDER)
    cases = [
        (tool_call("checkout", **{**ORDER, "amount": 5001}), "amount_exceeds_grant"),
        (tool_call("checkout", **{**ORDER, "currency": "USD"}), "value_not_granted"),
        (tool_call("checkout", **{**ORDER, "order_id": "ord-other"}), "value_not_granted"),
        (tool_call("refund", **ORDER), "action_not_granted"),
        (tool_call("checkout", order_id="ord-r1", currency="EUR"), "argument_missing"),
        (tool_call("delete_everything"), "tool_not_bound"),
    ]
    for body, code in cases:
        refused(shop.post(body, token=token, key=agent.key), 403, "insufficient_scope", code)
    # Refused calls did not spend the token; a call within the grant (a lower amount) does.
    ok = shop.post(tool_call("checkout", **{**ORDER, "amount": 4000}), token=token, key=agent.key)
    assert ok.status_code == 200 and ok.json()["result"]["isError"] is False, ok.text
    again = shop.post(tool_call("checkout", **ORDER), token=token, key=agent.key)
    refused(again, 401, "invalid_token", "token_spent")


def test_an_expired_token_is_rejected(world: World, agent: Agent) -> None:
    shop = world.shops["shop2"]  # tokens for shop2 live two seconds, no leeway
    token, _ = agent.token(shop, "checkout", ORDER)
    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == 2
    time.sleep(max(claims["exp"] - time.time(), 0) + 0.2)
    response = shop.post(tool_call("checkout", **ORDER), token=token, key=agent.key)
    refused(response, 401, "invalid_token", "token_expired")


def test_no_token_for_a_dpop_key_that_is_not_the_mandate_key(world: World, agent: Agent) -> None:
    """A relay: someone starts the request with their own key and has the real agent present
    the mandate for it. The agent signs (the action is within its mandate), the verification
    allows, but the token endpoint refuses: the DPoP key is not the mandate's cnf key."""
    shop = world.shops["shop1"]
    server = agent.client.discover(shop.resource)
    action = agent.client.action(server, "checkout", ORDER)
    agent.client.key = SigningKey.generate()  # the relay's key for authorize and token
    started = agent.client.authorize(server, action, [shop.resource])
    with pytest.raises(WalletError) as refused_grant:
        agent.client.token(server, started, resource=shop.resource, on_human=print)
    assert refused_grant.value.error == "invalid_grant"
    assert "not the mandate's cnf key" in str(refused_grant.value)
