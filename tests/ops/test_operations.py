"""Operations over real processes: JSON logs without secrets, metrics, health and readiness with
a real redis-server stopped and started, and flows surviving `kill -9` of a verifier."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, start_redis, stop_redis
from tests.e2e.harness import RP, Verifier, make_data_dir, make_wallet, start_verifier
from verifier.protocol import b64url_decode
from verifier.protocol.oid4vp.response import encrypted_form
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e


def answer(wallet: Any, uri: str) -> dict[str, Any]:
    simulator = WalletSimulator(wallet)
    try:
        request = simulator.resolve(uri)
        proposal = simulator.propose(request)
        reply = simulator.submit(proposal)
        return {"request": request, "proposal": proposal, "reply": reply}
    finally:
        simulator.http.close()


def test_json_logs_name_the_transaction_and_leak_nothing(tmp_path: Path) -> None:
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    verifier = start_verifier(tmp_path / "v", port=port, log_format="json")
    rp = RP(verifier.url, key)
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")
    try:
        view = rp.create(
            profile="identity", flow="same_device", redirect_uri="https://rp.example/done"
        )
        exchange = answer(wallet, view["authorization_request_uri"])
        code = str(exchange["reply"]["redirect_uri"]).split("response_code=")[1]
        assert rp.wait(view["id"], response_code=code)["status"] == "verified"
    finally:
        rp.close()
        verifier.stop()
    lines = [line for line in verifier.log().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert records, "no JSON log lines"
    about_tx = [r for r in records if r.get("logger", "").startswith("agentvp") and r.get("tx")]
    assert {r["tx"] for r in about_tx} == {view["id"]}
    access = [r for r in records if r.get("logger") == "agentvp.access"]
    assert any(r["msg"].startswith("POST /wallet/response/{request_id}") for r in access)
    assert all(r.get("tx") == view["id"] for r in access if "{request_id}" in r["msg"])
    # Routine events ride on their request's access line; the outcome keeps its own line.
    created = [r for r in access if r["msg"].startswith("POST /v1/presentations ")]
    assert [(r["msg"], r.get("flow"), r["status"]) for r in created] == [
        ("POST /v1/presentations 201: presentation created", "same_device", 201)
    ]
    served = [r["msg"] for r in access if r["msg"].startswith("POST /wallet/request/")]
    assert served == ["POST /wallet/request/{request_id} 200: request object served"]
    outcome = [r for r in records if r["msg"] == "response processed"]
    assert [(r["logger"], r["status"], r["tx"]) for r in outcome] == [
        ("agentvp.service", "verified", view["id"])
    ]
    assert not [r for r in records if r["msg"] in ("presentation created", "request object served")]
    request, proposal = exchange["request"], exchange["proposal"]
    presented = proposal.presentation.vp_token["identity"][0]
    salts = [json.loads(b64url_decode(d))[0] for d in presented.split("~")[1:-1]]
    secrets = [
        "Erika",
        "Mustermann",
        "1984-01-26",  # disclosed claim values
        request.nonce,
        request.state or "state?",
        code,  # nonce, state, response_code
        presented.split("~")[0],
        presented.split("~")[-1],  # issuer JWT, KB-JWT
        *salts,  # disclosure salts
        key,  # the API key
        '"d":',  # any private JWK member
    ]
    text = verifier.log()
    for secret in secrets:
        assert secret not in text, f"log contains a secret: {secret[:20]}…"


def test_metrics_count_what_happened(tmp_path: Path) -> None:
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    verifier = start_verifier(tmp_path / "v", port=port)
    rp = RP(verifier.url, key)
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")
    try:
        view = rp.create(profile="identity")
        answer(wallet, view["authorization_request_uri"])
        rp.wait(view["id"])
        rp.create(profile="identity")
        text = httpx.get(f"{verifier.url}/metrics", timeout=5).text
    finally:
        rp.close()
        verifier.stop()
    assert "agentvp_presentations_created_total 2.0" in text
    assert 'agentvp_presentations_finished_total{code="none",status="verified"} 1.0' in text
    histogram = "agentvp_http_request_duration_seconds_count"
    assert f'{histogram}{{method="POST",route="/v1/presentations",status="201"}} 2.0' in text
    assert "agentvp_store_errors_total 0.0" in text
    assert "agentvp_status_list_cache_total" in text


def test_redis_outage_answers_503_and_recovers_without_restart(tmp_path: Path) -> None:
    redis_port = free_port()
    redis = start_redis(redis_port)
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    verifier = start_verifier(
        tmp_path / "v", port=port, store_url=f"redis://127.0.0.1:{redis_port}/0"
    )
    rp = RP(verifier.url, key)
    try:
        assert httpx.get(f"{verifier.url}/readyz", timeout=5).status_code == 200
        before = rp.create(profile="identity")
        stop_redis(redis)
        down = rp.http.post("/v1/presentations", json={"profile": "identity"})
        assert down.status_code == 503 and down.json()["error"] == "temporarily_unavailable"
        assert rp.get(before["id"]).status_code == 503
        assert httpx.get(f"{verifier.url}/readyz", timeout=5).status_code == 503
        assert httpx.get(f"{verifier.url}/healthz", timeout=5).status_code == 200  # still alive
        assert verifier.proc is not None and verifier.proc.poll() is None
        redis = start_redis(redis_port)  # back, empty (no persistence)
        deadline = time.monotonic() + 10
        while httpx.get(f"{verifier.url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "did not recover"
            time.sleep(0.2)
        assert rp.http.post("/v1/presentations", json={"profile": "identity"}).status_code == 201
        metrics = httpx.get(f"{verifier.url}/metrics", timeout=5).text
        assert "agentvp_store_errors_total 2.0" in metrics
    finally:
        rp.close()
        verifier.stop()
        stop_redis(redis)


def _kill(verifier: Verifier) -> None:
    assert verifier.proc is not None
    os.kill(verifier.proc.pid, signal.SIGKILL)
    verifier.proc.wait()


def test_sqlite_flow_completes_through_the_restarted_instance(tmp_path: Path) -> None:
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    verifier = start_verifier(tmp_path / "v", port=port)
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")
    simulator = WalletSimulator(wallet)
    rp = RP(verifier.url, key)
    try:
        view = rp.create(profile="identity")
        request = simulator.resolve(view["authorization_request_uri"])  # mid-flow...
        _kill(verifier)  # ...the verifier dies
        verifier = start_verifier(tmp_path / "v", port=port)
        simulator.submit(simulator.propose(request))
        assert rp.wait(view["id"])["status"] == "verified"
    finally:
        simulator.http.close()
        rp.close()
        verifier.stop()


@pytest.mark.redis
def test_redis_flow_completes_through_another_instance(tmp_path: Path, redis_url: str) -> None:
    store = redis_url.rsplit("/", 1)[0] + "/7"
    port_a, port_b = free_port(), free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port_a}")
    a = start_verifier(tmp_path / "v", port=port_a, store_url=store)
    b = start_verifier(tmp_path / "v", port=port_b, store_url=store)
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")
    simulator = WalletSimulator(wallet)
    rp_a, rp_b = RP(a.url, key), RP(b.url, key)
    try:
        view = rp_a.create(profile="identity")
        request = simulator.resolve(view["authorization_request_uri"])
        _kill(a)
        proposal = simulator.propose(request)
        form = encrypted_form(
            {"vp_token": proposal.presentation.vp_token, "state": request.state},
            request.client_metadata,
        )
        on_b = request.response_uri.replace(str(port_a), str(port_b))
        assert simulator.http.post_response(on_b, form) == {}
        assert rp_b.wait(view["id"])["status"] == "verified"
    finally:
        simulator.http.close()
        rp_a.close()
        rp_b.close()
        b.stop()
