"""The agent -> MCP server dance end to end: the real `wallet-sim agent mcp-call` CLI against the
example MCP server (the `mcp` SDK on both sides), the token agentvp issues, step-up by the human,
and correlation of one verification across two servers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import anyio
import pytest

from tests.mcp.conftest import SHORT_LIFETIME, World, claims_of
from verifier.protocol.oauth.access_token import AUTHORIZATION_DETAILS_TYPE
from verifier.resource import verify_access_token
from wallet_sim.issuer import MandateGrant
from wallet_sim.wallet import WalletError, WalletSimulator

pytestmark = pytest.mark.e2e
AGENT_ID = MandateGrant().agent_id


def mcp_call(world: World, agent: str, server: str, arguments: dict[str, Any]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "wallet_sim.cli",
        "agent",
        "mcp-call",
        "--dir",
        str(world.wallet.path),
        "--agent",
        agent,
        "--server",
        server,
        "--tool",
        "checkout",
        "--args",
        json.dumps(arguments),
        "--wait",
        "30",
    ]


def result_of(stdout: str) -> dict[str, Any]:
    line = next(x for x in stdout.splitlines() if x.startswith("result: "))
    data: dict[str, Any] = json.loads(line.removeprefix("result: "))
    return data


def test_the_cli_calls_the_tool_after_the_dance(world: World) -> None:
    agent = world.agent("cli")
    shop = world.shops["shop1"]
    order = {"order_id": "ord-cli-1", "amount": 8990, "currency": "EUR"}
    done = subprocess.run(
        mcp_call(world, agent.holder.agent, shop.resource, order),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = result_of(done.stdout)
    assert result["status"] == "paid" and result["order_id"] == "ord-cli-1"
    vid = result["verification_id"]
    assert f"checkout order_id=ord-cli-1 amount=8990 currency=EUR verification_id={vid}" in (
        shop.log()
    )


def test_the_token_is_bound_restricted_and_correlatable(world: World) -> None:
    agent = world.agent("claims")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", {"order_id": "o-7", "amount": 100, "currency": "EUR"})
    jwks = world.rp.http.get("/oauth/jwks.json").json()["keys"]
    claims = verify_access_token(
        token, jwks, issuer=world.verifier.url, audience=shop.resource, now=int(time.time())
    )
    jti = claims["mandate_jti"]
    assert claims["cnf"] == {"jkt": agent.key.thumbprint}
    assert claims["aud"] == shop.resource
    assert claims["exp"] - claims["iat"] == 300
    assert claims["act"]["sub"] == claims["client_id"] == AGENT_ID
    assert claims["sub"] == "p-7Hc2qK0v"  # the principal's pairwise id at shop-a.example
    assert claims["authorization_details"] == [
        {
            "type": AUTHORIZATION_DETAILS_TYPE,
            "locations": [shop.resource],
            "action": "commerce.checkout",
            "transaction_id": "o-7",
            "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
            "payment_amount": {"amount": 100, "currency": "EUR"},
            "mandate_jti": jti,
        }
    ]
    audit = world.rp.http.get(f"/v1/agent-verifications/{claims['verification_id']}").json()
    assert audit["decision"] == "allow" and audit["mandate"]["jti"] == jti
    introspected = world.introspect(token)
    assert introspected["active"] is True and introspected["token_type"] == "DPoP"
    assert introspected["verification_id"] == claims["verification_id"]


def test_step_up_is_required_then_approved_by_the_human(world: World) -> None:
    agent = world.agent("stepup")
    shop = world.shops["shop1"]
    order = {"order_id": "ord-big", "amount": 30000, "currency": "EUR"}
    proc = subprocess.Popen(
        mcp_call(world, agent.holder.agent, shop.resource, order),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    link, deadline = "", time.monotonic() + 30
    while not link and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("openid4vp://"):
            link = line.strip()
        elif not line and proc.poll() is not None:
            break
    assert link, (
        f"the agent printed no link for the human: {proc.stderr.read() if proc.stderr else ''}"
    )
    assert "ord-big" not in shop.log()  # nothing happens before the human answers
    human = WalletSimulator(world.wallet, holders=[agent.human])
    try:
        request = human.resolve(link)
        proposal = human.propose(request)
        assert any("300.00 EUR to Shop A" in line for line in proposal.describe())
        human.submit(proposal)
    finally:
        human.http.close()
    out, errors = proc.communicate(timeout=60)
    assert proc.returncode == 0, errors
    result = result_of(out)
    assert result["status"] == "paid" and result["amount"] == 30000
    view = world.rp.http.get(f"/v1/agent-verifications/{result['verification_id']}").json()
    assert view["decision"] == "allow" and view["identity"]["claims"]


def test_two_servers_see_one_verification_id_per_verification(world: World) -> None:
    agent = world.agent("correlate")
    shop1, shop2 = world.shops["shop1"], world.shops["shop2"]
    order = {"order_id": "ord-c1", "amount": 2500, "currency": "EUR"}
    server1, server2 = agent.client.discover(shop1.resource), agent.client.discover(shop2.resource)
    action = agent.client.action(server1, "checkout", order)
    started = agent.client.authorize(server1, action, [shop1.resource, shop2.resource])
    token1 = agent.client.token(server1, started, resource=shop1.resource, on_human=print)
    token2 = agent.client.token(server2, started, resource=shop2.resource, on_human=print)
    assert claims_of(token2)["exp"] - claims_of(token2)["iat"] == SHORT_LIFETIME
    with pytest.raises(WalletError, match="already issued"):
        agent.client.token(server1, started, resource=shop1.resource, on_human=print)
    first = anyio.run(agent.client.call_tool, shop2.resource, token2, "checkout", order)
    second = anyio.run(agent.client.call_tool, shop1.resource, token1, "checkout", order)
    shared = claims_of(token1)["verification_id"]
    assert claims_of(token2)["verification_id"] == shared
    for shop, result in ((shop1, second), (shop2, first)):
        assert result["structuredContent"]["verification_id"] == shared
        assert f"order_id=ord-c1 amount=2500 currency=EUR verification_id={shared}" in shop.log()
    other = {"order_id": "ord-c2", "amount": 1000, "currency": "EUR"}
    token3, _ = agent.token(shop1, "checkout", other)
    third = anyio.run(agent.client.call_tool, shop1.resource, token3, "checkout", other)
    assert third["structuredContent"]["verification_id"] != shared
