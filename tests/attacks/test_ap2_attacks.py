"""AP2 attacks over real HTTP (`agentvp serve` x2 on one store): each malicious verification
gets its precise reason code and changes nothing - the open mandate's counters stay as they
were (read from the store) and an honest payment afterwards still gets the whole budget.

The AP2 world has its own trust (merchants, an agent provider), so these cases live beside the
corpus rather than in ``harness.World``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.ap2_env import CARD, SHOES, SNEAKER, SOCKS, WOOL, Env, ap2_world
from verifier.protocol.jose import SigningKey, hash_b64
from verifier.protocol.sdjwt.delegation import parse_unverified_segment
from verifier.store import open_store
from wallet_sim import ap2

pytestmark = pytest.mark.e2e
BUDGET_MINOR = 50000


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with ap2_world(tmp_path_factory.mktemp("ap2-attacks")) as world:
        yield world


class Mandate:
    """An agent provider's open payment mandate for the agent, and the agent's closing."""

    def __init__(self, env: Env, **options: Any) -> None:
        self.env = env
        settings: dict[str, Any] = {
            "amount_max": 25000,
            "currency": "EUR",
            "budget": BUDGET_MINOR / 100,
            "payees": [SHOES, SOCKS],
            "instruments": [CARD],
            "recurrence": {"frequency": "ON_DEMAND", "max_occurrences": 10},
            **options,
        }
        self.item = ap2.open_payment(env.agent_key.public_jwk, **settings)
        self.root = ap2.provider_root(env.provider, [self.item]).full()

    def counters(self) -> dict[str, int]:
        segment = parse_unverified_segment(self.root)
        key = "ap2:open:" + hash_b64(f"{segment.issuer_jwt}.{segment.items[0].digest}")
        store = open_store(f"sqlite:///{self.env.data_dir / 'agentvp.db'}")

        async def read() -> dict[str, int]:
            try:
                return await store.get_counters(key)
            finally:
                await store.close()

        return asyncio.run(read())

    def chain(
        self,
        challenge: dict[str, Any],
        checkout_jwt: str,
        *,
        amount: int = 19900,
        key: SigningKey | None = None,
        root: str | None = None,
    ) -> str:
        closed = ap2.closed_payment(
            checkout_jwt, payee=SHOES, amount=amount, currency="EUR", instrument=CARD
        )
        shown = root or self.root
        leaf = ap2.sign_hop(
            shown,
            key or self.env.agent_key,
            [closed],
            aud=challenge["aud"],
            nonce=challenge["nonce"],
            iat=int(time.time()),
        )
        return ap2.present(shown, leaf.full())

    def pay(self, checkout_jwt: str, **options: Any) -> dict[str, Any]:
        agent = self.env.agent()
        challenge = agent.challenge()
        mandate = self.chain(challenge, checkout_jwt, **options)
        return agent.verify(
            challenge_id=challenge["id"], mandate=mandate, checkout_jwt=checkout_jwt
        )


def _codes(result: dict[str, Any]) -> list[str]:
    assert result["decision"] == "reject"
    return [r["code"] for r in result["reasons"]]


def test_forged_checkout_jwt(env: Env) -> None:
    mandate = Mandate(env)
    forged = ap2.sign_checkout_jwt(
        SigningKey.generate(kid="m-shoes-1"), merchant=SHOES, lines=[(SNEAKER, 1)]
    )
    assert _codes(mandate.pay(forged)) == ["checkout_signature_invalid"]
    assert mandate.counters() == {}


def test_replayed_chain_under_a_new_challenge(env: Env) -> None:
    mandate = Mandate(env)
    agent = env.agent()
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    first = agent.challenge()
    chain = mandate.chain(first, checkout_jwt)
    assert agent.verify(challenge_id=first["id"], mandate=chain)["decision"] == "accept"
    before = mandate.counters()
    second = agent.challenge()
    assert _codes(agent.verify(challenge_id=second["id"], mandate=chain)) == ["hop_nonce_mismatch"]
    assert mandate.counters() == before


def test_closed_mandate_moved_onto_another_open_mandate(env: Env) -> None:
    rich, poor = Mandate(env), Mandate(env, amount_max=100)
    agent = env.agent()
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    challenge = agent.challenge()
    leaf = rich.chain(challenge, checkout_jwt).split("~~")[1]
    grafted = poor.root[:-1] + "~~" + leaf
    assert _codes(agent.verify(challenge_id=challenge["id"], mandate=grafted)) == [
        "hop_binding_mismatch"
    ]
    assert poor.counters() == {} and rich.counters() == {}


def test_agent_signs_its_own_root(env: Env) -> None:
    mandate = Mandate(env)
    self_made = ap2.provider_root(env.agent_key, [mandate.item]).full()
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    assert _codes(mandate.pay(checkout_jwt, root=self_made)) == ["root_untrusted"]


def test_agent_withholds_a_restriction(env: Env) -> None:
    mandate = Mandate(env, amount_max=10**9)
    low = {"type": "payment.amount_range", "currency": "EUR", "max": 100}
    mandate.item.content["constraints"] += mandate.item.sd_array([low])
    root = ap2.provider_root(env.provider, [mandate.item])
    kept = [n[0] for n in mandate.item.nested if n[2] in (SHOES, CARD)]
    mandate.root = root.only(0, keep=kept)
    assert _codes(mandate.pay(env.checkout(SHOES, SNEAKER))) == ["mandate_restriction_undisclosed"]
    assert mandate.counters() == {}


def test_hop_signed_with_another_key(env: Env) -> None:
    mandate = Mandate(env)
    result = mandate.pay(env.checkout(SHOES, SNEAKER), key=SigningKey.generate(kid="agent-1"))
    assert _codes(result) == ["hop_signature_invalid"]
    assert mandate.counters() == {}


def test_unknown_and_used_challenges(env: Env) -> None:
    mandate = Mandate(env)
    agent = env.agent()
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    challenge = agent.challenge()
    chain = mandate.chain(challenge, checkout_jwt)
    assert _codes(agent.verify(challenge_id="made-up", mandate=chain)) == ["challenge_unknown"]
    assert agent.verify(challenge_id=challenge["id"], mandate=chain)["decision"] == "accept"
    assert _codes(agent.verify(challenge_id=challenge["id"], mandate=chain)) == ["challenge_used"]
    assert mandate.counters()["uses"] == 1


def test_oversized_and_malformed_bodies(env: Env) -> None:
    agent = env.agent()
    challenge = agent.challenge()
    url = f"{env.one.url}/v1/ap2/verifications"
    huge = {"challenge_id": challenge["id"], "mandate": "a" * (300 * 1024)}
    assert agent.http.post(url, json=huge, headers=agent.headers).status_code in (400, 413)
    extra = {"challenge_id": challenge["id"], "mandate": "x~", "evil": 1}
    response = agent.http.post(url, json=extra, headers=agent.headers)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    no_auth = agent.http.post(url, json={"challenge_id": "x", "mandate": "y~"})
    assert no_auth.status_code == 401
    # none of these used the challenge
    mandate = Mandate(env)
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    chain = mandate.chain(challenge, checkout_jwt)
    assert agent.verify(challenge_id=challenge["id"], mandate=chain)["decision"] == "accept"


def test_concurrent_spending_never_exceeds_the_budget(env: Env) -> None:
    """Twelve payments of 100 EUR on two instances at once, budget 500 EUR: exactly five."""
    mandate = Mandate(env)
    checkout_jwt = env.checkout(SOCKS, WOOL)

    def attempt(index: int) -> str:
        agent = env.agent(env.one if index % 2 else env.two)
        challenge = agent.challenge()
        chain = mandate.chain(challenge, checkout_jwt, amount=10000)
        return str(agent.verify(challenge_id=challenge["id"], mandate=chain)["decision"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        decisions = list(pool.map(attempt, range(12)))
    assert decisions.count("accept") == 5
    assert mandate.counters()["spent"] == BUDGET_MINOR
