"""open_store: store URLs to backends, and the memory store's sweep of untouched entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.store import (
    MemoryStore,
    RedisHAStore,
    RedisStore,
    SQLiteStore,
    Transaction,
    open_store,
)
from verifier.store.redis_urls import HATarget, parse_ha_url

pytestmark = pytest.mark.anyio


async def test_memory_url() -> None:
    store = open_store("memory://")
    assert isinstance(store, MemoryStore)
    assert await store.ping()


async def test_sqlite_url_with_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/tx.db")
    try:
        assert isinstance(store, SQLiteStore)
        assert await store.ping()
    finally:
        await store.close()
    assert (tmp_path / "data" / "tx.db").is_file()


async def test_sqlite_url_with_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "abs" / "tx.db"
    assert str(path).startswith("/")
    store = open_store(f"sqlite:///{path}")
    await store.close()
    assert path.is_file()


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6399/2", "rediss://cache.example:6380/0"])
async def test_redis_urls_build_a_redis_store_without_connecting(url: str) -> None:
    store = open_store(url)
    assert isinstance(store, RedisStore)
    await store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis+cluster://10.0.0.1:7000,[::1]:7001",
            HATarget("cluster", (("10.0.0.1", 7000), ("::1", 7001))),
        ),
        (
            "rediss+cluster://app:s%40cret@r1:7000?failover_wait=5&prefix=eu-1:",
            HATarget("cluster", (("r1", 7000),), True, "app", "s@cret", "", 0, 5, "eu-1:"),
        ),
        (
            "redis+sentinel://s1:26379,s2:26379,s3:26379/agentvp",
            HATarget("sentinel", (("s1", 26379), ("s2", 26379), ("s3", 26379)), service="agentvp"),
        ),
        (
            "REDISS+SENTINEL://:pw@s1:26379/main/4?failover_wait=0",
            HATarget("sentinel", (("s1", 26379),), True, None, "pw", "main", 4, 0, "agentvp:"),
        ),
        (
            "redis+sentinel://s1:26379/main?wait_replicas=0",
            HATarget("sentinel", (("s1", 26379),), service="main", wait_replicas=0),
        ),
    ],
)
async def test_cluster_and_sentinel_urls_build_a_ha_store_without_connecting(
    url: str, expected: HATarget
) -> None:
    assert parse_ha_url(url) == expected
    store = open_store(url)
    assert isinstance(store, RedisHAStore)
    assert store.target == expected
    await store.close()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+cluster://", "at least one host:port"),
        ("redis+cluster://r1", "not host:port"),
        ("redis+cluster://r1:0", "not host:port"),
        ("redis+cluster://r1:x", "not host:port"),
        ("redis+cluster://r1:7000/0", "no path"),
        ("redis+cluster://r1:7000?timeout=3", "unknown option 'timeout'"),
        ("redis+cluster://r1:7000?failover_wait=301", "failover_wait must be"),
        ("redis+cluster://r1:7000?failover_wait=-1", "failover_wait must be"),
        ("redis+cluster://r1:7000?failover_wait=soon", "failover_wait must be"),
        ("redis+cluster://r1:7000?failover_wait", "failover_wait must be"),
        ("redis+cluster://r1:7000?prefix=", "prefix must be"),
        ("redis+cluster://r1:7000?wait_replicas=2", "wait_replicas must be 0 or 1"),
        ("redis+cluster://r1:7000?wait_replicas=", "wait_replicas must be 0 or 1"),
        ("redis+cluster://r1:7000?prefix=a{b}", "prefix must be"),
        ("redis+cluster://r1:7000?prefix=" + "a" * 65, "prefix must be"),
        ("redis+sentinel://s1:26379", "service_name"),
        ("redis+sentinel://s1:26379/main/x", "service_name"),
        ("redis+sentinel://s1:26379/main/1/2", "service_name"),
    ],
)
def test_bad_cluster_and_sentinel_urls_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        open_store(url)


def test_a_password_is_never_repeated_in_an_error() -> None:
    with pytest.raises(ValueError) as caught:
        open_store("redis+cluster://app:hunter2@r1:7000?failover_wait=x")
    assert "hunter2" not in str(caught.value) and "***@r1:7000" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "memory",
        "postgres://db/x",
        "sqlite://",
        "sqlite:///",
        "sqlite://rel.db",
        "redis://",
        "redis+cluster",
    ],
)
def test_unknown_forms_name_the_accepted_ones(url: str) -> None:
    with pytest.raises(
        ValueError, match=r"memory://.*sqlite:///.*redis://.*redis\+cluster://.*redis\+sentinel://"
    ):
        open_store(url)


async def test_memory_store_sweeps_entries_nobody_touches_again() -> None:
    now = [1_700_000_000.0]
    store = MemoryStore(lambda: now[0], sweep_interval=60)
    tx = Transaction(id="t", request_id="r", state="s", nonce="n", client_id="c")
    await store.create(tx, retain_until=int(now[0]) + 10)
    assert await store.claim("k", ttl=10)
    assert await store.add_within("m", {"uses": 1}, {}, ttl=10)
    assert await store.append_event("s", {}, ttl=10) == 0

    now[0] += 61
    assert await store.claim("other", ttl=600)  # any call may trigger the sweep

    # Private state on purpose: the point is that nothing expired is still held in memory.
    assert (store._txs, store._by_request) == ({}, {})
    assert set(store._claims) == {"other"}
    assert (store._counters, store._events) == ({}, {})
