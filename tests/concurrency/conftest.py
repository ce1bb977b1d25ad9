"""The verifiers the exactly-once tests race against, one module-wide cluster per store:

- ``sqlite``: one `agentvp serve` process on its SQLite file;
- ``redis``: two `agentvp serve` processes sharing one real redis-server (requests alternate
  between them);
- ``cluster``: two `agentvp serve` processes sharing the session's real Redis Cluster (three
  masters, one replica each), under their own key prefix;
- ``memory``: one `agentvp serve` process on the in-memory store.

Each is a scenario :class:`~tests.scenarios.runner.World` (issuer server for status lists,
trusted issuers, agent policies) with webhooks to an in-test receiver, the wallet rate limit
off (100 requests from one address are the point here) and idle connections kept for
:data:`KEEP_ALIVE` seconds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier
from tests.ops.receiver import Receiver
from tests.scenarios.runner import World
from verifier.store import open_store

SECRET = "concurrency-webhook-secret"
N = 100
# Idle keep-alive connections live this long (seconds): longer than a burst's warm-up takes on a
# busy machine (see burst.py), so the warmed connections are still open when the burst fires.
KEEP_ALIVE = 600
SCENARIOS: dict[str, dict[str, Any]] = {
    "uses": {"grant": {"max_uses": 7, "budget": None}},
    "budget": {"grant": {"max_uses": None, "budget": 10_000}},
    "plain": {"grant": {"max_uses": None, "budget": None}},
}


@dataclass
class Cluster:
    store: str
    store_url: str
    world: World
    rps: list[RP]  # one per instance, the world's first
    extra: list[Verifier]
    receiver: Receiver

    @property
    def bases(self) -> list[str]:
        return [str(rp.http.base_url).rstrip("/") for rp in self.rps]

    def everywhere(self, path: str) -> list[str]:
        """``path`` on every instance (a burst alternates between them)."""
        return [f"{base}{path}" for base in self.bases]

    def counters(self, key: str) -> dict[str, int]:
        """A counter group read from the store itself (SQLite file or Redis; not memory)."""

        async def read() -> dict[str, int]:
            store = open_store(self.store_url)
            try:
                return await store.get_counters(key)
            finally:
                await store.close()

        return asyncio.run(read())

    def stop(self) -> None:
        for rp in self.rps[1:]:
            rp.close()
        for verifier in self.extra:
            verifier.stop()
        self.world.stop()
        self.receiver.stop()


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("cluster", marks=pytest.mark.redis),
        "memory",
    ],
)
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    store: str = request.param
    root = tmp_path_factory.mktemp(f"race-{store}")
    store_url = {
        "sqlite": f"sqlite:///{root / 'verifier' / 'agentvp.db'}",
        "redis": "",
        "cluster": "",
        "memory": "memory://",
    }[store]
    if store == "redis":
        store_url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/7"
    if store == "cluster":
        prefix = f"race{uuid.uuid4().hex[:8]}:"
        store_url = f"{request.getfixturevalue('redis_cluster_url')}&prefix={prefix}"
    env = {
        "store_url": store_url,
        "wallet_rate_limit": "0",
        "webhook_secret": SECRET,
        "keep_alive_timeout": str(KEEP_ALIVE),
    }
    receiver = Receiver(SECRET.encode())
    world = World.start(root, SCENARIOS, **env)
    extra: list[Verifier] = []
    try:
        if store in {"redis", "cluster"}:  # a second process on the same data dir and Redis
            extra.append(Verifier(world.verifier.data_dir, free_port(), world.verifier.env).start())
    except BaseException:
        world.stop()
        receiver.stop()
        raise
    api_key = world.rp.http.headers["Authorization"].split()[1]
    rps = [world.rp, *(RP(v.url, api_key) for v in extra)]
    started = Cluster(store, store_url, world, rps, extra, receiver)
    yield started
    started.stop()
