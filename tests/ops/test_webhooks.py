"""Webhooks over real HTTP: signed, retried with backoff, idempotent, and durable across a
verifier restart (the delivery queue lives in the store)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier, make_data_dir, make_wallet, start_verifier
from tests.ops.receiver import Receiver
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e
SECRET = "test-webhook-secret-0123456789"


class Setup:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.root = root
        self.key = make_data_dir(root / "v", f"http://localhost:{self.port}")
        self.env = {
            "webhook_secret": SECRET,
            "webhook_base_delay": "1",
            "outbound_allow_hosts": "127.0.0.1",
        }
        self.verifier: Verifier = start_verifier(root / "v", port=self.port, **self.env)
        self.rp = RP(self.verifier.url, self.key)
        self.wallet = make_wallet(root / "w", root / "v")

    def answer(self, uri: str) -> None:
        simulator = WalletSimulator(self.wallet)
        try:
            simulator.submit(simulator.propose(simulator.resolve(uri)))
        finally:
            simulator.http.close()

    def close(self) -> None:
        self.rp.close()
        self.verifier.stop()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = Setup(tmp_path)
    yield s
    s.close()


def test_every_status_change_is_delivered_signed(setup: Setup) -> None:
    receiver = Receiver(SECRET.encode())
    try:
        view = setup.rp.create(profile="identity", callback_url=receiver.url)
        setup.answer(view["authorization_request_uri"])
        got = receiver.wait_for(3)
        bodies = [json.loads(r["body"]) for r in got]
        assert [b["status"] for b in bodies] == ["pending", "request_retrieved", "verified"]
        assert all(b["id"] == view["id"] and b["type"] == "presentation.status" for b in bodies)
        assert all(r["valid"] for r in got)  # HMAC-SHA256 over id.timestamp.body
        assert [r["headers"]["webhook-id"] for r in got] == [
            f"{view['id']}.{b['version']}" for b in bodies
        ]
        assert "Erika" not in str([r["body"] for r in got])  # no claims in webhooks
    finally:
        receiver.stop()


def test_failed_deliveries_are_retried_with_the_same_id(setup: Setup) -> None:
    receiver = Receiver(SECRET.encode())
    receiver.fail_next = 2
    try:
        view = setup.rp.create(profile="identity", callback_url=receiver.url)
        got = receiver.wait_for(1)
        attempts = [r for r in receiver.received if json.loads(r["body"])["status"] == "pending"]
        assert [r["answered"] for r in attempts] == [500, 500, 200]
        assert len({r["headers"]["webhook-id"] for r in attempts}) == 1  # idempotency key
        assert got[0]["valid"] and json.loads(got[0]["body"])["id"] == view["id"]
    finally:
        receiver.stop()


def test_a_wrong_secret_does_not_verify(setup: Setup) -> None:
    receiver = Receiver(b"another-secret")
    try:
        setup.rp.create(profile="identity", callback_url=receiver.url)
        assert receiver.wait_for(1)[0]["valid"] is False
    finally:
        receiver.stop()


def test_pending_deliveries_survive_a_restart(setup: Setup) -> None:
    port = free_port()  # nobody listens yet: deliveries fail and stay queued
    view = setup.rp.create(profile="identity", callback_url=f"http://127.0.0.1:{port}/hook")
    assert setup.verifier.proc is not None
    os.kill(setup.verifier.proc.pid, signal.SIGKILL)
    setup.verifier.proc.wait()
    receiver = Receiver(SECRET.encode(), port=port)
    try:
        setup.verifier = start_verifier(setup.root / "v", port=setup.port, **setup.env)
        got = receiver.wait_for(1, timeout=30)
        assert json.loads(got[0]["body"])["id"] == view["id"] and got[0]["valid"]
    finally:
        receiver.stop()


def test_callback_url_must_be_public_https_unless_allowed(setup: Setup) -> None:
    refused = setup.rp.http.post(
        "/v1/presentations", json={"profile": "identity", "callback_url": "ftp://x"}
    )
    assert refused.status_code == 400


def test_without_a_secret_callbacks_are_refused(tmp_path: Path) -> None:
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    config = tmp_path / "v" / "config.yaml"
    config.write_text(
        "\n".join(line for line in config.read_text().splitlines() if "webhook_secret" not in line)
    )
    verifier = start_verifier(tmp_path / "v", port=port)
    rp = RP(verifier.url, key)
    try:
        answer = rp.http.post(
            "/v1/presentations",
            json={"profile": "identity", "callback_url": "https://rp.example/h"},
        )
        assert answer.status_code == 400 and "WEBHOOK_SECRET" in answer.json()["error_description"]
    finally:
        rp.close()
        verifier.stop()
