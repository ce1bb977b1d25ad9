"""open_store: store URLs to backends, and the memory store's sweep of untouched entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.store import MemoryStore, RedisStore, SQLiteStore, Transaction, open_store

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
    "url",
    ["", "memory", "postgres://db/x", "sqlite://", "sqlite:///", "sqlite://rel.db", "redis://"],
)
def test_unknown_forms_name_the_accepted_ones(url: str) -> None:
    with pytest.raises(ValueError, match=r"memory://.*sqlite:///.*redis://"):
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
