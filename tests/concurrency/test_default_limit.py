"""The default wallet rate limit leaves normal use alone: 100 complete flows from one address,
16 at a time, through an `agentvp serve` with no limit configured - all verified, none refused."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.concurrency.burst import counter
from tests.e2e.test_flows import Env, answer
from verifier.settings import Settings

pytestmark = pytest.mark.e2e
FLOWS = 100


def test_the_default_limit_leaves_a_busy_normal_client_alone(tmp_path: Path) -> None:
    assert "AGENTVP_WALLET_RATE_LIMIT" not in os.environ  # the verifier runs on the default
    assert Settings.model_fields["wallet_rate_limit"].default == 600
    env = Env(tmp_path)
    try:

        def flow(_: int) -> str:
            view = env.rp.create(profile="identity")
            answer(env, view["authorization_request_uri"])  # POST request_uri, POST response
            status: str = env.rp.wait(view["id"])["status"]
            return status

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = Counter(pool.map(flow, range(FLOWS)))
        assert statuses == {"verified": FLOWS}
        assert counter([env.verifier.url], "agentvp_rate_limited") == 0
    finally:
        env.close()
