"""One world for the MCP tests, over real HTTP: `agentvp serve` (SQLite, status lists checked),
the simulator's issuer server (Token Status Lists), and two `examples/mcp_shop` servers - shop1
with the default token lifetime, shop2 with two-second tokens and no clock leeway - both guarded
by the policy `mcp-checkout` (the human steps up above 250 EUR). Each test gets its own human and
agent (fresh identity and mandate), so uses, budgets and revocations never leak between tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.e2e.harness import (
    RP,
    IssuerServer,
    Verifier,
    make_data_dir,
    start_verifier,
    trust_issuer_keys,
    wallet_with_served_issuers,
)
from verifier.protocol import SigningKey
from verifier.protocol.jose import b64url_decode
from verifier.protocol.oauth.dpop import create_proof
from verifier.setup.data_dir import default_policies
from wallet_sim.agent import AgentHolder
from wallet_sim.issuer import MandateGrant
from wallet_sim.issuing import issue_credential
from wallet_sim.mcp_agent import McpAgent
from wallet_sim.store import StoredCredential, Wallet

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "mcp_shop" / "server.py"
POLICY = "mcp-checkout"
SHORT_LIFETIME = 2
ACCEPT = "application/json, text/event-stream"
_PARAM = re.compile(r'(\w+)="([^"]*)"')


def challenge(response: httpx.Response) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate: DPoP ...`` header."""
    value = response.headers.get("www-authenticate", "")
    assert value.startswith("DPoP "), value
    return dict(_PARAM.findall(value))


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (tests look inside tokens they already checked)."""
    data: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return data


def rpc(method: str, params: dict[str, Any] | None = None, rpc_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params or {}}


def tool_call(tool: str, **arguments: Any) -> dict[str, Any]:
    return rpc("tools/call", {"name": tool, "arguments": arguments})


@dataclass
class Shop:
    name: str
    port: int
    resource: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post(
        self,
        body: Any,
        *,
        token: str,
        key: SigningKey | None,
        proof: str | None = None,
        scheme: str = "DPoP",
    ) -> httpx.Response:
        """A raw JSON-RPC POST with a token and (unless ``key`` is None) a fresh DPoP proof."""
        headers = {"Authorization": f"{scheme} {token}", "Accept": ACCEPT}
        if proof is None and key is not None:
            proof = create_proof(
                key, htm="POST", htu=self.resource, now=int(time.time()), access_token=token
            )
        if proof is not None:
            headers["DPoP"] = proof
        return httpx.post(self.resource, json=body, headers=headers, timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_shop(root: Path, name: str, agentvp: str, port: int, *extra: str) -> Shop:
    log_path = root / f"{name}.log"
    with log_path.open("ab") as out:
        argv = [sys.executable, str(SHOP), "--agentvp", agentvp, "--port", str(port)]
        proc = subprocess.Popen(
            [*argv, "--name", name, *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    shop = Shop(name, port, f"http://127.0.0.1:{port}/mcp", proc, log_path)
    deadline = time.monotonic() + 20
    while True:
        try:
            url = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
            if httpx.get(url, timeout=1).status_code == 200:
                return shop
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start: {shop.log()[-2000:]}")
        time.sleep(0.05)


@dataclass
class Agent:
    """One test's agent: its holder (wallet, key), mandate and the MCP client side."""

    holder: AgentHolder
    mandate: StoredCredential
    client: McpAgent
    human: str

    @property
    def key(self) -> SigningKey:
        return self.holder.wallet.key(self.holder.agent)

    def token(
        self,
        shop: Shop,
        tool: str,
        arguments: dict[str, Any],
        *,
        resources: list[str] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The dance without the final call: discovery, authorize, present, poll."""
        server = self.client.discover(shop.resource)
        action = self.client.action(server, tool, arguments)
        started = self.client.authorize(server, action, resources or [server.resource])
        token = self.client.token(server, started, resource=shop.resource, on_human=_no_human)
        return token, started


def _no_human(link: str) -> None:
    raise AssertionError(f"unexpected step-up: {link}")


@dataclass
class World:
    root: Path
    verifier: Verifier
    rp: RP
    wallet: Wallet
    issuers: IssuerServer
    shops: dict[str, Shop] = field(default_factory=dict)
    agents: list[Agent] = field(default_factory=list)

    def agent(self, name: str, grant: MandateGrant | None = None) -> Agent:
        now = int(time.time())
        issue_credential(self.wallet, "identity", now=now, holder=f"human-{name}")
        mandate = issue_credential(
            self.wallet,
            "mandate",
            now=now,
            holder=f"agent-{name}",
            principal=f"human-{name}",
            grant=grant or MandateGrant(max_amount=50_000, budget=None),
        )
        holder = AgentHolder(self.wallet, agent=f"agent-{name}")
        agent = Agent(holder, mandate, McpAgent(holder, say=lambda _: None), f"human-{name}")
        self.agents.append(agent)
        return agent

    def introspect(self, token: str) -> dict[str, Any]:
        response = self.rp.http.post("/oauth/introspect", data={"token": token})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def stop(self) -> None:
        for agent in self.agents:
            agent.holder.http.close()
        for shop in self.shops.values():
            shop.stop()
        self.rp.close()
        self.verifier.stop()
        self.issuers.stop()


def _policy(wallet: Wallet) -> dict[str, Any]:
    rules: dict[str, Any] = default_policies()["shop-checkout"]
    rules["mandate"]["status_required"] = True
    rules["mandate"]["accepted_issuers"] = [wallet.issuer_data("mandates")["iss"]]
    rules["identity"]["accepted_issuers"] = [wallet.issuer_data("ekyc")["iss"]]
    rules["identity"]["required_when"] = [{"amount_minor_gt": 25000}]
    return rules


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("mcp")
    vport, iport, port1, port2 = free_port(), free_port(), free_port(), free_port()
    data = root / "verifier"
    key = make_data_dir(data, f"http://localhost:{vport}")
    wallet = wallet_with_served_issuers(root, data, iport)
    trust_issuer_keys(wallet, data)
    policy = yaml.safe_load((data / "policy.yaml").read_text())
    policy["policies"][POLICY] = _policy(wallet)
    policy["resources"] = {
        f"http://127.0.0.1:{port1}/mcp": {"policy": POLICY},
        f"http://127.0.0.1:{port2}/mcp": {"policy": POLICY, "token_lifetime": SHORT_LIFETIME},
    }
    (data / "policy.yaml").write_text(yaml.safe_dump(policy))
    issuers = IssuerServer(wallet.path, iport)
    verifier = start_verifier(
        data,
        port=vport,
        outbound_allow_hosts="localhost,127.0.0.1",
        status_list_max_age="1",
        agent_poll_interval="1",
    )
    world = World(root, verifier, RP(verifier.url, key), wallet, issuers)
    try:
        world.shops["shop1"] = start_shop(root, "shop1", verifier.url, port1)
        world.shops["shop2"] = start_shop(root, "shop2", verifier.url, port2, "--leeway", "0")
        yield world
    finally:
        world.stop()
