"""Receipts and the audit chain verify (and tampering breaks them). Concurrent spends of one
mandate (uses and budget, SQLite and two processes on Redis): tests/concurrency."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scenarios.runner import World

pytestmark = pytest.mark.e2e
PLAIN = {"description": "plain checkout", "source": "test", "steps": []}


def agentvp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    started = World.start(tmp_path_factory.mktemp("receipts"), {"plain": PLAIN})
    yield started
    started.stop()


def test_receipt_and_audit_chain_verify_and_tampering_breaks_them(
    world: World, tmp_path: Path
) -> None:
    mandate = world.prepare("plain", PLAIN)
    view = world.run_step("plain", "plain", mandate, {"expect": {}})
    assert view["decision"] == "allow"
    jwks = f"{world.verifier.url}/.well-known/jwks.json"
    receipt = view["receipt"]
    checked = agentvp("receipt", "verify", receipt, "--jwks", jwks)
    assert checked.returncode == 0, checked.stderr
    assert "valid" in checked.stdout and view["id"] in checked.stdout

    events = world.rp.http.get(f"/v1/agent-verifications/{view['id']}/events").json()
    kinds = [e["type"] for e in events["events"]]
    assert kinds[0] == "created" and "decision" in kinds
    text = json.dumps(events)
    for secret in ("Erika", "Mustermann", "merchant-4711", "Shop A"):  # no claim values
        assert secret not in text
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    intact = agentvp("audit", "verify", str(path), "--receipt", receipt, "--jwks", jwks)
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout

    tampered = json.loads(path.read_text())
    decision = next(e for e in tampered["events"] if e["type"] == "rule")
    decision["outcome"] = "fail" if decision["outcome"] == "pass" else "pass"
    path.write_text(json.dumps(tampered))
    broken = agentvp("audit", "verify", str(path), "--receipt", receipt, "--jwks", jwks)
    assert broken.returncode == 3 and "does not match its hash" in broken.stderr

    truncated = json.loads(json.dumps(events))
    truncated["events"] = truncated["events"][:-1]
    path.write_text(json.dumps(truncated))
    missing = agentvp("audit", "verify", str(path), "--receipt", receipt, "--jwks", jwks)
    assert missing.returncode == 3

    head, body, sig = receipt.split(".")
    forged = agentvp("receipt", "verify", f"{head}.{body}.{sig[:-4]}AAAA", "--jwks", jwks)
    assert forged.returncode == 2 and "invalid receipt" in forged.stderr
