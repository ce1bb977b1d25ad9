"""The durable queue (webhook deliveries): enqueue once, lease exclusively, retry, acknowledge."""

from __future__ import annotations

import asyncio

import pytest

from tests.store.test_store_contract import Backend, backend, make_backend  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


async def test_enqueue_is_idempotent_per_item(backend: Backend) -> None:  # noqa: F811
    store, now = backend.store, backend.now()
    assert await store.enqueue("q", "a", {"n": 1}, due_at=now, ttl=600) is True
    assert await store.enqueue("q", "a", {"n": 2}, due_at=now, ttl=600) is False
    leased = await store.lease("q", now=now, lease_for=30, limit=10)
    assert [(i.item_id, i.payload, i.attempts) for i in leased] == [("a", {"n": 1}, 1)]


async def test_lease_takes_only_due_items_in_due_order_and_hides_them(backend: Backend) -> None:  # noqa: F811
    store, now = backend.store, backend.now()
    await store.enqueue("q", "late", {}, due_at=now + 100, ttl=600)
    await store.enqueue("q", "second", {}, due_at=now - 1, ttl=600)
    await store.enqueue("q", "first", {}, due_at=now - 5, ttl=600)
    assert [i.item_id for i in await store.lease("q", now=now, lease_for=30, limit=10)] == [
        "first",
        "second",
    ]
    assert await store.lease("q", now=now, lease_for=30, limit=10) == []  # leased: hidden
    again = await store.lease("q", now=now + 31, lease_for=30, limit=10)  # lease ran out
    assert sorted((i.item_id, i.attempts) for i in again) == [("first", 2), ("second", 2)]
    assert await store.lease("other", now=now + 500, lease_for=30, limit=10) == []


async def test_ack_and_reschedule(backend: Backend) -> None:  # noqa: F811
    store, now = backend.store, backend.now()
    await store.enqueue("q", "a", {}, due_at=now, ttl=600)
    await store.enqueue("q", "b", {}, due_at=now, ttl=600)
    await store.lease("q", now=now, lease_for=30, limit=10)
    await store.ack("q", "a")
    await store.reschedule("q", "b", due_at=now + 5)
    assert await store.lease("q", now=now + 4, lease_for=30, limit=10) == []
    assert [i.item_id for i in await store.lease("q", now=now + 5, lease_for=30, limit=10)] == ["b"]
    assert await store.enqueue("q", "a", {}, due_at=now, ttl=600) is True  # acked ids are free


async def test_concurrent_leases_never_hand_out_an_item_twice(backend: Backend) -> None:  # noqa: F811
    store, now = backend.store, backend.now()
    for i in range(40):
        await store.enqueue("q", f"item-{i}", {"i": i}, due_at=now, ttl=600)
    batches = await asyncio.gather(
        *(store.lease("q", now=now, lease_for=60, limit=7) for _ in range(10))
    )
    leased = [item.item_id for batch in batches for item in batch]
    assert len(leased) == 40 and len(set(leased)) == 40
