"""One world for the AuthZEN and SSF tests, over real HTTP: `agentvp serve` (SQLite, status lists
checked every second, grants watched every second), the simulator's issuer server and one
`examples/mcp_shop` server, as in tests/mcp, subscribed to agentvp's Shared Signals. Each test
makes its own agent (fresh mandate)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.e2e.harness import (
    RP,
    IssuerServer,
    make_data_dir,
    start_verifier,
    trust_issuer_keys,
    wallet_with_served_issuers,
)
from tests.mcp.conftest import POLICY, World, _policy, start_shop

WATCH = 1


class PEP:
    """A policy enforcement point: the AuthZEN client side with its API key."""

    def __init__(self, base: str, api_key: str) -> None:
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=20
        )

    def evaluate(self, body: Any, **headers: str) -> httpx.Response:
        return self.http.post("/access/v1/evaluation", json=body, headers=headers)

    def evaluations(self, body: Any, **headers: str) -> httpx.Response:
        return self.http.post("/access/v1/evaluations", json=body, headers=headers)


def tool_request(token: str, server: str, **context: Any) -> dict[str, Any]:
    """The contract's MCP tool-call evaluation."""
    return {
        "subject": {"type": "token", "id": token},
        "action": {"name": "tools/call"},
        "resource": {"type": "tool", "id": "checkout", "properties": {"server": server}},
        "context": context,
    }


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("authzen")
    vport, iport, port1 = free_port(), free_port(), free_port()
    data = root / "verifier"
    key = make_data_dir(data, f"http://localhost:{vport}")
    wallet = wallet_with_served_issuers(root, data, iport)
    trust_issuer_keys(wallet, data)
    policy = yaml.safe_load((data / "policy.yaml").read_text())
    policy["policies"][POLICY] = _policy(wallet)
    policy["resources"] = {f"http://127.0.0.1:{port1}/mcp": {"policy": POLICY}}
    (data / "policy.yaml").write_text(yaml.safe_dump(policy))
    issuers = IssuerServer(wallet.path, iport)
    verifier = start_verifier(
        data,
        port=vport,
        outbound_allow_hosts="localhost,127.0.0.1",
        status_list_max_age="1",
        agent_poll_interval="1",
        grant_watch_interval=str(WATCH),
    )
    world = World(root, verifier, RP(verifier.url, key), wallet, issuers)
    try:
        world.shops["shop1"] = start_shop(
            root, "shop1", verifier.url, port1, f"--ssf-api-key={key}", "--signals-interval", "0.2"
        )
        yield world
    finally:
        world.stop()


@pytest.fixture(scope="package")
def pep(world: World) -> Iterator[PEP]:
    client = PEP(world.verifier.url, world.rp.http.headers["authorization"].split(" ", 1)[1])
    yield client
    client.http.close()
