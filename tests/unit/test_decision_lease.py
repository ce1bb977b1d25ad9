"""The lease on an agent verification's decision (verifier/agents/lease.py), on the in-memory
store with a fixed clock: claimed once, left alone while it runs, taken over by exactly one
instance once it has run out, and a decider that lost its lease cannot record a result."""

from __future__ import annotations

import asyncio

import pytest

from verifier.agents.lease import acquire, holds_expired_lease
from verifier.store import MemoryStore, Transaction, TxStatus

pytestmark = pytest.mark.anyio
NOW = 1_700_000_000
KIND = "agent_verification"


class Clock:
    now = float(NOW)

    def __call__(self) -> float:
        return self.now


async def pending(store: MemoryStore) -> Transaction:
    av = Transaction(
        id="av-1",
        request_id="av:av-1",
        state="",
        nonce="",
        client_id="",
        kind=KIND,
        purpose="agent_verification",
        meta={"policy": "shop", "human_tx": None},
    )
    await store.create(av, retain_until=NOW + 3600)
    return av


async def test_claimed_once_then_left_alone_while_the_lease_runs() -> None:
    store = MemoryStore(Clock())
    av = await pending(store)

    claims = await asyncio.gather(*(acquire(store, av, now=NOW, seconds=30) for _ in range(20)))

    (held,) = [c for c in claims if c is not None]
    assert held.status == TxStatus.REQUEST_RETRIEVED
    assert held.meta["lease"]["until"] == NOW + 30 and held.meta["policy"] == "shop"
    assert not holds_expired_lease(held, now=NOW + 29)
    assert await acquire(store, held, now=NOW + 29, seconds=30) is None


async def test_an_expired_lease_is_taken_over_by_exactly_one_and_fences_the_old_decider() -> None:
    store = MemoryStore(Clock())
    held = await acquire(store, await pending(store), now=NOW, seconds=30)
    assert held is not None
    assert holds_expired_lease(held, now=NOW + 30)

    takeovers = await asyncio.gather(
        *(acquire(store, held, now=NOW + 30, seconds=30) for _ in range(20))
    )

    (taken,) = [t for t in takeovers if t is not None]
    assert taken.meta["lease"]["token"] != held.meta["lease"]["token"]
    assert taken.meta["lease"]["until"] == NOW + 60
    # the first decider, slow rather than dead, finishes late: its final write expects its lease
    late = await store.update_if(
        held.id,
        {"status": TxStatus.REQUEST_RETRIEVED, "meta": held.meta},
        {"status": TxStatus.VERIFIED, "result": {"decision": "allow"}},
        kind=KIND,
    )
    assert late is None
    done = await store.update_if(
        held.id,
        {"status": TxStatus.REQUEST_RETRIEVED, "meta": taken.meta},
        {"status": TxStatus.VERIFIED, "result": {"decision": "allow"}},
        kind=KIND,
    )
    assert done is not None and done.status == TxStatus.VERIFIED
    assert await acquire(store, done, now=NOW + 999, seconds=30) is None  # decided: final


async def test_a_record_deciding_without_a_lease_is_never_taken_over() -> None:
    store = MemoryStore(Clock())
    av = await pending(store)
    legacy = await store.update_if(
        av.id, {"status": TxStatus.PENDING}, {"status": TxStatus.REQUEST_RETRIEVED}, kind=KIND
    )
    assert legacy is not None
    assert not holds_expired_lease(legacy, now=NOW + 10**6)
    assert await acquire(store, legacy, now=NOW + 10**6, seconds=30) is None


async def test_a_claim_on_a_record_that_changed_meanwhile_fails() -> None:
    store = MemoryStore(Clock())
    av = await pending(store)
    moved = await store.update_if(
        av.id, {"meta": av.meta}, {"meta": {**av.meta, "human_tx": "h-1"}}, kind=KIND
    )
    assert moved is not None

    assert await acquire(store, av, now=NOW, seconds=30) is None  # a stale view claims nothing
    assert (await store.get(av.id, kind=KIND)).meta["human_tx"] == "h-1"  # type: ignore[union-attr]
