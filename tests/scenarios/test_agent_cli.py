"""The README's agent checkout, through the real CLIs: `wallet-sim mandate grant`, then
`wallet-sim agent act` (prints the human's link on step-up), the human approving from their
wallet, the decision and the receipt printed; `agentvp receipt verify` accepts the receipt."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.harness import make_data_dir, make_wallet, start_verifier
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def test_agent_checkout_walkthrough(tmp_path: Path) -> None:
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    verifier = start_verifier(tmp_path / "v", port=port)
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")
    try:
        granted = subprocess.run(
            cli(
                "wallet_sim.cli",
                "mandate",
                "grant",
                "--dir",
                str(wallet.path),
                "--max-amount",
                "30000",
                "--budget",
                "50000",
                "--max-uses",
                "3",
                "--merchant",
                "merchant-4711:Shop A:shop-a.example",
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert granted.returncode == 0, granted.stderr
        assert "granted mandate" in granted.stdout and "budget 50000" in granted.stdout
        # make_wallet already gave the agent a mandate that fits too: name the granted one.
        jti = granted.stdout.split("(jti ")[1].split(")")[0]
        action = {
            "action": "payment.initiate",
            "transaction_id": "ord-77",
            "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
            "payment_amount": {"amount": 12990, "currency": "EUR"},
        }
        agent = subprocess.Popen(
            cli(
                "wallet_sim.cli",
                "agent",
                "act",
                "--dir",
                str(wallet.path),
                "--rp",
                verifier.url,
                "--api-key",
                key,
                "--policy",
                "shop-checkout",
                "--action",
                json.dumps(action),
                "--mandate",
                jti,
                "--wait",
                "60",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert agent.stdout is not None
        link = ""
        deadline = time.monotonic() + 60
        while not link and time.monotonic() < deadline:
            line = agent.stdout.readline()
            if line.startswith("openid4vp://"):
                link = line.strip()
        assert link, "the agent did not print the human's link"
        human = WalletSimulator(wallet, holders=["human"])
        try:
            request = human.resolve(link)
            proposal = human.propose(request)
            assert any("may pay 129.90 EUR to Shop A" in line for line in proposal.describe())
            human.submit(proposal)
        finally:
            human.http.close()
        out, errors = agent.communicate(timeout=60)
        assert agent.returncode == 0, errors
        assert "decision: allow" in out
        receipt = next(
            line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("receipt: ")
        )
        checked = subprocess.run(
            cli("verifier.cli", "receipt", "verify", receipt, "--data-dir", str(tmp_path / "v")),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0 and '"decision": "allow"' in checked.stdout
    finally:
        verifier.stop()


def test_agent_refuses_an_action_outside_its_mandate_before_contacting_anyone(
    tmp_path: Path,
) -> None:
    port = free_port()
    make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")
    action = {
        "action": "payment.initiate",
        "transaction_id": "x",
        "payee": {"id": "merchant-9999", "name": "Evil", "domain": "evil.example"},
        "payment_amount": {"amount": 100, "currency": "EUR"},
    }
    done = subprocess.run(
        cli(
            "wallet_sim.cli",
            "agent",
            "act",
            "--dir",
            str(wallet.path),
            "--rp",
            f"http://localhost:{port}",
            "--api-key",
            "k",
            "--action",
            json.dumps(action),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "outside the mandate" in done.stderr and "payee_not_allowed" in done.stderr
