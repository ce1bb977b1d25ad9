"""``AGENTVP_WALLET_RATE_LIMIT`` across instances: two `agentvp serve` processes on one real
redis-server count a client's wallet requests together (not each up to the limit), and a
process on its own store still counts alone."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.harness import make_data_dir, start_verifier

pytestmark = [pytest.mark.e2e, pytest.mark.redis]
LIMIT = 10


def statuses(url: str, n: int) -> list[int]:
    """``n`` wallet requests (for an unknown request id: 404 while within the limit)."""
    with httpx.Client(timeout=30) as client:
        return [client.get(f"{url}/wallet/request/nope-{i}").status_code for i in range(n)]


def test_two_instances_on_one_redis_count_a_client_together(tmp_path: Path, redis_url: str) -> None:
    port_a, port_b = free_port(), free_port()
    make_data_dir(tmp_path / "verifier", f"http://localhost:{port_a}")
    store = redis_url.rsplit("/", 1)[0] + "/6"
    env = {"store_url": store, "wallet_rate_limit": str(LIMIT)}
    a = start_verifier(tmp_path / "verifier", port=port_a, **env)
    try:
        b = start_verifier(tmp_path / "verifier", port=port_b, **env)
        try:
            first = statuses(a.url, 6) + statuses(b.url, 6)
            refused = httpx.get(f"{a.url}/wallet/request/nope", timeout=30)
        finally:
            b.stop()
    finally:
        a.stop()

    assert first == [404] * LIMIT + [429, 429], first  # 6 on A, then 4 + 2 refused on B
    assert refused.status_code == 429
    assert refused.json()["error"] == "temporarily_unavailable"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_an_instance_on_its_own_store_counts_alone(tmp_path: Path) -> None:
    port = free_port()
    make_data_dir(tmp_path / "verifier", f"http://localhost:{port}")
    verifier = start_verifier(tmp_path / "verifier", port=port, wallet_rate_limit=str(LIMIT))
    try:
        seen = statuses(verifier.url, LIMIT + 1)
    finally:
        verifier.stop()

    assert seen == [404] * LIMIT + [429]
