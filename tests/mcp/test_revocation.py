"""What happens to access after the fact: a revoked mandate gets no new token (`access_denied`)
and its earlier tokens introspect as inactive; a mandate whose uses are spent by later actions
deactivates the earlier tokens too; introspection is for relying parties only."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.mcp.conftest import World
from wallet_sim.issuer import MandateGrant
from wallet_sim.issuing import set_credential_status
from wallet_sim.wallet import WalletError

pytestmark = pytest.mark.e2e


def order(n: int) -> dict[str, object]:
    return {"order_id": f"ord-{n}", "amount": 1000, "currency": "EUR"}


def test_a_revoked_mandate_is_denied_and_its_tokens_turn_inactive(world: World) -> None:
    agent = world.agent("revoked")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", order(1))
    assert world.introspect(token)["active"] is True
    set_credential_status(world.wallet, agent.mandate.id, "revoked")
    time.sleep(1.2)  # the verifier caches status lists for a second in this world
    assert world.introspect(token) == {"active": False}
    with pytest.raises(WalletError) as denied:
        agent.token(shop, "checkout", order(2))
    assert denied.value.error == "access_denied"
    assert "mandate_revoked" in str(denied.value)


def test_tokens_turn_inactive_once_later_actions_spend_the_mandate(world: World) -> None:
    agent = world.agent("spent", MandateGrant(max_amount=50_000, budget=None, max_uses=2))
    shop = world.shops["shop1"]
    first, _ = agent.token(shop, "checkout", order(1))
    assert world.introspect(first)["active"] is True
    last, _ = agent.token(shop, "checkout", order(2))
    assert world.introspect(first) == {"active": False}
    assert world.introspect(last)["active"] is True  # the action that used the last use
    with pytest.raises(WalletError) as denied:
        agent.token(shop, "checkout", order(3))
    assert denied.value.error == "access_denied" and "uses_exhausted" in str(denied.value)


def test_introspection_needs_the_api_key_and_rejects_foreign_tokens(world: World) -> None:
    url = f"{world.verifier.url}/oauth/introspect"
    assert httpx.post(url, data={"token": "x"}, timeout=10).status_code == 401
    assert world.introspect("not-a-token") == {"active": False}
    missing = world.rp.http.post("/oauth/introspect", data={})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
