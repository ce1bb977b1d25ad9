"""The AP2 world over real HTTP: two `agentvp serve` instances on one store, a served issuer
(status lists), two trusted merchants, a trusted agent provider and the person's wallet."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.conftest import free_port
from tests.e2e.harness import (
    IssuerServer,
    Verifier,
    make_data_dir,
    wallet_with_served_issuers,
)
from verifier.protocol.jose import SigningKey
from verifier.protocol.mandates.ap2_checkout import CHECKOUT_VCT
from verifier.setup.data_dir import IDENTITY_VCT, MANDATE_VCT
from wallet_sim import ap2
from wallet_sim.ap2_agent import ShoppingAgent
from wallet_sim.issuing import issue_credential
from wallet_sim.store import Wallet
from wallet_sim.wallet import WalletSimulator

SHOES = {"id": "m-shoes", "name": "Shoe Shop", "website": "https://shoes.example"}
SOCKS = {"id": "m-socks", "name": "Sock Shop", "website": "https://socks.example"}
CARD = {"id": "card-1", "type": "card", "description": "Card 4242"}
SNEAKER = {"id": "sku-sneaker", "title": "Gold sneaker", "price": 19900}
WOOL = {"id": "sku-wool", "title": "Wool socks", "price": 6000}


@dataclass
class Env:
    data_dir: Path
    wallet: Wallet
    one: Verifier
    two: Verifier
    api_key: str
    merchants: dict[str, SigningKey]
    provider: SigningKey
    agent_key: SigningKey
    credential_id: str
    clients: list[ShoppingAgent] = field(default_factory=list)

    def agent(self, verifier: Verifier | None = None) -> ShoppingAgent:
        agent = ShoppingAgent((verifier or self.one).url, self.api_key, self.agent_key)
        self.clients.append(agent)
        return agent

    def checkout(self, merchant: dict[str, str], item: dict[str, object], qty: int = 1) -> str:
        key = self.merchants[merchant["id"]]
        return ap2.sign_checkout_jwt(key, merchant=merchant, lines=[(item, qty)], currency="EUR")

    def person_answers(self, uri: str) -> None:
        simulator = WalletSimulator(self.wallet, holders={"human"})
        try:
            request = simulator.resolve(uri)
            proposal = simulator.propose(request)
            assert any("Sign AP2 mandates" in line for line in proposal.describe())
            simulator.submit(proposal)
        finally:
            simulator.http.close()


def _trust(
    env_dir: Path, wallet: Wallet, merchants: dict[str, SigningKey], provider: SigningKey
) -> None:
    issuers = []
    for name, vct in (("ekyc", IDENTITY_VCT), ("mandates", MANDATE_VCT)):
        data = wallet.issuer_data(name)
        public = SigningKey.from_jwk(data["key"]).public_jwk
        issuers.append({"iss": data["iss"], "jwks": {"keys": [public]}, "vct": [vct]})
    for merchant in (SHOES, SOCKS):
        key = merchants[merchant["id"]]
        issuers.append(
            {"iss": merchant["website"], "jwks": {"keys": [key.public_jwk]}, "vct": [CHECKOUT_VCT]}
        )
    providers = [{"id": "agents.example", "jwks": {"keys": [provider.public_jwk]}}]
    trust = {"issuers": issuers, "agent_providers": providers}
    (env_dir / "trust.json").write_text(json.dumps(trust))


def _policies(data_dir: Path) -> None:
    """AP2 policies that need a verified human behind the chain (or an unknown framework)."""
    policy_file = data_dir / "policy.yaml"
    policy = yaml.safe_load(policy_file.read_text())
    levels = {"levels": ["low", "substantial", "high"], "min": "substantial"}
    policy["ap2_policies"] = {
        "verified-human": {
            "identity": {
                "accepted_vct": [IDENTITY_VCT],
                "trust_frameworks": {"eidas": levels},
                "required_claims": ["given_name"],
            }
        },
        "other-framework": {
            "identity": {"accepted_vct": [IDENTITY_VCT], "trust_frameworks": {"de_aml": {}}}
        },
        "direct-only": {"modes": ["direct"]},
    }
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))


@contextmanager
def ap2_world(root: Path) -> Iterator[Env]:
    data_dir = root / "data"
    issuer_port = free_port()
    port_one = free_port()
    api_key = make_data_dir(data_dir, f"http://localhost:{port_one}")
    wallet = wallet_with_served_issuers(root, data_dir, issuer_port)
    issuers = IssuerServer(root / "wallet", issuer_port)
    merchants = {m["id"]: SigningKey.generate(kid=f"{m['id']}-1") for m in (SHOES, SOCKS)}
    provider = SigningKey.generate(kid="provider-1")
    _trust(data_dir, wallet, merchants, provider)
    _policies(data_dir)
    credential = issue_credential(wallet, "identity", now=int(time.time()), holder="human")
    settings = {
        "AGENTVP_STATUS_LIST_MAX_AGE": "1",
        "AGENTVP_OUTBOUND_ALLOW_HOSTS": "localhost",
        "AGENTVP_PUBLIC_URL": f"http://localhost:{port_one}",
    }
    env_clients: list[ShoppingAgent] = []
    one = Verifier(data_dir, port_one, dict(settings))
    # Instance two serves the same public URL, as a node behind a load balancer would: a proxy
    # on this machine forwards to its port, which the startup check accepts only with the proxy
    # named (otherwise a loopback public URL on another port is refused as a misconfiguration).
    two = Verifier(data_dir, free_port(), {**settings, "AGENTVP_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        for verifier in (one, two):  # generous: the shared machine is often busy
            verifier.start(timeout=90)
        yield Env(
            data_dir,
            wallet,
            one,
            two,
            api_key,
            merchants,
            provider,
            SigningKey.generate(kid="agent-1"),
            credential.id,
            env_clients,
        )
    finally:
        for client in env_clients:
            client.close()
        one.stop()
        two.stop()
        issuers.stop()
