"""`agentvp demo --once`, the README's main job, end to end in a fresh data dir: the identity
flow, the agent checkout and the AP2 purchase (one payment accepted, one over budget rejected)
succeed, and a second run reuses the wallet's credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.e2e


def _demo(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("AGENTVP_PUBLIC_URL", None)
    command = [sys.executable, "-m", "verifier.cli", "demo", "--once", "--port", str(port)]
    return subprocess.run(  # our interpreter running our own CLI
        [*command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def _listing(data_dir: Path) -> list[list[str]]:
    wallet = data_dir / "demo" / "wallet"
    done = subprocess.run(
        [sys.executable, "-m", "wallet_sim.cli", "list", "--dir", str(wallet)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line.split("\t") for line in done.stdout.splitlines()]


def test_demo_runs_the_identity_flow_and_an_agent_checkout_twice(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "agentvp", free_port()
    first = _demo(data_dir, port)
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert "\nverified\n" in out
    assert "their wallet confirms the action" in out  # first checkout: the person steps up
    assert "decision: allow" in out and "receipt (check it with" in out
    assert f"agent checkout page:     http://localhost:{port}/agent#mandate_jti=urn:uuid:" in out
    assert "AP2 first 199.00 EUR payment: accept (autonomous)" in out
    assert "AP2 second 199.00 EUR payment: reject (autonomous) budget_exhausted" in out
    kinds = [row[1] for row in _listing(data_dir)]
    assert kinds.count("identity") == 1 and kinds.count("mandate") == 2
    second = _demo(data_dir, port)
    out = second.stdout + second.stderr
    assert second.returncode == 0, out
    assert "decision: allow" in out
    assert "their wallet confirms the action" not in out  # a known principal below 250 EUR
    kinds = [row[1] for row in _listing(data_dir)]
    assert kinds.count("identity") == 1 and kinds.count("mandate") == 3
    assert all(len(row) == 6 for row in _listing(data_dir) if row[1] == "mandate")
