"""`agentvp demo --once`, the README's main job, end to end in a fresh data dir: the identity
flow, the agent checkout and the AP2 purchase (one payment accepted, one over budget rejected)
succeed, and a second run reuses the wallet's credentials. `--once` prints no page URL (nothing
serves them after it exits); `agentvp demo` does, and each page it prints answers while it
serves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
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
    assert "AP2 first 199.00 EUR payment: accept (autonomous)" in out
    assert "AP2 second 199.00 EUR payment: reject (autonomous) budget_exhausted" in out
    assert f"demo wallet: {data_dir / 'demo' / 'wallet'}" in out  # where `wallet-sim` finds it
    assert "--once: the verifier has stopped; run `agentvp demo` to use the pages" in out
    assert f"http://localhost:{port}/" not in out.split("decision: allow")[1]  # no dead links
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


def test_demo_without_once_prints_pages_that_answer(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "agentvp", free_port()
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("AGENTVP_PUBLIC_URL", None)
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "verifier.cli", "demo", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(  # our interpreter running our own CLI
            [*command, "--data-dir", str(data_dir)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 120
        while "serving; press Ctrl-C to stop" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        pages = re.findall(r"(?:page|API docs):\s+(http\S+)", text)
        assert len(pages) == 4, text  # API docs, RP page, agent page (with the jti), wallet page
        assert any("/agent#mandate_jti=urn:uuid:" in p for p in pages)
        for page in pages:
            assert httpx.get(page.split("#")[0], timeout=10).status_code == 200, page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
