"""Point 11 of issue 15, over real HTTP: when the agent refuses an action, the verification's
details carry the agent's stated reason (its ``error_description``), marked as the agent's
word - not just "the agent answered access_denied"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, make_data_dir, make_wallet, start_verifier
from tests.integrator.helpers import clean_env
from wallet_sim.agent import full_mandate

pytestmark = pytest.mark.e2e


def test_the_agents_stated_reason_reaches_the_relying_party(tmp_path: Path) -> None:
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")  # the mandate: 250 EUR per order
    (mandate,) = wallet.credentials(kind="mandate")
    action = {
        "action": "payment.initiate",
        "transaction_id": "ord-9",
        "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
        "payment_amount": {"amount": 90_000, "currency": "EUR"},
        "mandate_jti": full_mandate(mandate)["jti"],
    }
    verifier = start_verifier(tmp_path / "v", port=port)
    rp = RP(verifier.url, key)
    try:
        created = rp.http.post(
            "/v1/agent-verifications", json={"policy": "shop-checkout", "action": action}
        )
        assert created.status_code == 201, created.text
        view = created.json()
        uri = view["agent_request"]["authorization_request_uri"]
        agent = subprocess.run(  # the agent holder refuses: 900 EUR is above its mandate
            [sys.executable, "-m", "wallet_sim.cli", "agent", "answer", uri],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=clean_env(WALLET_SIM_DIR=str(wallet.path)),
        )
        assert agent.returncode == 3, agent.stderr
        decided = rp.http.get(f"/v1/agent-verifications/{view['id']}").json()
    finally:
        rp.close()
        verifier.stop()
    assert decided["decision"] == "deny"
    assert decided["reasons"] == ["agent_declined"]
    detail = decided["details"][0]["detail"]
    assert detail.startswith('the agent answered access_denied; the agent says: "')
    assert "action outside the mandate: amount_exceeds_mandate: 90000 > 25000 EUR" in detail
    assert json.dumps(decided).count("the agent says") == 1
